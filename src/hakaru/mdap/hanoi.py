"""Towers of Hanoi as in MAKER (research/aalp_maker.md §2.4): one micro-agent per move.

Every step is one LLM call that sees the strategy, the previous move and the current state, and
answers with the single next move and the resulting state::

    move = [disk id, from peg, to peg]
    next_state = [[...], [...], [...]]

Pegs are 0-indexed lists from bottom to top; disks are numbered 1 (smallest) to N. The strategy
in the prompt: if the previous move did not move disk 1, move disk 1 one peg clockwise
(0 → 1 → 2 → 0); otherwise make the only legal move that does not involve disk 1. For an even
number of disks this ends with the tower on peg 2 after 2^N − 1 moves (the paper used N = 20).
For an odd N the clockwise rule would end on peg 1, so the prompt then says counter-clockwise
(0 → 2 → 1 → 0): an extension of ours, so that small odd towers can be tested too.

This module holds everything the step driver and the simulated LLM need:

- the prompts (:class:`HanoiStepKind`, task kind ``"hanoi-step"``), the oracle the simulated
  backend answers from (``solve``), plausible wrong answers and malformed texts;
- the strict red-flag parser :func:`parse_flag` (the paper's ``parse_move_state_flag``: the last
  ``move = [...]`` must hold three integers, the last ``next_state`` three lists holding every disk
  1..N exactly once; anything else is a :class:`~hakaru.errors.RedFlag`) and the repairing parser
  :func:`parse_repair` used only for calibration comparisons;
- closed forms of the solution (:func:`state_at`, :func:`move_at`) for calibration on random steps,
  and :class:`HanoiSimulator`, a legality-checking simulator for the final verification;
- :class:`HanoiTask`, the task the step driver runs, and the simulated models
  (:data:`HANOI_MODELS`) used by ``hakaru maker run``.
"""

from __future__ import annotations

import ast
import functools
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hakaru.backends.sim.models import SimModel
from hakaru.errors import ConfigError
from hakaru.mdap.driver import MdapTask, Verifier
from hakaru.patterns.validators import FormatFlag
from hakaru.tasks import TaskKind, filler_text, register_task_kind, task_kind
from hakaru.types import Message

__all__ = [
    "HANOI_MODELS",
    "HanoiSimulator",
    "HanoiStepKind",
    "HanoiTask",
    "Move",
    "State",
    "apply_move",
    "initial_state",
    "move_at",
    "next_move",
    "parse_flag",
    "parse_repair",
    "solution_length",
    "state_at",
]

Move = tuple[int, int, int]  # (disk, from peg, to peg)
State = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]  # pegs, bottom → top
Candidate = tuple[Move, State]

MAX_DISKS = 40  # 2^40 − 1 steps is far beyond any run; the bound keeps payloads sane


# ---------------------------------------------------------------------------------------------
# the puzzle


def solution_length(disks: int) -> int:
    """Moves of the optimal solution, 2^N − 1 (the MDAP's number of steps s).

    >>> solution_length(20)
    1048575
    """
    return (1 << disks) - 1


def _direction(disks: int) -> int:
    """Peg offset of disk 1 per move: +1 (clockwise) for even N, −1 for odd N."""
    return 1 if disks % 2 == 0 else 2


def initial_state(disks: int) -> State:
    """All disks on peg 0, largest at the bottom.

    >>> initial_state(3)
    ((3, 2, 1), (), ())
    """
    _check_disks(disks)
    return (tuple(range(disks, 0, -1)), (), ())


def _check_disks(disks: int) -> None:
    if not 1 <= disks <= MAX_DISKS:
        raise ConfigError(
            f"Towers of Hanoi needs 1 to {MAX_DISKS} disks; got {disks}. "
            "The paper's run uses 20 (1,048,575 steps)."
        )


def next_move(previous: Sequence[int] | None, state: State, disks: int) -> Move:
    """The strategy's next move (the oracle). Total on every state: it never raises.

    >>> next_move(None, initial_state(4), 4), next_move((1, 0, 1), ((4, 3, 2), (1,), ()), 4)
    ((1, 0, 1), (2, 0, 2))
    """
    one = next((i for i in range(3) if state[i] and state[i][-1] == 1), -1)
    if one < 0:  # disk 1 buried or missing: only a corrupted state gets here
        one = next((i for i in range(3) if 1 in state[i]), 0)
    if previous is None or previous[0] != 1:
        return (1, one, (one + _direction(disks)) % 3)
    a, b = (one + 1) % 3, (one + 2) % 3
    pa, pb = state[a], state[b]
    if pa and (not pb or pa[-1] < pb[-1]):
        return (pa[-1], a, b)
    if pb:
        return (pb[-1], b, a)
    return (1, one, (one + _direction(disks)) % 3)  # both other pegs empty: the tower is done


def apply_move(state: State, move: Move) -> State:
    """The state after ``move``, which must be legal (see :class:`HanoiSimulator` to check)."""
    disk, src, dst = move
    pegs = list(state)
    pegs[src] = pegs[src][:-1]
    pegs[dst] = (*pegs[dst], disk)
    return (pegs[0], pegs[1], pegs[2])


def state_at(disks: int, t: int) -> State:
    """The state after the first ``t`` moves of the strategy, in O(N) (no simulation).

    Disk d moves every 2^d moves, first at move 2^(d−1), always one peg in its own direction
    (disk 1's direction, reversed for every other disk).

    >>> state_at(4, 3)
    ((4, 3), (), (2, 1))
    """
    _check_disks(disks)
    if not 0 <= t <= solution_length(disks):
        raise ConfigError(f"Step {t} is outside 0..{solution_length(disks)} for {disks} disks.")
    pegs: list[list[int]] = [[], [], []]
    d1 = _direction(disks)
    for d in range(disks, 0, -1):
        moves = (t + (1 << (d - 1))) >> d
        direction = d1 if d % 2 else 3 - d1
        pegs[(direction * moves) % 3].append(d)
    return (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2]))


def move_at(disks: int, t: int) -> Move:
    """The ``t``-th move of the strategy (1-based).

    >>> [move_at(4, t) for t in (1, 2, 3, 4)]
    [(1, 0, 1), (2, 0, 2), (1, 1, 2), (3, 0, 1)]
    """
    if not 1 <= t <= solution_length(disks):
        raise ConfigError(f"Move {t} is outside 1..{solution_length(disks)} for {disks} disks.")
    d = (t & -t).bit_length()
    d1 = _direction(disks)
    direction = d1 if d % 2 else 3 - d1
    src = (direction * ((t - 1 + (1 << (d - 1))) >> d)) % 3
    return (d, src, (src + direction) % 3)


class HanoiSimulator:
    """A legality-checking simulator (MAKER's ``TowerOfHanoi``), used to verify a run.

    ``act`` returns ``None`` for a legal move and the reason otherwise (the state is then left
    unchanged). It checks the disk id, the peg range, from ≠ to, a non-empty source, that the
    disk is on top, and that no disk lands on a smaller one.

    >>> sim = HanoiSimulator(2)
    >>> sim.act((1, 0, 1)), sim.act((2, 0, 1))
    (None, 'illegal move: cannot place disk 2 on the smaller disk 1')
    """

    def __init__(self, disks: int, state: State | None = None, moves: int = 0) -> None:
        _check_disks(disks)
        self.disks = disks
        self.pegs = [list(p) for p in (state or initial_state(disks))]
        self.moves = moves

    @property
    def state(self) -> State:
        return (tuple(self.pegs[0]), tuple(self.pegs[1]), tuple(self.pegs[2]))

    def act(self, move: Sequence[int]) -> str | None:
        if len(move) != 3 or not all(type(x) is int for x in move):
            return f"a move has three integers [disk, from, to], not {list(move)}"
        disk, src, dst = move
        if not 1 <= disk <= self.disks:
            return f"disk {disk} does not exist (disks are 1..{self.disks})"
        if src not in (0, 1, 2) or dst not in (0, 1, 2):
            return f"pegs are 0, 1 or 2; the move {list(move)} names another"
        if src == dst:
            return f"the move {list(move)} does not change pegs"
        source, target = self.pegs[src], self.pegs[dst]
        if not source:
            return f"peg {src} is empty"
        if source[-1] != disk:
            return f"disk {disk} is not on top of peg {src} (the top is {source[-1]})"
        if target and target[-1] < disk:
            return f"illegal move: cannot place disk {disk} on the smaller disk {target[-1]}"
        target.append(source.pop())
        self.moves += 1
        return None

    def is_solved(self) -> bool:
        """Every disk on peg 2, largest at the bottom."""
        return self.pegs[2] == list(range(self.disks, 0, -1))


# ---------------------------------------------------------------------------------------------
# parsers

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


# ---------------------------------------------------------------------------------------------
# the task kind: prompts, oracle, wrong answers, malformed texts

_SYSTEM = """\
You are a helpful assistant. Solve this puzzle for me.

There are three pegs and {n} disks of different sizes stacked on the first peg. The disks are
numbered from 1 (smallest) to {n} (largest). Disk moves in this puzzle follow these rules:
1. Only one disk can be moved at a time.
2. Each move takes the upper disk from one stack and places it on top of another stack.
3. A larger disk may not be placed on top of a smaller disk.

The goal is to move the entire stack to the third peg.

Example: with 3 disks numbered 1 (smallest), 2, and 3 (largest), the initial state is
[[3, 2, 1], [], []], and a solution is:
moves = [[1, 0, 2], [2, 0, 1], [1, 2, 1], [3, 0, 2], [1, 1, 0], [2, 1, 2], [1, 0, 2]]
This means: move disk 1 from peg 0 to peg 2, then move disk 2 from peg 0 to peg 1, and so on.

Requirements:
- The pegs are 0-indexed (the leftmost peg is 0); each peg lists its disks from bottom to top.
- Your answer must include the single next move in this EXACT FORMAT:
move = [disk id, from peg, to peg]
- Your answer must include the state that results from applying the move to the current state,
in this EXACT FORMAT:
next_state = [[...], [...], [...]]
"""

_USER = """\
Rules:
- Only one disk can be moved at a time.
- Only the top disk of a peg can be moved.
- A larger disk may not be placed on top of a smaller disk.

For all moves, follow the standard Tower of Hanoi procedure:
If the previous move did not move disk 1, move disk 1 {turn} one peg ({cycle}).
If the previous move did move disk 1, make the only legal move that does not involve disk 1.

Use these steps to find the next move given the previous move and the current state.

Previous move: {previous}
Current state: {state}

Based on the previous move and the current state, find the single next move that follows the
procedure and the resulting next state.
"""


_PREV_LINE = re.compile(r"^Previous move: (None|\[[^\[\]\n]*\])$", re.M)
_STATE_LINE = re.compile(r"^Current state: (\[\[.*\]\])$", re.M)
_DISKS_LINE = re.compile(r"three pegs and ([0-9]+) disks of different sizes")


def _fmt_list(xs: Sequence[int]) -> str:
    return str(list(xs))  # "[1, 2, 3]": Python's list syntax, the prompt's format


def _fmt_state(state: Sequence[Sequence[int]]) -> str:
    return str([list(p) for p in state])


# Recently built payload states, so that the simulated backend's oracle need not parse them back
# (a million-step run reads one per step); bounded, and only a cache: a miss parses the text.
_STATES: dict[str, State] = {}


@functools.lru_cache(maxsize=64)
def _system(disks: int) -> str:
    return _SYSTEM.format(n=disks)


@functools.lru_cache(maxsize=2)
def _user_template(odd: bool) -> str:
    turn, cycle = (
        ("counter-clockwise", "0 -> 2 -> 1 -> 0") if odd else ("clockwise", "0 -> 1 -> 2 -> 0")
    )
    return _USER.replace("{turn}", turn).replace("{cycle}", cycle)


@functools.lru_cache(maxsize=64)
def _padding(tokens: int) -> str:
    """Deterministic reasoning prose of exactly ``tokens`` tokens (the same for every answer)."""
    if tokens <= 0:
        return ""
    return filler_text(tokens, random.Random(20)) + "\n"


@dataclass(frozen=True)
class HanoiStepKind(TaskKind):
    """One MAKER step of Towers of Hanoi (task kind ``"hanoi-step"``).

    Payload (see :meth:`payload`): ``{"disks": N, "state": "[[...], [...], [...]]",
    "previous_move": "[d, f, t]" | None}`` (nested lists are accepted too).
    The answer is ``((disk, from, to), next_state)``. ``reasoning_tokens`` sets how much prose a
    well-behaved simulated model writes before its answer (the answer lines add about 15 + 2·N
    tokens); MAKER's gpt-4.1-mini wrote about 540 output tokens per step.

    >>> kind = HanoiStepKind(reasoning_tokens=0)
    >>> kind.render(kind.solve(kind.payload(2, ((2, 1), (), ()), None)))
    'The previous move did not move disk 1, so disk 1 moves one peg.\\nmove = [1, 0, 1]\\nnext_state = [[2], [1], []]'
    """  # noqa: E501

    name: str = "hanoi-step"
    reasoning_tokens: int = 40  # tokens of prose before the answer lines

    def payload(self, disks: int, state: State, previous: Move | None) -> dict[str, Any]:
        """The payload of one step: the state and the previous move as the prompt prints them.

        Strings rather than nested lists: a million-step run builds, hashes and serialises one
        per step, and the prompt needs them in this form anyway. ``_read`` accepts lists too.
        """
        text = _fmt_state(state)
        if len(_STATES) >= 64:
            _STATES.clear()
        _STATES[text] = state
        return {
            "disks": disks,
            "state": text,
            "previous_move": None if previous is None else _fmt_list(previous),
        }

    @staticmethod
    def _read(payload: Mapping[str, Any]) -> tuple[int, State, Move | None]:
        try:
            disks = int(payload["disks"])
            pegs = payload["state"]
            if isinstance(pegs, str):
                known = _STATES.get(pegs)
                pegs = (
                    known
                    if known is not None
                    else [_ints(b, "state") for b in _INNER.findall(pegs)]
                )
            state: State = (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2]))
            prev = payload.get("previous_move")
            if isinstance(prev, str):
                prev = _ints(prev.strip()[1:-1], "previous_move")
            previous: Move | None = None if prev is None else (prev[0], prev[1], prev[2])
            if len(pegs) != 3 or (prev is not None and len(prev) != 3):
                raise ValueError
        except (KeyError, IndexError, TypeError, ValueError):
            raise ConfigError(
                "The 'hanoi-step' task needs a payload {'disks': N, 'state': '[[...], [...], "
                f"[...]]', 'previous_move': '[d, f, t]' or None}}; got {dict(payload)!r}."
            ) from None
        return disks, state, previous

    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        state, previous = payload.get("state"), payload.get("previous_move")
        if not isinstance(state, str) or not (previous is None or isinstance(previous, str)):
            disks, pegs, prev = self._read(payload)  # lists: format them as the prompt does
            state, previous = _fmt_state(pegs), None if prev is None else _fmt_list(prev)
        else:
            disks = int(payload["disks"])
        user = _user_template(disks % 2 == 1).format(
            previous="None" if previous is None else previous, state=state
        )
        return (Message("system", _system(disks)), Message("user", user))

    def solve(self, payload: Mapping[str, Any]) -> Candidate:
        return _solve(payload)

    def recognise(self, messages: Sequence[Message]) -> dict[str, Any] | None:
        """The payload of a prompt this kind wrote, or ``None`` (lets the simulated
        OpenAI-compatible server answer Hanoi steps sent as plain chat messages)."""
        user = next((m.content for m in reversed(messages) if m.role == "user"), "")
        prev, state = _PREV_LINE.search(user), _STATE_LINE.search(user)
        if prev is None or state is None:
            return None
        system = next((m.content for m in messages if m.role == "system"), "")
        n = _DISKS_LINE.search(system)
        disks = int(n.group(1)) if n else len(re.findall(r"[0-9]+", state.group(1)))
        payload = {
            "disks": disks,
            "state": state.group(1),
            "previous_move": None if prev.group(1) == "None" else prev.group(1),
        }
        try:
            self._read(payload)
        except ConfigError:
            return None
        return payload

    def render(self, answer: Any) -> str:
        return _render(answer, self.reasoning_tokens)

    def parse(self, text: str) -> Candidate:
        """Strict parse, with N taken as the number of disks in the answer (use
        :func:`parse_flag` with the true N to also catch a missing largest disk)."""
        match = None
        for match in _STATE.finditer(text):  # noqa: B007
            pass
        n = 0 if match is None else len(re.findall(r"[0-9]+", match.group(1)))
        return parse_flag(text, n)

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> Candidate:
        disks, state, _ = self._read(payload)
        move, nxt = answer
        disk, src, dst = move
        other = 3 - src - dst
        choice = rng.randrange(5)
        wrong: Candidate
        if choice == 0:  # the disk goes the other way round
            wrong = ((disk, src, other), _moved(state, disk, src, other))
        elif choice == 1:  # the right move, but the state is copied without it
            wrong = (move, state)
        elif choice == 2 and len(nxt[dst]) >= 2:  # the moved disk slipped under the top one
            peg = nxt[dst]
            pegs = list(nxt)
            pegs[dst] = (*peg[:-2], peg[-1], peg[-2])
            wrong = (move, (pegs[0], pegs[1], pegs[2]))
        elif choice == 3 and disk != 1:  # disk 1 moved again, out of turn
            one = next(i for i in range(3) if state[i] and state[i][-1] == 1)
            to = (one + _direction(disks)) % 3
            wrong = ((1, one, to), _moved(state, 1, one, to))
        else:  # the move is reported with the pegs swapped, the state is right
            wrong = ((disk, dst, src), nxt)
        if wrong == answer:  # every branch differs from the truth; keep the contract explicit
            wrong = (move, state)
        return wrong

    def malformed(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        disks, _, _ = self._read(payload)
        move, nxt = answer
        lines = _render(answer, self.reasoning_tokens).rsplit("\n", 2)
        head = lines[0] + "\n" if len(lines) == 3 else ""
        state = _fmt_state(nxt)
        form = rng.randrange(6)
        if form == 0:  # two integers in the move
            return f"{head}move = [{move[0]}, {move[2]}]\nnext_state = {state}"
        if form == 1:  # the largest disk forgotten
            dropped = [[d for d in peg if d != disks] for peg in nxt]
            return f"{head}move = {_fmt_list(move)}\nnext_state = {_fmt_state(dropped)}"
        if form == 2:  # a disk written twice
            doubled = [list(p) for p in nxt]
            doubled[move[2]].append(move[0])
            return f"{head}move = {_fmt_list(move)}\nnext_state = {_fmt_state(doubled)}"
        if form == 3:  # a fourth peg
            return f"{head}move = {_fmt_list(move)}\nnext_state = {state[:-1]}, []]"
        if form == 4:  # prose instead of the format
            return f"{head}I will move disk {move[0]} from peg {move[1]} to peg {move[2]}."
        return f"{head}move = ({move[0]}, {move[1]}, {move[2]})\nthe next state is {state}"


def _moved(state: State, disk: int, src: int, dst: int) -> State:
    pegs = [list(p) for p in state]
    if disk in pegs[src]:
        pegs[src].remove(disk)
    pegs[dst].append(disk)
    return (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2]))


# The k votes of a step share one payload object: remember the last answer by identity (the
# reference held keeps the id from being reused).
_last_solved: list[Any] = [None, None]


def _solve(payload: Mapping[str, Any]) -> Candidate:
    if _last_solved[0] is payload:
        answer: Candidate = _last_solved[1]
        return answer
    disks, state, previous = HanoiStepKind._read(payload)
    move = next_move(previous, state, disks)
    answer = (move, _moved(state, *move))
    _last_solved[0], _last_solved[1] = payload, answer
    return answer


@functools.lru_cache(maxsize=1024)
def _render(answer: Candidate, reasoning_tokens: int) -> str:
    move, nxt = answer
    why = (
        "The previous move did not move disk 1, so disk 1 moves one peg."
        if move[0] == 1
        else "The previous move moved disk 1, so I make the only legal move without disk 1."
    )
    return (
        f"{_padding(reasoning_tokens)}{why}\n"
        f"move = {_fmt_list(move)}\nnext_state = {_fmt_state(nxt)}"
    )


HANOI_KIND = HanoiStepKind()
register_task_kind(HANOI_KIND)


# ---------------------------------------------------------------------------------------------
# the MDAP task and its verifier


class HanoiVerifier(Verifier):
    """Replays the voted moves on :class:`HanoiSimulator` and checks every voted next state."""

    def __init__(self, disks: int, sim: HanoiSimulator | None = None) -> None:
        self.sim = sim or HanoiSimulator(disks)

    def act(self, action: Any, next_state: Any) -> str | None:
        reason = self.sim.act(action)
        if reason is not None:
            return reason
        if next_state != self.sim.state:
            return f"the voted next_state {_fmt_state(next_state)} is not the simulator's"
        return None

    def finish(self) -> str | None:
        if not self.sim.is_solved():
            return f"the tower is not on peg 2 after {self.sim.moves:,} moves"
        if self.sim.moves != solution_length(self.sim.disks):
            return f"{self.sim.moves:,} moves instead of {solution_length(self.sim.disks):,}"
        return None

    def to_json(self) -> Any:
        return {"state": [list(p) for p in self.sim.pegs], "moves": self.sim.moves}

    def restore(self, data: Any) -> None:
        state = tuple(tuple(p) for p in data["state"])
        self.sim = HanoiSimulator(self.sim.disks, state, int(data["moves"]))  # type: ignore[arg-type]


class HanoiTask(MdapTask):
    """Towers of Hanoi with ``disks`` disks as an MDAP: 2^N − 1 steps, one move per step.

    >>> task = HanoiTask(4)
    >>> task.steps, task.start()
    (15, (None, ((4, 3, 2, 1), (), ())))
    """

    name = "hanoi"
    kind: HanoiStepKind

    def __init__(self, disks: int, kind: HanoiStepKind | None = None) -> None:
        _check_disks(disks)
        self.disks = disks
        self.kind = kind or HANOI_KIND
        try:
            registered: TaskKind | None = task_kind(self.kind.name)
        except ConfigError:
            registered = None
        if registered != self.kind:  # the simulated backend answers from the registered kind
            register_task_kind(self.kind)

    @property
    def steps(self) -> int:
        return solution_length(self.disks)

    def params(self) -> dict[str, Any]:
        return {"task": self.name, "disks": self.disks}

    def start(self) -> tuple[Move | None, State]:
        return None, initial_state(self.disks)

    def payload(self, previous: Any, state: Any) -> dict[str, Any]:
        return self.kind.payload(self.disks, state, previous)

    def parse(self, text: str) -> Candidate:
        return parse_flag(text, self.disks)

    def parse_repair(self, text: str) -> Any:
        return parse_repair(text)

    def truth(self, previous: Any, state: Any) -> Candidate:
        move = next_move(previous, state, self.disks)
        return (move, _moved(state, *move))

    def input_at(self, step: int) -> tuple[Move | None, State]:
        previous = None if step == 1 else move_at(self.disks, step - 1)
        return previous, state_at(self.disks, step - 1)

    def verifier(self) -> HanoiVerifier:
        return HanoiVerifier(self.disks)

    def encode(self, previous: Any, state: Any) -> Any:
        return {"previous": None if previous is None else list(previous), "state": state}

    def decode(self, data: Any) -> tuple[Move | None, State]:
        prev = data["previous"]
        pegs = data["state"]
        return (
            None if prev is None else (prev[0], prev[1], prev[2]),
            (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2])),
        )


# ---------------------------------------------------------------------------------------------
# simulated models for Hanoi steps

# Prices and verbosity like the paper's models (USD per 1M tokens); per-step error rates chosen
# so that the three span the planner's range. Error rates are flat in the context fill
# (max_error = base_error): MAKER found them "remarkably stable" in the number of disks.
HANOI_MODELS: dict[str, SimModel] = {
    m.name: m
    for m in (
        SimModel(
            "sim-hanoi-mini",  # gpt-4.1-mini-like: p ≈ 0.998, some correlated and malformed
            size=8.0,
            context_window=32_768,
            price_in=0.40,
            price_out=1.60,
            base_error=0.002,
            rho=0.3,
            malformed_rate=0.004,
            overlong_rate=0.001,
            overlong_tokens=1000,
            overlong_error=0.5,
            ttft=0.3,
            prefill_tps=8000,
            decode_tps=90,
        ),
        SimModel(
            "sim-hanoi-nano",  # cheaper and much less reliable (gpt-4.1-nano-like prices)
            size=2.0,
            context_window=32_768,
            price_in=0.10,
            price_out=0.40,
            base_error=0.06,
            rho=0.3,
            malformed_rate=0.02,
            overlong_rate=0.005,
            overlong_tokens=1000,
            ttft=0.2,
            prefill_tps=12_000,
            decode_tps=150,
        ),
        SimModel(
            "sim-hanoi-oss",  # gpt-oss-20B-like: cheap, p ≈ 0.964
            size=20.0,
            context_window=32_768,
            price_in=0.05,
            price_out=0.20,
            base_error=0.036,
            rho=0.3,
            malformed_rate=0.01,
            overlong_rate=0.003,
            overlong_tokens=1000,
            ttft=0.3,
            prefill_tps=6000,
            decode_tps=120,
        ),
    )
}


def hanoi_kind() -> HanoiStepKind:
    """The registered ``"hanoi-step"`` kind."""
    kind = task_kind("hanoi-step")
    assert isinstance(kind, HanoiStepKind)
    return kind
