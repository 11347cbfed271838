"""One translation from a reasoning budget to each API's own request fields — and back.

Providers expose reasoning budgets through different parameters, and some ignore a parameter
sent in the wrong form without an error. :func:`reasoning_fields` builds, from a budget in
tokens or an effort level, the fields to merge into a request body for

- ``openai-chat`` — ``reasoning_effort`` (a level; OpenAI takes no token budget) and
  ``max_completion_tokens`` (the cap on reasoning *and* answer);
- ``openai-responses`` — ``reasoning: {effort}`` and ``max_output_tokens``;
- ``anthropic`` — chosen by model name: ``thinking: {type: "enabled", budget_tokens}`` (at
  least 1,024 and below ``max_tokens``) for models before Claude 4.6; adaptive thinking,
  ``thinking: {type: "adaptive"}`` with ``output_config: {effort}``, for 4.6 and later (4.7 and
  later reject the old form, 4.6 deprecates it);
- ``gemini`` — ``generationConfig.thinkingConfig``: ``thinkingBudget`` (tokens) on Gemini 2.x,
  ``thinkingLevel`` on Gemini 3 and later (never both: the API answers 400);
- ``vllm`` — ``thinking_token_budget`` (tokens) and ``max_tokens``;
- ``sglang`` — ``custom_params: {thinking_budget}`` with ``chat_template_kwargs:
  {enable_thinking}``; SGLang enforces the budget only when the request also names the
  model's thinking-budget logit processor (``custom_logit_processor``, a server started with
  ``--enable-custom-logit-processor``) — without it the budget is silently ignored, which is
  what ``hakaru reasoning probe`` finds out.

A level where the API wants tokens is :data:`EFFORT_TOKENS` of it; tokens where the API wants a
level is the level nearest to the budget on a log scale (:func:`level_for`). The output cap is
``max_tokens`` if given, else the budget plus :data:`ANSWER_ROOM` — room for the answer, so that
reasoning cannot starve it.

:func:`requested_budget` reads any of these bodies back (tokens, level, the parameter that
carried it): the simulated server (``hakaru sim serve``) honours what it reads, the proxy records
it in the ledger (``CallRecord.reasoning_budget``).

>>> reasoning_fields("openai-chat", "o4-mini", tokens=3000)
{'reasoning_effort': 'high', 'max_completion_tokens': 4024}
>>> reasoning_fields("anthropic", "claude-sonnet-4-5", tokens=2000)["thinking"]
{'type': 'enabled', 'budget_tokens': 2000}
>>> reasoning_fields("anthropic", "claude-opus-4-7", tokens=2000)["output_config"]
{'effort': 'high'}
>>> requested_budget("gemini", {"generationConfig": {"thinkingConfig": {"thinkingBudget": 512}}})
Requested(tokens=512, level=None, param='thinkingBudget')
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hakaru.errors import ConfigError

__all__ = [
    "ANSWER_ROOM",
    "ANTHROPIC_EFFORTS",
    "APIS",
    "EFFORT_TOKENS",
    "Requested",
    "anthropic_adaptive",
    "anthropic_rejects_budget",
    "level_for",
    "reasoning_fields",
    "requested_budget",
    "tokens_for",
]

APIS = ("openai-chat", "openai-responses", "anthropic", "gemini", "vllm", "sglang")
#: Reasoning tokens an effort level stands for (hakaru's convention, used both ways).
EFFORT_TOKENS = {
    "none": 0,
    "minimal": 0,
    "low": 128,
    "medium": 512,
    "high": 2048,
    "xhigh": 8192,
    "max": 32768,
}
ANSWER_ROOM = 1024  # output tokens left for the answer above the reasoning budget
ANTHROPIC_EFFORTS = ("low", "medium", "high", "xhigh", "max")
_GEMINI_LEVELS = ("minimal", "low", "medium", "high")
_OPENAI_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
_CLAUDE = re.compile(r"claude-(?:(?:opus|sonnet|haiku)-)?(\d+)(?:[-.](\d{1,2})(?!\d))?")
_GEMINI = re.compile(r"gemini-(\d+)")


@dataclass(frozen=True)
class Requested:
    """A budget read from a request body: tokens, or a level, and the parameter it came in."""

    tokens: int | None = None
    level: str | None = None
    param: str | None = None

    @property
    def budget(self) -> int | None:
        """Reasoning tokens allowed (a level as its :data:`EFFORT_TOKENS`); ``None``: unset."""
        if self.tokens is not None:
            return self.tokens
        return None if self.level is None else EFFORT_TOKENS.get(self.level)


def level_for(tokens: int, levels: tuple[str, ...] = _OPENAI_EFFORTS) -> str:
    """The level of ``levels`` nearest to ``tokens`` on a log scale (0: the lowest level).

    >>> level_for(100), level_for(600), level_for(3000), level_for(10**6), level_for(0)
    ('low', 'medium', 'high', 'xhigh', 'none')
    """
    positive = [lv for lv in levels if EFFORT_TOKENS[lv] > 0]
    if tokens <= 0 or not positive:
        return levels[0]
    return min(
        positive, key=lambda lv: (abs(math.log(EFFORT_TOKENS[lv] / tokens)), -EFFORT_TOKENS[lv])
    )


def tokens_for(level: str) -> int:
    """The reasoning tokens of an effort level, or a :class:`ConfigError` naming the levels."""
    try:
        return EFFORT_TOKENS[level]
    except KeyError:
        raise ConfigError(
            f"Unknown reasoning effort '{level}'. Use one of {', '.join(EFFORT_TOKENS)}."
        ) from None


def _claude_version(model: str) -> tuple[int, int] | None:
    m = _CLAUDE.search(model)
    return None if m is None else (int(m.group(1)), int(m.group(2) or 0))


def anthropic_adaptive(model: str) -> bool:
    """Whether a Claude model takes adaptive thinking (4.6 and later) rather than a budget.

    >>> [anthropic_adaptive(m) for m in ("claude-3-7-sonnet-20250219", "claude-sonnet-4-20250514",
    ...                                   "claude-opus-4-6", "claude-opus-4-7", "claude-sonnet-5")]
    [False, False, True, True, True]
    """
    version = _claude_version(model)
    return version is not None and version >= (4, 6)


def anthropic_rejects_budget(model: str) -> bool:
    """Whether a Claude model refuses ``thinking: {type: "enabled"}`` (4.7 and later).

    >>> anthropic_rejects_budget("claude-opus-4-6"), anthropic_rejects_budget("claude-opus-4-7")
    (False, True)
    """
    version = _claude_version(model)
    return version is not None and version >= (4, 7)


def _gemini_levels(model: str) -> bool:
    m = _GEMINI.search(model)
    return m is not None and int(m.group(1)) >= 3


def reasoning_fields(
    api: str,
    model: str,
    *,
    tokens: int | None = None,
    level: str | None = None,
    max_tokens: int | None = None,
) -> dict[str, Any]:
    """The request fields that ask ``api`` for a reasoning budget (see the module docstring).
    Give ``tokens`` or ``level``; ``max_tokens`` is the output cap (default: budget + room)."""
    if api not in APIS:
        raise ConfigError(f"Unknown API '{api}'. Use one of {', '.join(APIS)}.")
    if (tokens is None) == (level is None):
        raise ConfigError("Give a reasoning budget as tokens or as a level, not both or neither.")
    if tokens is not None and (isinstance(tokens, bool) or tokens < 0):
        raise ConfigError(f"Reasoning budget {tokens!r} is negative. Give tokens >= 0.")
    budget = tokens if tokens is not None else tokens_for(str(level))
    effort = level if level is not None else level_for(budget)
    cap = max_tokens if max_tokens is not None else budget + ANSWER_ROOM
    if api == "openai-chat":
        return {"reasoning_effort": effort, "max_completion_tokens": cap}
    if api == "openai-responses":
        return {"reasoning": {"effort": effort}, "max_output_tokens": cap}
    if api == "anthropic":
        if anthropic_adaptive(model):
            pick = effort if effort in ANTHROPIC_EFFORTS else level_for(budget, ANTHROPIC_EFFORTS)
            return {
                "thinking": {"type": "adaptive"},
                "output_config": {"effort": pick},
                "max_tokens": cap,
            }
        if budget == 0:
            return {"thinking": {"type": "disabled"}, "max_tokens": cap}
        budget = max(1024, budget)  # the API's minimum
        return {
            "thinking": {"type": "enabled", "budget_tokens": budget},
            "max_tokens": max(cap, budget + 1),
        }
    if api == "gemini":
        if _gemini_levels(model):
            pick = effort if effort in _GEMINI_LEVELS else level_for(budget, _GEMINI_LEVELS)
            config: dict[str, Any] = {"thinkingLevel": pick}
        else:
            config = {"thinkingBudget": budget}
        return {"generationConfig": {"thinkingConfig": config, "maxOutputTokens": cap}}
    if api == "vllm":
        return {"thinking_token_budget": budget, "max_tokens": cap}
    return {  # sglang
        "custom_params": {"thinking_budget": budget},
        "chat_template_kwargs": {"enable_thinking": budget > 0},
        "max_tokens": cap,
    }


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def requested_budget(api: str, body: Mapping[str, Any]) -> Requested:
    """The reasoning budget a request body asks for, in any of the APIs' forms (the first found
    of ``api``'s own parameters; OpenAI-compatible servers share the chat fields)."""
    get = body.get
    if api == "gemini":
        gen = get("generationConfig")
        think = gen.get("thinkingConfig") if isinstance(gen, Mapping) else None
        if isinstance(think, Mapping):
            if _int(think.get("thinkingBudget")) is not None:
                return Requested(tokens=think["thinkingBudget"], param="thinkingBudget")
            if isinstance(think.get("thinkingLevel"), str):
                return Requested(level=think["thinkingLevel"].lower(), param="thinkingLevel")
        return Requested()
    if api == "anthropic":
        think = get("thinking")
        if isinstance(think, Mapping):
            if think.get("type") == "enabled" and _int(think.get("budget_tokens")) is not None:
                return Requested(tokens=think["budget_tokens"], param="thinking.budget_tokens")
            if think.get("type") == "disabled":
                return Requested(tokens=0, param="thinking.type")
            out = get("output_config")
            effort = out.get("effort") if isinstance(out, Mapping) else None
            if think.get("type") == "adaptive" and isinstance(effort, str):
                return Requested(level=effort, param="output_config.effort")
        return Requested()
    if api == "openai-responses":
        reasoning = get("reasoning")
        if isinstance(reasoning, Mapping) and isinstance(reasoning.get("effort"), str):
            return Requested(level=reasoning["effort"], param="reasoning.effort")
        return Requested()
    # chat completions: OpenAI, vLLM, SGLang
    if _int(get("thinking_token_budget")) is not None:
        return Requested(tokens=get("thinking_token_budget"), param="thinking_token_budget")
    custom = get("custom_params")
    if isinstance(custom, Mapping) and _int(custom.get("thinking_budget")) is not None:
        return Requested(tokens=custom["thinking_budget"], param="custom_params.thinking_budget")
    if isinstance(get("reasoning_effort"), str):
        return Requested(level=get("reasoning_effort"), param="reasoning_effort")
    return Requested()
