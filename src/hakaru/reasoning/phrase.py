"""Putting a reasoning budget on a call: the budget phrase after the thinking tag, and a cap.

HBPO (and L1 before it) tell a reasoning model its budget in words, right where its reasoning
starts: ``<think>`` followed by "I will answer the question within {b} tokens" (the paper's
phrase; its released code says "with"). :func:`with_budget` does that to a
:class:`~hakaru.types.Request`:

- ``placement="prefill"`` (default) appends an assistant message ``<think>\\n<phrase>`` that the
  model continues (servers that support prefill: vLLM ``continue_final_message``, Anthropic,
  llama.cpp); ``"user"`` appends the tag and phrase to the last user message instead, for
  servers that do not;
- ``Request.reasoning_budget`` is set to b, so the ledger records it (and the simulated backend
  obeys it);
- ``max_tokens`` is capped at ``ceil(b · cap_factor) + answer_tokens`` — room to overshoot a
  little and still answer — or left alone with ``cap_factor=None``. An existing smaller
  ``max_tokens`` is kept.

>>> from hakaru.types import Request
>>> r = with_budget(Request.chat("m", "What is 2+2?"), 512)
>>> r.messages[-1].content, r.reasoning_budget, r.max_tokens
('<think>\\nI will answer the question within 512 tokens.', 512, 704)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from hakaru.errors import ConfigError
from hakaru.types import Message, Request

__all__ = ["DEFAULT_TEMPLATE", "BudgetPrompt", "with_budget"]

DEFAULT_TEMPLATE = "I will answer the question within {b} tokens."


@dataclass(frozen=True)
class BudgetPrompt:
    """How a budget is announced and capped (see the module docstring).

    >>> BudgetPrompt(template="Think for at most {b} tokens.").phrase(256)
    'Think for at most 256 tokens.'
    >>> BudgetPrompt(template="no placeholder")
    Traceback (most recent call last):
    ...
    hakaru.errors.ConfigError: Budget template 'no placeholder' has no '{b}'. Write where the budget goes, e.g. 'I will answer the question within {b} tokens.'
    """  # noqa: E501

    template: str = DEFAULT_TEMPLATE  # the budget phrase; {b} is the budget in tokens
    think_tag: str = "<think>"  # the thinking tag the phrase follows
    placement: Literal["prefill", "user"] = "prefill"
    cap_factor: float | None = 1.25  # max_tokens = ceil(b · cap_factor) + answer_tokens
    answer_tokens: int = 64  # room for the answer after the reasoning (tokens)

    def __post_init__(self) -> None:
        if "{b}" not in self.template:
            raise ConfigError(
                f"Budget template {self.template!r} has no '{{b}}'. Write where the budget "
                f"goes, e.g. {DEFAULT_TEMPLATE!r}"
            )
        if self.placement not in ("prefill", "user"):
            raise ConfigError(
                f"Budget placement '{self.placement}' is unknown. Use 'prefill' or 'user'."
            )
        if self.cap_factor is not None and self.cap_factor < 1:
            raise ConfigError(
                f"cap_factor is {self.cap_factor}. Give at least 1 (the cap must fit the "
                "budget), or None for no cap."
            )
        if self.answer_tokens < 0:
            raise ConfigError(f"answer_tokens is {self.answer_tokens}. Give 0 or more.")

    def phrase(self, b: int) -> str:
        """The budget phrase for ``b`` tokens."""
        return self.template.replace("{b}", str(b))

    def cap(self, b: int) -> int | None:
        """The output cap for budget ``b`` (tokens), or ``None`` for no cap."""
        if self.cap_factor is None:
            return None
        return math.ceil(b * self.cap_factor) + self.answer_tokens


def with_budget(
    request: Request, budget: int | None, prompt: BudgetPrompt | None = None
) -> Request:
    """``request`` with the budget phrase after the thinking tag, ``reasoning_budget`` and a capped
    ``max_tokens`` (see the module docstring). ``budget=None`` returns the request unchanged.
    """
    if budget is None:
        return request
    if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
        raise ConfigError(f"Budget {budget!r} is not positive. Give a number of tokens > 0.")
    prompt = prompt or BudgetPrompt()
    text = f"{prompt.think_tag}\n{prompt.phrase(budget)}"
    messages = request.messages
    if prompt.placement == "prefill":
        messages = (*messages, Message("assistant", text))
    else:
        last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
        if last is None:
            messages = (*messages, Message("user", text))
        else:
            m = messages[last]
            messages = (
                *messages[:last],
                Message("user", f"{m.content}\n\n{text}"),
                *messages[last + 1 :],
            )
    cap = prompt.cap(budget)
    if cap is not None and request.max_tokens is not None:
        cap = min(cap, request.max_tokens)
    return replace(
        request,
        messages=messages,
        reasoning_budget=budget,
        max_tokens=cap if cap is not None else request.max_tokens,
    )
