"""The ``reason`` task kind: a simulated reasoning problem whose accuracy depends on difficulty
and on the reasoning budget granted — so budget policies can be compared on the sim backend.

Payload ``{"id": int, "difficulty": float in [0, 1]}``; the answer is an integer (derived from
the id), written on a last line ``answer = <integer>``. The simulated model reasons before it
answers, and the :meth:`ReasoningKind.reasoning` hook says how much and how well:

- a problem of difficulty d *needs* ``need(d) = need_min · (need_max/need_min)^d`` reasoning
  tokens (64 … 4,096 by default, geometric: each step of difficulty multiplies the work);
- unprompted, the model overthinks: it spends ``verbosity · need(d)`` tokens (2x by default),
  times a lognormal factor (``length_sigma``) that belongs to the problem (the same on every
  call);
- with a budget b (the budget phrase, ``Request.reasoning_budget``) it aims at min(natural, b),
  complying up to a lognormal factor (``compliance_sigma``): sometimes it overshoots b, and then
  the output cap may cut it off before it answers (``finish_reason="length"``, no answer);
- its chance of a right answer after L reasoning tokens saturates:
  ``p(L) = floor + (ceiling(d) − floor) · (1 − exp(−κ · L / need(d)))`` with
  ``ceiling(d) = ceiling_easy − ceiling_drop · d``. At L = need(d), κ = 3 gives 95 % of the gain;
  tokens beyond that buy almost nothing — the overthinking a budget policy can cut.

The simulated backend calls the hook for kinds that have it (see docs/reasoning.md for the hook
contract): it adds the reasoning tokens to the output (``Usage.reasoning_tokens``), cuts at
``max_tokens``, and answers wrongly with probability 1 − p(L) (combined with the model's own
error model).

>>> kind = ReasoningKind()
>>> round(kind.need(0.0)), round(kind.need(0.5)), round(kind.need(1.0))
(64, 512, 4096)
>>> round(kind.p_correct(0.5, 512), 3), round(kind.p_correct(0.5, 128), 3)
(0.872, 0.506)
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hakaru.errors import ConfigError, RedFlag
from hakaru.tasks import TaskKind, register_task_kind
from hakaru.types import Message

__all__ = ["ReasoningKind", "reasoning_payload"]

_SYSTEM = (
    "Solve the problem. Think inside <think> … </think>, then end your reply with one line "
    "of the form `answer = <integer>` and nothing after it."
)
_ANSWER = re.compile(r"answer = (-?\d+)")


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def reasoning_payload(i: int, difficulty: float) -> dict[str, Any]:
    """The payload of problem ``i`` at ``difficulty`` (in [0, 1])."""
    if not 0.0 <= difficulty <= 1.0:
        raise ConfigError(f"difficulty is {difficulty}. Give a number in [0, 1].")
    return {"id": int(i), "difficulty": round(float(difficulty), 6)}


@dataclass(frozen=True)
class ReasoningKind(TaskKind):
    """Simulated reasoning problems (registered as ``reason``); see the module docstring."""

    name = "reason"
    need_min: float = 64.0  # reasoning tokens the easiest problem needs
    need_max: float = 4096.0  # reasoning tokens the hardest problem needs
    verbosity: float = 2.0  # unprompted length / need (the overthinking factor)
    length_sigma: float = 0.3  # spread of the unprompted length (std. dev. of its log)
    compliance_sigma: float = 0.2  # spread of the length under a budget around min(natural, b)
    floor: float = 0.05  # accuracy with no reasoning (a guess)
    ceiling_easy: float = 0.99  # accuracy with ample reasoning on the easiest problem
    ceiling_drop: float = 0.15  # how much that ceiling drops at difficulty 1
    kappa: float = 3.0  # saturation speed: 1 − e^-κ of the gain at L = need(d)

    def __post_init__(self) -> None:
        if not 0 < self.need_min <= self.need_max:
            raise ConfigError(
                f"ReasoningKind needs 0 < need_min <= need_max; got {self.need_min}, "
                f"{self.need_max}."
            )
        if not 0 <= self.floor <= self.ceiling_easy - self.ceiling_drop <= self.ceiling_easy <= 1:
            raise ConfigError(
                "ReasoningKind needs 0 <= floor <= ceiling_easy - ceiling_drop <= "
                f"ceiling_easy <= 1; got floor {self.floor}, ceiling_easy {self.ceiling_easy}, "
                f"ceiling_drop {self.ceiling_drop}."
            )

    # -- the model of reasoning ----------------------------------------------------------------

    def need(self, difficulty: float) -> float:
        """Reasoning tokens a problem of this difficulty needs (95 % of the attainable gain)."""
        return float(self.need_min * (self.need_max / self.need_min) ** difficulty)

    def p_correct(self, difficulty: float, tokens: float) -> float:
        """Chance of a right answer after ``tokens`` reasoning tokens."""
        ceiling = self.ceiling_easy - self.ceiling_drop * difficulty
        gain = 1.0 - math.exp(-self.kappa * tokens / self.need(difficulty))
        return self.floor + (ceiling - self.floor) * gain

    def reasoning(
        self, payload: Mapping[str, Any], budget: int | None, rng: random.Random
    ) -> tuple[int, float]:
        """The hook the simulated backend calls: (reasoning tokens, probability of a wrong
        answer) for one call, drawn with ``rng``. Not counting any cut by ``max_tokens``."""
        d = self.difficulty(payload)
        # how verbose the model is on *this* problem: a property of the problem, not the call
        z = random.Random(_digest(f"length:{payload.get('id', 0)}")).gauss(0, 1)
        natural = self.verbosity * self.need(d) * math.exp(self.length_sigma * z)
        tokens = natural
        if budget is not None:
            tokens = min(natural, budget * math.exp(self.compliance_sigma * rng.gauss(0, 1)))
        n = max(1, round(tokens))
        return n, 1.0 - self.p_correct(d, n)

    # -- the task kind -------------------------------------------------------------------------

    @staticmethod
    def difficulty(payload: Mapping[str, Any]) -> float:
        d = payload.get("difficulty")
        if not isinstance(d, int | float) or not 0.0 <= d <= 1.0:
            raise ConfigError(
                "The 'reason' task needs a payload {'id': int, 'difficulty': float in [0, 1]}; "
                f"got {dict(payload)!r}."
            )
        return float(d)

    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        d = self.difficulty(payload)
        return (
            Message("system", _SYSTEM),
            Message("user", f"Problem {payload.get('id', 0)} (difficulty {d:.2f})."),
        )

    def solve(self, payload: Mapping[str, Any]) -> int:
        self.difficulty(payload)
        return _digest(f"reason:{payload.get('id', 0)}") % 1000

    def render(self, answer: Any) -> str:
        return f"answer = {answer}"

    def parse(self, text: str) -> int:
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            raise RedFlag("no answer: expected a last line 'answer = <integer>'")
        match = _ANSWER.fullmatch(lines[-1].strip())
        if match is None:
            raise RedFlag(f"malformed answer line {lines[-1]!r}: expected 'answer = <integer>'")
        return int(match.group(1))

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> int:
        return int(answer) + rng.choice((-1, 1)) * rng.randint(1, 50)

    def malformed(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        return rng.choice((f"The answer is {answer}.", f"answer: {answer}", "answer = ?"))


register_task_kind(ReasoningKind())
