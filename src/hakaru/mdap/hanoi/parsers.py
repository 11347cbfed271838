"""The step parsers: strict red flags for running, a repairing one for comparisons only.

:func:`parse_flag` is MAKER's ``parse_move_state_flag``: it takes the last ``move = [...]`` and
the last ``next_state = [[...], [...], [...]]`` and raises a :class:`~hakaru.errors.RedFlag` for
anything malformed, but never checks legality (a wrong but well-formed answer still votes).
:func:`parse_repair` is the tolerant parser of MAKER's calibration runs; it lets malformed answers
vote, so it is never used to run. Both are hot (every draw of a million-step run is parsed), so
the regexes have a lowercase fast path and the strict parser is memoised.
"""

from __future__ import annotations

import ast
import functools
import re
from typing import Any

from hakaru.mdap.hanoi.rules import Candidate
from hakaru.patterns.validators import FormatFlag

_MOVE = re.compile(r"(?is)\bmove\b\s*=\s*(\[[^\[\]]*\])")
_STATE = re.compile(
    r"(?is)\bnext_state\b\s*=\s*(\[\s*\[[^\[\]]*\]\s*,\s*\[[^\[\]]*\]\s*,\s*\[[^\[\]]*\]\s*\])"
)
# The same patterns without the leading \b and case folding, run on the lowercased text: a
# literal first word lets the regex engine skip ahead, about 20x faster on a 2,000-character
# answer. Equivalent on ASCII text (the \b is checked by hand; a match rejected for it cannot
# hide a valid one, since neither can start inside the bracketed part of the other).
_MOVE_FAST = re.compile(_MOVE.pattern.replace("(?is)\\b", ""), re.S)
_STATE_FAST = re.compile(_STATE.pattern.replace("(?is)\\b", ""), re.S)
_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def _last(slow: re.Pattern[str], fast: re.Pattern[str], text: str, low: str | None) -> str | None:
    """Group 1 of the last match of ``slow`` in ``text`` (``low``: the lowercased ASCII text)."""
    if low is None:
        match = None
        for match in slow.finditer(text):  # noqa: B007 — the last match is wanted
            pass
        return None if match is None else match.group(1)
    found = None
    for match in fast.finditer(low):
        at = match.start()
        if at == 0 or low[at - 1] not in _WORD:
            found = match
    return None if found is None else text[found.start(1) : found.end(1)]


_INT = re.compile(r"\s*[+-]?[0-9]+\s*")
_INT_LIST = re.compile(r"\s*[+-]?[0-9]+\s*(?:,\s*[+-]?[0-9]+\s*)*,?\s*")
_INNER = re.compile(r"\[([^\[\]]*)\]")


def _ints(body: str, what: str) -> tuple[int, ...]:
    """The integers of a flat list body (``"1, 2, 3"``): decimal integers with an optional sign,
    comma-separated, a trailing comma allowed (as in Python); anything else is a red flag."""
    if _INT_LIST.fullmatch(body) is None:
        if not body.strip():
            return ()
        bad = next((p.strip() for p in body.split(",") if _INT.fullmatch(p) is None), body)
        raise FormatFlag(f"{what} holds {bad!r}, not a list of integers")
    parts = body.split(",")
    if not parts[-1].strip():
        parts.pop()
    return tuple(map(int, parts))


@functools.lru_cache(maxsize=4096)
def _expected_disks(disks: int) -> frozenset[int]:
    return frozenset(range(1, disks + 1))


@functools.lru_cache(maxsize=256)
def parse_flag(text: str, disks: int) -> Candidate:
    """The strict red-flag parser (MAKER's ``parse_move_state_flag``); never repairs.

    Takes the last ``move = [...]`` (exactly three integers) and the last
    ``next_state = [[...], [...], [...]]`` (three flat lists holding each disk 1..N exactly
    once); raises :class:`~hakaru.errors.RedFlag` otherwise. Legality is *not* checked: a wrong
    but well-formed answer still votes. (Memoised: the votes of one step repeat their text.)

    >>> parse_flag("move = [2, 0, 1]\\nmove = [1, 0, 1]\\nnext_state = [[2], [1], []]", 2)
    ((1, 0, 1), ((2,), (1,), ()))
    """
    low = text.lower() if text.isascii() else None
    move_text = _last(_MOVE, _MOVE_FAST, text, low)
    if move_text is None:
        raise FormatFlag("no 'move = [...]' in the response")
    state_text = _last(_STATE, _STATE_FAST, text, low)
    if state_text is None:
        raise FormatFlag("no 'next_state = [[...], [...], [...]]' in the response")
    move = _ints(move_text[1:-1], "move")
    if len(move) != 3:
        raise FormatFlag(f"the move has {len(move)} integers, not 3 (disk, from peg, to peg)")
    pegs = tuple(_ints(body, "next_state") for body in _INNER.findall(state_text))
    flat = [d for peg in pegs for d in peg]
    expected = _expected_disks(disks)
    if len(flat) != disks or set(flat) != expected:
        missing = sorted(expected.difference(flat))
        extra = sorted({d for d in flat if d not in expected or flat.count(d) > 1})
        raise FormatFlag(
            f"next_state must hold disks 1..{disks} exactly once "
            f"(missing {missing}, extra or repeated {extra})"
        )
    return ((move[0], move[1], move[2]), (pegs[0], pegs[1], pegs[2]))


_REPAIR_STATE = re.compile(r"(?i)\bnext_state\b\s*=\s*(\[\s*\[)", re.DOTALL)


def _balanced(text: str, start: int) -> str:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "[":
            depth += 1
        elif text[i] == "]":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return text[start:] + "]"


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def parse_repair(text: str) -> tuple[Any, Any]:
    """The repairing parser of MAKER's calibration runs: tolerant, for comparisons only.

    The last ``move = [...]`` and the balanced brackets after the last ``next_state = [[``,
    read as Python literals with no validation (a move of two integers, a state missing a disk
    or with four pegs all pass). Raises :class:`~hakaru.errors.RedFlag` only when nothing can be
    read. Never use it to run: it lets malformed answers vote.

    >>> parse_repair("move = [1, 0]\\nnext_state = [[2], [1], [], []] trailing")
    ((1, 0), ((2,), (1,), (), ()))
    """
    moves = _MOVE.findall(text)
    if not moves:
        raise FormatFlag("no 'move = [...]' in the response")
    starts = list(_REPAIR_STATE.finditer(text))
    if not starts:
        raise FormatFlag("no 'next_state = [[' in the response")
    try:
        move = ast.literal_eval(moves[-1].strip())
        state = ast.literal_eval(_balanced(text, starts[-1].start(1)).strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise FormatFlag(f"unreadable move or next_state ({type(exc).__name__})") from None
    try:
        return _freeze(move), _freeze(state)
    except TypeError:  # pragma: no cover - literal_eval gives only hashable leaves here
        raise FormatFlag("unhashable move or next_state") from None
