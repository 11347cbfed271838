"""How the simulated server reasons: the budget each API asked for, honoured, ignored or starving.

Every API of ``hakaru sim serve`` reads its own reasoning parameter with
:func:`hakaru.backends.reasoning_controls.requested_budget` and asks :class:`ReasoningSim` how
many tokens to think for. The simulated model would think for ``natural`` tokens unprompted; the
server's ``mode`` (``hakaru sim serve --reasoning honour|ignore|starve``) decides what it does
with a budget b:

- ``honour`` — thinks ``min(natural, b)`` tokens, like a server that enforces the budget;
- ``ignore`` — thinks ``natural`` tokens whatever b says, like a server that drops a parameter
  it does not know (vLLM's ``thinking_token_budget`` sent wrongly, SGLang's budget without its
  logit processor);
- ``starve`` — thinks until the output cap is used up and never answers (``finish_reason``
  ``length``), the failure of a cap set too close to the budget.

A request that asks for no budget gets no reasoning (a plain chat model), in every mode. In
every mode the answer gets what is left of the output cap after the reasoning; when nothing is
left it is cut, and the probe (``hakaru reasoning probe``) reports the starvation.

>>> sim = ReasoningSim("honour", natural=4096)
>>> sim.plan(1024, cap=3000), sim.plan(None, cap=3000)
((1024, 1976), (0, 3000))
>>> ReasoningSim("starve").plan(1024, cap=1500)
(1500, 0)
"""

from __future__ import annotations

import random
from dataclasses import replace
from hashlib import blake2b
from typing import Literal

from hakaru.errors import ConfigError
from hakaru.tasks import filler_text
from hakaru.types import Request, Response

__all__ = ["MODES", "ReasoningMode", "ReasoningSim", "starved", "thinking_text"]

ReasoningMode = Literal["honour", "ignore", "starve"]
MODES: tuple[ReasoningMode, ...] = ("honour", "ignore", "starve")


class ReasoningSim:
    """The reasoning of the simulated server (see the module docstring)."""

    def __init__(self, mode: str = "honour", natural: int = 4096) -> None:
        if mode not in MODES:
            raise ConfigError(f"Reasoning mode '{mode}' is unknown. Use one of {', '.join(MODES)}.")
        if natural < 1:
            raise ConfigError(
                f"natural is {natural}. Give the unprompted reasoning in tokens >= 1."
            )
        self.mode = mode
        self.natural = natural

    @staticmethod
    def answer(answer: Response, left: int | None) -> Response:
        """The answer as the client sees it: nothing, cut for length, when no room was left."""
        return _empty(answer) if left is not None and left < 1 else answer

    def plan(self, budget: int | None, cap: int | None) -> tuple[int, int | None]:
        """(reasoning tokens, output tokens left for the answer or ``None``: no cap) of a call
        asking for ``budget`` reasoning tokens (``None``: none asked) under output cap ``cap``."""
        if budget is None:
            return 0, cap
        if self.mode == "starve":
            think = cap if cap is not None else self.natural
        elif self.mode == "ignore":
            think = self.natural
        else:
            think = min(self.natural, budget)
        if cap is None:
            return think, None
        think = min(think, cap)
        return think, cap - think


def thinking_text(tokens: int, key: str) -> str:
    """Deterministic prose of exactly ``tokens`` tokens, seeded by ``key``."""
    if tokens <= 0:
        return ""
    seed = int.from_bytes(blake2b(key.encode(), digest_size=8).digest(), "little")
    return filler_text(tokens, random.Random(seed))


def starved(request: Request, left: int | None) -> Request:
    """``request`` with its output cap lowered to what the reasoning left (at least 1; a call
    with nothing left is emptied by :meth:`ReasoningSim.answer`)."""
    return request if left is None else replace(request, max_tokens=max(1, left))


def _empty(answer: Response) -> Response:
    return replace(
        answer, text="", finish_reason="length", usage=replace(answer.usage, output_tokens=0)
    )
