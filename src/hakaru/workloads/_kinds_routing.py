"""Task kinds of the k-task routing workload (paper §3.1): identify a task, then solve it.

A query is c metadata tokens (``META``: the task's tag, then c−1 words such as a request id)
and an input of n tokens (``TEXT``). Task t is retrieval: answer the word that follows the first
occurrence of t's tag in the text, or ``none``. The text also holds the tags of up to two other
tasks, so solving the wrong task gives a wrong answer.

- ``route-identify`` — the delegator's step: read only the metadata and name the task
  (``task TAG``). Its payload also carries the number of tasks k, which the prompt omits, so
  the simulated delegator's wrong answers name another existing task.
- ``route.t<i>`` — solve task i (``answer: WORD``). There is one kind per task so that
  capability sets (paper Def. 2.3) can say who may solve what: specialist i holds
  ``{route.t<i>}``; the generalist holds all k.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

from hakaru.errors import ConfigError, RedFlag
from hakaru.tasks import TaskKind, register_task_kind
from hakaru.types import Message
from hakaru.workloads._kinds_common import other_word, tag_of, tokens

__all__ = [
    "ANSWER_TOKENS",
    "IDENTIFY",
    "IDENTIFY_FIXED",
    "SOLVE_FIXED",
    "TASK_TOKENS",
    "IdentifyKind",
    "SolveKind",
    "ensure_solve_kinds",
    "solve_kind",
]

IDENTIFY = "route-identify"

_IDENTIFY_SYSTEM = "Name the task of this request (the first META word). Reply: task <TAG>"
_SOLVE_SYSTEM = (
    "The first word of META is a tag. Answer with the word of TEXT that follows the first "
    "occurrence of that tag, or none if the tag does not occur. Reply with one line: "
    "answer: <word>"
)
_TASK_LINE = re.compile(r"task ([A-Z]{1,4})")
_ANSWER_LINE = re.compile(r"answer: ([a-z]{1,4})")

#: Tokens of the delegator's prompt besides the c metadata tokens.
IDENTIFY_FIXED = tokens(_IDENTIFY_SYSTEM) + tokens("META:")
#: Tokens of a solver's prompt besides the c metadata and n input tokens.
SOLVE_FIXED = tokens(_SOLVE_SYSTEM) + tokens("META:") + tokens("TEXT:")
#: Tokens of the delegator's answer ``task TAG``.
TASK_TOKENS = tokens("task A")
#: Tokens of a solver's answer ``answer: WORD``.
ANSWER_TOKENS = tokens("answer: none")


def _meta(payload: Mapping[str, Any]) -> list[str]:
    meta = payload.get("meta")
    if not isinstance(meta, list) or not meta or not all(isinstance(w, str) for w in meta):
        raise ConfigError(
            f"A routing task needs a payload {{'meta': [str, ...], ...}}; got {dict(payload)!r}."
        )
    return meta


class IdentifyKind(TaskKind):
    """Name the task from the metadata alone. Payload ``{"meta": [...], "tasks": k}``.

    >>> kind = IdentifyKind()
    >>> kind.parse(kind.render(kind.solve({"meta": ["B", "lake"], "tasks": 3})))
    'B'
    """

    name = IDENTIFY

    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        meta = " ".join(_meta(payload))
        return (Message("system", _IDENTIFY_SYSTEM), Message("user", f"META: {meta}"))

    def solve(self, payload: Mapping[str, Any]) -> str:
        return _meta(payload)[0]

    def render(self, answer: Any) -> str:
        return f"task {answer}"

    def parse(self, text: str) -> str:
        match = _TASK_LINE.fullmatch(text.strip())
        if match is None:
            raise RedFlag(f"malformed answer {text[:60]!r}: expected one line 'task <TAG>'")
        return match.group(1)

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        k = int(payload.get("tasks", 1))
        if k < 2:
            return tag_of(k)  # no other task exists: a tag the workload will red-flag
        while True:
            tag = tag_of(rng.randrange(k))
            if tag != answer:
                return tag

    def malformed(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        return rng.choice((f"The task is {answer}.", f"task: {answer}", f"Task {answer}"))


class SolveKind(TaskKind):
    """Solve task i: the word after the first occurrence of tag i in the text.

    Payload ``{"meta": [...], "text": [...]}``.

    >>> kind = SolveKind(1)
    >>> kind.solve({"meta": ["B"], "text": ["lake", "A", "moon", "B", "star"]})
    'star'
    """

    def __init__(self, index: int) -> None:
        self.index = index
        self.name = solve_kind(index)
        self.tag = tag_of(index)

    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        meta = " ".join(_meta(payload))
        text = " ".join(payload["text"])
        return (Message("system", _SOLVE_SYSTEM), Message("user", f"META: {meta}\nTEXT: {text}"))

    def solve(self, payload: Mapping[str, Any]) -> str:
        text = payload["text"]
        for i, word in enumerate(text[:-1]):
            if word == self.tag:
                return str(text[i + 1])
        return "none"

    def render(self, answer: Any) -> str:
        return f"answer: {answer}"

    def parse(self, text: str) -> str:
        match = _ANSWER_LINE.fullmatch(text.strip())
        if match is None:
            raise RedFlag(f"malformed answer {text[:60]!r}: expected one line 'answer: <word>'")
        return match.group(1)

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        return other_word(rng, str(answer))

    def malformed(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        return rng.choice((f"The answer is {answer}.", f"answer = {answer}", f"Answer: {answer}"))


def solve_kind(index: int) -> str:
    """The task-kind name of routing task ``index`` (``route.t<index>``)."""
    return f"route.t{index}"


_registered = 0  # route.t0 … route.t<_registered − 1> are registered


def ensure_solve_kinds(k: int) -> None:
    """Register the solve kinds of tasks 0 … k−1 (once each)."""
    global _registered
    for i in range(_registered, k):
        register_task_kind(SolveKind(i))
    _registered = max(_registered, k)


register_task_kind(IdentifyKind())
