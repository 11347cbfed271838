"""Task kinds of the iterative debugging workload (paper §3.2): find a bug, fix a bug.

The code is real data: k functions of l tokens, one per line, ``def NAME w₀ w₁ w₂ w₀ w₁ …``.
Each function's first three body words are its constant-size specification (the paper's
"correct, precise specification" of §3.2.2): the rest of the body must repeat them in order. A
bug is a word that breaks the cycle, at most one per function; it never hits the header or the
specification, so every bug can be found and fixed from the function alone.

Both kinds read a *conversation*: the original code, then for each earlier turn the QA report
and the developer's rewrite (the role-play loop feeds all of it to both agents, as AutoGen does);
the focused design sends a one-function conversation with no earlier turns. ``items`` is the
number of functions in the latest code, so a capability ``debug-find:1`` means "one function at
a time" (paper Def. 2.3).

- ``debug-find`` (QA) — answer ``bug in NAME: WRONG -> RIGHT`` for the first bug of the latest
  code, or ``no bug``. A report always has :data:`REPORT_TOKENS` tokens: a constant-size message.
- ``debug-fix`` (developer) — given the conversation and the last report, fix the named
  function and reply with the whole latest code, one function per line.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from hakaru.errors import ConfigError, RedFlag
from hakaru.tasks import TaskKind, register_task_kind
from hakaru.types import Message
from hakaru.workloads._kinds_common import VOCAB, name_of, other_word, tokens

__all__ = [
    "ASK_TOKENS",
    "DEV_FIXED",
    "FIND",
    "FIX",
    "NO_BUG",
    "NO_BUG_TOKENS",
    "QA_FIXED",
    "REPORT_TOKENS",
    "SPEC",
    "TURN_TOKENS",
    "FindKind",
    "FixKind",
    "check_shape",
    "first_break",
    "fixed",
    "make_code",
    "report_for",
]

FIND = "debug-find"
FIX = "debug-fix"
NO_BUG = "no bug"
SPEC = 3  # words of a function's specification (its first body words)
_HEADER = 2  # "def NAME"

_RULE = (
    "Each function is `def NAME` followed by words that must repeat its first three words in "
    "order; a word that breaks this cycle is a bug."
)
_QA_SYSTEM = (
    f"You are the QA engineer. {_RULE} Report the first bug of the latest code as one line "
    "`bug in NAME: WRONG -> RIGHT`, or `no bug`."
)
_DEV_SYSTEM = (
    f"You are the software developer. {_RULE} Fix the bug the QA engineer reported last; reply "
    "with the whole fixed code only, one function per line."
)
_REPORT = re.compile(r"bug in ([a-z]{1,4}): ([a-z]{1,4}) -> ([a-z]{1,4})")
_FUNCTION = re.compile(r"def [a-z]{1,4}(?: [a-z]{1,4})+")

#: Tokens of a bug report and of ``no bug``.
REPORT_TOKENS = tokens("bug in a: able -> acid")
NO_BUG_TOKENS = tokens(NO_BUG)
#: Fixed prompt tokens of the QA and of the developer (system prompt and ``Code:``).
QA_FIXED = tokens(_QA_SYSTEM) + tokens("Code:")
DEV_FIXED = tokens(_DEV_SYSTEM) + tokens("Code:")
#: Tokens one earlier turn adds to the conversation besides its code (``QA: report``,
#: ``Developer:``), and the developer's closing ``QA: report`` line.
TURN_TOKENS = tokens("QA:") + REPORT_TOKENS + tokens("Developer:")
ASK_TOKENS = tokens("QA:") + REPORT_TOKENS


def make_code(k: int, length: int, b: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """(buggy code, correct code): k functions of ``length`` tokens, b with one bug each."""
    if length < _HEADER + SPEC + 1:
        raise ConfigError(f"A function needs at least {_HEADER + SPEC + 1} tokens; l is {length}")
    if not 0 <= b <= k:
        raise ConfigError(f"b is {b}: there are at most k = {k} bugs (one per function)")
    truth = []
    for i in range(k):
        cycle = rng.sample(VOCAB, SPEC)
        body = [cycle[j % SPEC] for j in range(length - _HEADER)]
        truth.append(" ".join(["def", name_of(i), *body]))
    buggy = list(truth)
    for i in sorted(rng.sample(range(k), b)):
        w = buggy[i].split()
        at = rng.randrange(_HEADER + SPEC, length)
        w[at] = other_word(rng, w[at])
        buggy[i] = " ".join(w)
    return buggy, truth


def first_break(function: str) -> int | None:
    """Index (in the function's words) of its first bug, or None when it is correct."""
    w = function.split()
    for j in range(_HEADER + SPEC, len(w)):
        if w[j] != w[_HEADER + (j - _HEADER) % SPEC]:
            return j
    return None


def fixed(function: str) -> str:
    """The function with its first bug fixed (unchanged when it has none)."""
    at = first_break(function)
    if at is None:
        return function
    w = function.split()
    w[at] = w[_HEADER + (at - _HEADER) % SPEC]
    return " ".join(w)


def report_for(function: str) -> str | None:
    """The QA report of the function's first bug, or None."""
    at = first_break(function)
    if at is None:
        return None
    w = function.split()
    return f"bug in {w[1]}: {w[at]} -> {w[_HEADER + (at - _HEADER) % SPEC]}"


def _latest(payload: Mapping[str, Any]) -> list[str]:
    try:
        turns = payload["turns"]
        return list(turns[-1][1] if turns else payload["code"])
    except (KeyError, IndexError, TypeError):
        raise ConfigError(
            "A debugging task needs a payload {'code': [str, ...], 'turns': [[report, code], "
            f"...]}}; got {dict(payload)!r}."
        ) from None


def _transcript(payload: Mapping[str, Any], ask: str | None) -> str:
    lines = ["Code:", *payload["code"]]
    for report, code in payload["turns"]:
        lines += [f"QA: {report}", "Developer:", *code]
    if ask is not None:
        lines.append(f"QA: {ask}")
    return "\n".join(lines)


class FindKind(TaskKind):
    """QA: report the first bug of the latest code. Answer: a report string or ``no bug``.

    >>> kind = FindKind()
    >>> kind.solve({"code": ["def a lake moon star lake moon lake"], "turns": []})
    'bug in a: lake -> star'
    """

    name = FIND

    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        return (Message("system", _QA_SYSTEM), Message("user", _transcript(payload, None)))

    def solve(self, payload: Mapping[str, Any]) -> str:
        for function in _latest(payload):
            report = report_for(function)
            if report is not None:
                return report
        return NO_BUG

    def render(self, answer: Any) -> str:
        return str(answer)

    def parse(self, text: str) -> str:
        line = text.strip()
        if line != NO_BUG and _REPORT.fullmatch(line) is None:
            raise RedFlag(
                f"malformed report {line[:60]!r}: expected 'bug in NAME: WRONG -> RIGHT' or "
                "'no bug'"
            )
        return line

    def items(self, payload: Mapping[str, Any]) -> int:
        return len(_latest(payload))

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        code = _latest(payload)
        names = [f.split()[1] for f in code]
        truth = _REPORT.fullmatch(str(answer))
        if truth is not None and len(names) == 1:
            return NO_BUG  # a missed bug
        others = [n for n in names if truth is None or n != truth.group(1)]
        wrong_word = rng.choice(VOCAB)
        return f"bug in {rng.choice(others)}: {wrong_word} -> {other_word(rng, wrong_word)}"

    def malformed(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        return rng.choice((f"I found this: {answer}", f"{answer}.", "Bug found in the code."))


class FixKind(TaskKind):
    """Developer: fix the function the last report names; answer the whole latest code.

    >>> kind = FixKind()
    >>> kind.solve({"code": ["def a lake moon star lake moon lake"], "turns": [],
    ...             "report": "bug in a: lake -> star"})
    ['def a lake moon star lake moon star']
    """

    name = FIX

    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        user = _transcript(payload, str(payload["report"]))
        return (Message("system", _DEV_SYSTEM), Message("user", user))

    def solve(self, payload: Mapping[str, Any]) -> list[str]:
        code = _latest(payload)
        report = _REPORT.fullmatch(str(payload.get("report", "")))
        if report is None:
            return code
        return [fixed(f) if f.split()[1] == report.group(1) else f for f in code]

    def render(self, answer: Any) -> str:
        return "\n".join(answer)

    def parse(self, text: str) -> list[str]:
        lines = text.strip().splitlines()
        for line in lines:
            if _FUNCTION.fullmatch(line) is None:
                raise RedFlag(f"not a function line: {line[:60]!r}")
        return lines

    def items(self, payload: Mapping[str, Any]) -> int:
        return len(_latest(payload))

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> list[str]:
        code = list(answer)
        i = rng.randrange(len(code))
        w = code[i].split()
        at = rng.randrange(_HEADER + SPEC, len(w))
        w[at] = other_word(rng, w[at])  # the bug left in place, or a new one
        code[i] = " ".join(w)
        return code

    def malformed(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        return "Here is the fixed code:\n" + self.render(answer)


def check_shape(code: Sequence[str], names: Sequence[str], length: int) -> list[str]:
    """Red-flag a rewrite that is not the same functions, in order, of ``length`` tokens."""
    if len(code) != len(names):
        raise RedFlag(f"expected {len(names)} functions, got {len(code)}")
    for line, name in zip(code, names, strict=True):
        w = line.split()
        if w[1] != name or len(w) != length:
            raise RedFlag(f"expected function {name} of {length} tokens, got {line[:40]!r}")
    return list(code)


register_task_kind(FindKind())
register_task_kind(FixKind())
