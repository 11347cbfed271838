"""Task kinds: what a call is asked to do, what the right answer is, and how to read an answer.

A *task kind* bundles everything hakaru knows about one kind of LLM step, so that the simulated
backend, the workloads and the red-flagging parsers agree on it:

- ``messages(payload)``  the prompt a real LLM gets (system + user);
- ``solve(payload)``     the ground truth (an oracle — the simulated backend answers from it);
- ``render(answer)``     the text a well-behaved model answers with;
- ``parse(text)``        a *strict* parser: it raises :class:`hakaru.errors.RedFlag` on anything
                         malformed and never repairs (MAKER's red-flagging parser);
- ``wrong(payload, answer, rng)``      a plausible wrong answer (never equal to the truth);
- ``malformed(payload, answer, rng)``  text that ``parse`` rejects;
- ``items(payload)``     how many items one call handles, checked against the model's capability
                         (paper Def. 2.3: ``"sum:4"`` adds at most 4 numbers per call).

Kinds are registered by name (:func:`register_task_kind`), exactly as a third party would; the
workloads register theirs (sorting, routing, debugging, Hanoi steps) from their own modules. Two
kinds are built in: ``sum`` (add integers) and ``generic`` (any prompt, answered with deterministic
text of a drawn length; the simulated backend uses it for requests without a task).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hakaru.errors import CapabilityError, ConfigError, RedFlag
from hakaru.types import Message, ModelSpec, Request, Task

__all__ = [
    "GenericKind",
    "SumKind",
    "TaskKind",
    "check_capability",
    "filler_text",
    "known_task_kinds",
    "register_task_kind",
    "registered_kinds",
    "task_kind",
]


class TaskKind(ABC):
    """One kind of task. Subclass it, set ``name``, and register an instance.

    >>> kind = task_kind("sum")
    >>> kind.parse(kind.render(kind.solve({"numbers": [1, 2, 3]})))
    6
    """

    name: str = ""

    @abstractmethod
    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        """The prompt a real LLM would get for ``payload``."""

    @abstractmethod
    def solve(self, payload: Mapping[str, Any]) -> Any:
        """The ground-truth answer."""

    @abstractmethod
    def render(self, answer: Any) -> str:
        """The text a well-behaved model answers ``answer`` with; ``parse`` reads it back."""

    @abstractmethod
    def parse(self, text: str) -> Any:
        """Read an answer strictly; raise :class:`~hakaru.errors.RedFlag` on anything malformed."""

    @abstractmethod
    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> Any:
        """A plausible wrong answer, different from ``answer`` (the truth)."""

    def items(self, payload: Mapping[str, Any]) -> int:
        """How many items one call handles (checked against capability bounds)."""
        return 1

    def malformed(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        """Text a confused model might write that ``parse`` must reject."""
        return "I am not sure how to answer that."

    def task(self, payload: Mapping[str, Any]) -> Task:
        """The structured :class:`~hakaru.types.Task` for ``payload``."""
        return Task(self.name, payload, self.items(payload))

    def request(self, model: str, payload: Mapping[str, Any], **request_kwargs: Any) -> Request:
        """A :class:`~hakaru.types.Request` for ``payload``: this kind's prompt plus its task.

        >>> task_kind("sum").request("sim-adder", {"numbers": [1, 2]}).task.items
        2
        """
        return Request(
            model=model,
            messages=self.messages(payload),
            task=self.task(payload),
            **request_kwargs,
        )


_KINDS: dict[str, TaskKind] = {}


def register_task_kind(kind: TaskKind) -> TaskKind:
    """Make ``task_kind(kind.name)`` return ``kind`` (a later registration replaces an earlier)."""
    if not kind.name or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", kind.name):
        raise ConfigError(
            f"Task kind name {kind.name!r} is invalid. "
            "Use letters, digits, '_', '.' or '-' (no ':' or '*': they mean capability bounds)."
        )
    _KINDS[kind.name] = kind
    return kind


def task_kind(name: str) -> TaskKind:
    """Look a registered task kind up by name.

    >>> task_kind("sum").name
    'sum'
    """
    try:
        return _KINDS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown task kind '{name}'. Known: {', '.join(sorted(_KINDS))}. "
            "Register new kinds with hakaru.tasks.register_task_kind()."
        ) from None


def registered_kinds() -> dict[str, TaskKind]:
    """Every registered task kind by name (a copy): what another process needs to register to
    answer the same tasks, e.g. the actors of a Ray pool."""
    return dict(_KINDS)


def known_task_kinds() -> list[str]:
    """Names accepted by :func:`task_kind`, sorted."""
    return sorted(_KINDS)


def check_capability(spec: ModelSpec, task: Task) -> None:
    """Raise :class:`~hakaru.errors.CapabilityError` unless ``spec`` may perform ``task``.

    >>> adder = ModelSpec("sim-adder", capabilities=frozenset({"sum:4"}))
    >>> check_capability(adder, Task("sum", {}, items=9))
    Traceback (most recent call last):
    ...
    hakaru.errors.CapabilityError: Model 'sim-adder' cannot perform 'sum' on 9 items: its capability is sum on at most 4. Use a model with that capability or split the task.
    """  # noqa: E501
    try:
        limit = spec.capability_limit(task.kind)
    except KeyError:
        caps = ", ".join(sorted(spec.capabilities)) or "none"
        raise CapabilityError(
            f"Model '{spec.name}' cannot perform '{task.kind}': its capabilities are {caps}. "
            "Use a model with that capability."
        ) from None
    if limit is not None and task.items is not None and task.items > limit:
        raise CapabilityError(
            f"Model '{spec.name}' cannot perform '{task.kind}' on {task.items} items: "
            f"its capability is {task.kind} on at most {limit}. "
            "Use a model with that capability or split the task."
        )


# ---------------------------------------------------------------------------------------------
# sum: add integers, answer on the last line as "sum = <integer>"

_SUM_SYSTEM = (
    "You are a careful calculator. Add the integers you are given. You may work step by step, "
    "but end your reply with one line of the form `sum = <integer>` and nothing after it."
)
_SUM_LINE = re.compile(r"sum = (-?\d+)")


class SumKind(TaskKind):
    """Add a list of integers. Payload: ``{"numbers": [int, ...]}``; answer: an ``int``.

    The strict parser takes the last line that starts with ``sum`` and requires it to be exactly
    ``sum = <integer>`` with nothing but blank lines after it; anything else is a red flag.

    >>> SumKind().parse("12 + 7 = 19\\nsum = 19")
    19
    """

    name = "sum"

    @staticmethod
    def numbers(payload: Mapping[str, Any]) -> list[int]:
        nums = payload.get("numbers")
        if not isinstance(nums, list | tuple) or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in nums
        ):
            raise ConfigError(
                f"The 'sum' task needs a payload {{'numbers': [int, ...]}}; got {dict(payload)!r}."
            )
        return list(nums)

    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        listed = ", ".join(str(x) for x in self.numbers(payload))
        return (Message("system", _SUM_SYSTEM), Message("user", f"Add these numbers: {listed}"))

    def solve(self, payload: Mapping[str, Any]) -> int:
        return sum(self.numbers(payload))

    def render(self, answer: Any) -> str:
        return f"sum = {answer}"

    def parse(self, text: str) -> int:
        lines = text.splitlines()
        at = next(
            (i for i in range(len(lines) - 1, -1, -1) if lines[i].lstrip().startswith("sum")),
            None,
        )
        if at is None:
            raise RedFlag("no answer line: expected a last line 'sum = <integer>'")
        line = lines[at]
        match = _SUM_LINE.fullmatch(line)
        if match is None:
            raise RedFlag(f"malformed answer line {line!r}: expected 'sum = <integer>'")
        if any(rest.strip() for rest in lines[at + 1 :]):
            raise RedFlag("text after the answer line 'sum = <integer>'")
        return int(match.group(1))

    def items(self, payload: Mapping[str, Any]) -> int:
        return len(self.numbers(payload))

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> int:
        truth = int(answer)
        digits = str(abs(truth))
        if len(digits) >= 2 and rng.random() < 0.25:  # transposed adjacent digits
            i = rng.randrange(len(digits) - 1)
            swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
            value = int(swapped) * (-1 if truth < 0 else 1)
            if value != truth and swapped[0] != "0":
                return value
        # a slip of one unit, or a carry error of 10 or 100
        step = rng.choices((1, 10, 100), weights=(5, 3, 2))[0]
        return truth + step * rng.choice((-1, 1))

    def malformed(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        value = int(answer)
        forms = (
            f"sum = {value}.0",
            f"sum: {value}",
            f"The sum is {value}.",
            f"sum = {value} (I think)",
            f"sum = {value}\nLet me double-check that.",
            "sum = ?",
            f"Sum = {value}",
        )
        return rng.choice(forms)


# ---------------------------------------------------------------------------------------------
# generic: any prompt; deterministic text whose length is drawn from a lognormal distribution

# Every word has at most 4 letters, so each is exactly one token of hakaru.tokenizer.
_WORD_TEXT = (
    "the a of to and in is it that for on with as be this are by we can not at or from but "
    "more one each step then next so if all will its new key two use case test data code run "
    "time rule plan task part list sum item node path map fact note idea goal form line term"
)
_WORDS = tuple(_WORD_TEXT.split())


def filler_text(tokens: int, rng: random.Random) -> str:
    """Deterministic prose of exactly ``tokens`` tokens: sentences of 9 words and a full stop.

    >>> from hakaru.tokenizer import count_tokens
    >>> count_tokens(filler_text(37, random.Random(0)))
    37
    """
    words = rng.choices(_WORDS, k=tokens)
    sentences = []
    for i in range(0, tokens, 10):
        chunk = words[i : i + 10]
        chunk[0] = chunk[0].capitalize()
        sentences.append(" ".join(chunk[:9]) + "." if len(chunk) == 10 else " ".join(chunk))
    return " ".join(sentences)


def _digest_seed(*parts: str) -> int:
    blob = "\x00".join(parts).encode()
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "little")


@dataclass(frozen=True)
class GenericKind(TaskKind):
    """Any prompt. The "truth" is deterministic filler text of a drawn length; it never fails.

    Payload: ``{"messages": [[role, content], ...]}`` or ``{"prompt": str}``; an optional
    ``"tokens"`` fixes the answer length. Otherwise the length is lognormal with median
    ``median_tokens`` and shape ``sigma`` (``sigma=0`` gives exactly ``median_tokens``), clamped
    to ``[min_tokens, max_tokens]``. The parser rejects only empty text.

    >>> GenericKind(median_tokens=5, sigma=0).solve({"prompt": "hi"}).count(" ") + 1
    5
    """

    name = "generic"
    median_tokens: float = 120.0  # tokens
    sigma: float = 0.6  # shape of the lognormal (std. dev. of ln length)
    min_tokens: int = 1
    max_tokens: int = 4096

    def __post_init__(self) -> None:
        if not (self.median_tokens > 0 and self.sigma >= 0 and self.min_tokens >= 1):
            raise ConfigError(
                "GenericKind needs median_tokens > 0, sigma >= 0 and min_tokens >= 1; "
                f"got {self.median_tokens}, {self.sigma}, {self.min_tokens}."
            )
        if self.max_tokens < self.min_tokens:
            raise ConfigError(
                f"GenericKind has max_tokens {self.max_tokens} < min_tokens {self.min_tokens}. "
                "Raise max_tokens."
            )

    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        if "messages" in payload:
            return tuple(Message(str(r), str(c)) for r, c in payload["messages"])
        return (Message("user", str(payload.get("prompt", ""))),)

    def length(self, payload: Mapping[str, Any], rng: random.Random) -> int:
        """The answer length in tokens for ``payload``, drawn with ``rng``."""
        if "tokens" in payload:
            return max(1, int(payload["tokens"]))
        drawn = self.median_tokens * math.exp(self.sigma * rng.gauss(0.0, 1.0))
        return min(self.max_tokens, max(self.min_tokens, round(drawn)))

    def solve(self, payload: Mapping[str, Any]) -> str:
        key = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        rng = random.Random(_digest_seed("generic", key))
        return filler_text(self.length(payload, rng), rng)

    def render(self, answer: Any) -> str:
        return str(answer)

    def parse(self, text: str) -> str:
        if not text.strip():
            raise RedFlag("empty response")
        return text

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        text = filler_text(self.length(payload, rng), rng)
        return text if text != answer else text + " no"

    def malformed(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        return ""


register_task_kind(SumKind())
register_task_kind(GenericKind())
