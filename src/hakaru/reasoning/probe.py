"""Does a server honour a reasoning budget? Calibrated requests, one verdict per parameter.

A budget sent in a form the server does not know is usually dropped without an error (vLLM's
``thinking_token_budget`` passed wrongly, SGLang's budget without its logit processor, an
Anthropic budget on a model that wants adaptive thinking). :func:`probe` finds out for one
server and model: for each reasoning parameter of the API
(:func:`~hakaru.backends.reasoning_controls.reasoning_fields`) it first sends a *reference*
request with a generous budget — how much the model reasons when the budget does not bind —
then requests at smaller budgets, each with an output cap of the budget plus ``room`` (8,192
tokens by default: room for the answer even if the budget is ignored), and reads the reasoning
tokens from the API's own usage fields (Anthropic reports none apart: its thinking text is
counted). Verdicts:

- ``starved`` — some answer never came: the reasoning used up the output cap (a cut
  ``finish_reason`` and no answer text) — the budget is not enforced and even ``room`` tokens
  beyond it were not enough; a lower ``--room`` (e.g. 1,024, the translation's default cap)
  shows whether a client's usual cap would starve;
- ``honoured`` — every token budget that could bind was kept to within ``tolerance``
  (reasoning ≤ budget · (1 + tolerance)); for effort levels, the lower level reasoned visibly
  less than the reference (below ``1 − tolerance`` of it);
- ``ignored`` — a binding budget was exceeded, or a lower level reasoned as much as the reference;
- ``inconclusive`` — the model reasoned less than the smallest budget even unconstrained (no
  budget bound), or reported no reasoning tokens at all.

>>> verdict([ProbeCall("p", "ref", 8192, 3000, 3010, True, "stop"),
...          ProbeCall("p", "1024", 1024, 1024, 1034, True, "stop")], tolerance=0.1)
('honoured', 'reasoning within 10 % of every binding budget')
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from hakaru.backends.reasoning_controls import (
    EFFORT_TOKENS,
    anthropic_adaptive,
    reasoning_fields,
)
from hakaru.errors import BackendError, ConfigError
from hakaru.tokenizer import count_tokens

__all__ = ["PROBE_APIS", "ProbeCall", "ProbeResult", "probe", "verdict"]

PROBE_APIS = ("openai-chat", "openai-responses", "anthropic", "gemini", "vllm", "sglang")
_PROMPT = "Think it through, then answer: how many prime numbers are there below 100?"
_REFERENCE = 16384  # tokens: a budget that should not bind


@dataclass(frozen=True)
class ProbeCall:
    """One calibrated request and what came back."""

    param: str
    asked: str  # the budget as sent: tokens, or a level; "ref" marks the reference request
    budget: int  # tokens the request allowed for reasoning
    reasoning: int  # reasoning tokens the server reported (Anthropic: counted)
    output: int  # output tokens, reasoning included
    answered: bool
    finish: str


@dataclass(frozen=True)
class ProbeResult:
    """The verdict on one parameter, why, and its calls."""

    api: str
    model: str
    param: str
    verdict: str
    detail: str
    calls: tuple[ProbeCall, ...]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "calls": [asdict(c) for c in self.calls]}


def verdict(
    calls: Sequence[ProbeCall], tolerance: float = 0.1, levels: bool = False
) -> tuple[str, str]:
    """(verdict, why) for one parameter's calls, the reference first (see the module docstring)."""
    starved = [c for c in calls if not c.answered]
    if starved:
        c = starved[0]
        return "starved", (
            f"no answer at {c.asked}: {c.reasoning} reasoning tokens of an output of {c.output} "
            f"(finish {c.finish})"
        )
    ref, rest = calls[0], calls[1:]
    if all(c.reasoning == 0 for c in calls):
        return "inconclusive", "the server reported no reasoning tokens"
    if levels:
        same = [c for c in rest if c.reasoning >= (1 - tolerance) * ref.reasoning]
        if same:
            return "ignored", (
                f"{same[0].asked} reasoned {same[0].reasoning} tokens, as much as {ref.asked} "
                f"({ref.reasoning})"
            )
        return "honoured", f"lower levels reasoned less than {ref.asked} ({ref.reasoning} tokens)"
    binding = [c for c in rest if c.budget < ref.reasoning]
    if not binding:
        return "inconclusive", (
            f"unconstrained the model reasoned {ref.reasoning} tokens, below every budget tried"
        )
    over = [c for c in binding if c.reasoning > c.budget * (1 + tolerance)]
    if over:
        c = over[0]
        return "ignored", f"{c.reasoning} reasoning tokens against a budget of {c.budget}"
    return "honoured", f"reasoning within {100 * tolerance:.0f} % of every binding budget"


def _endpoint(api: str, base: str, model: str) -> str:
    base = base.rstrip("/")
    if api == "gemini":
        return f"{base.removesuffix('/v1')}/v1beta/models/{model}:generateContent"
    if not base.endswith("/v1"):
        base += "/v1"
    return base + {"anthropic": "/messages", "openai-responses": "/responses"}.get(
        api, "/chat/completions"
    )


def _body(api: str, model: str, fields: dict[str, Any]) -> dict[str, Any]:
    if api == "gemini":
        gen = fields["generationConfig"]
        gen["thinkingConfig"]["includeThoughts"] = True
        return {"contents": [{"role": "user", "parts": [{"text": _PROMPT}]}], **fields}
    if api == "openai-responses":
        return {"model": model, "input": _PROMPT, **fields}
    return {"model": model, "messages": [{"role": "user", "content": _PROMPT}], **fields}


def _read(api: str, data: dict[str, Any]) -> tuple[int, int, bool, str]:
    """(reasoning tokens, output tokens, answered, finish) from an API's answer."""
    if api == "gemini":
        cand = (data.get("candidates") or [{}])[0]
        parts = (cand.get("content") or {}).get("parts") or []
        meta = data.get("usageMetadata") or {}
        think = int(meta.get("thoughtsTokenCount") or 0)
        text = "".join(p.get("text", "") for p in parts if not p.get("thought"))
        out = int(meta.get("candidatesTokenCount") or 0) + think
        return think, out, bool(text.strip()), str(cand.get("finishReason"))
    if api == "anthropic":
        blocks = data.get("content") or []
        think = sum(
            count_tokens(b.get("thinking", "")) for b in blocks if b.get("type") == "thinking"
        )
        text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        out = int((data.get("usage") or {}).get("output_tokens") or 0)
        return think, out, bool(text.strip()), str(data.get("stop_reason"))
    usage = data.get("usage") or {}
    if api == "openai-responses":
        think = int((usage.get("output_tokens_details") or {}).get("reasoning_tokens") or 0)
        text = "".join(
            c.get("text", "")
            for item in data.get("output") or []
            if item.get("type") == "message"
            for c in item.get("content") or []
        )
        return (
            think,
            int(usage.get("output_tokens") or 0),
            bool(text.strip()),
            str(data.get("status")),
        )
    choice = (data.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    reported = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    think = (
        reported
        if isinstance(reported, int)
        else count_tokens(  # vLLM, SGLang: counted
            str(message.get("reasoning_content") or message.get("reasoning") or "")
        )
    )
    text = str(message.get("content") or "")
    return (
        int(think),
        int(usage.get("completion_tokens") or 0),
        bool(text.strip()),
        str(choice.get("finish_reason")),
    )


def _plan(
    api: str, model: str, budgets: Sequence[int], room: int
) -> tuple[str, bool, list[tuple[str, dict[str, Any], int]]]:
    """The parameter probed, whether it takes levels, and (asked, fields, budget) per request,
    the reference first."""

    def tokens(b: int) -> tuple[str, dict[str, Any], int]:
        return str(b), reasoning_fields(api, model, tokens=b, max_tokens=b + room), b

    def level(name: str) -> tuple[str, dict[str, Any], int]:
        b = EFFORT_TOKENS[name]
        return name, reasoning_fields(api, model, level=name, max_tokens=b + room), b

    ref_tokens = ("ref", *tokens(_REFERENCE)[1:])
    if api in ("openai-chat", "openai-responses"):
        return ("reasoning_effort" if api == "openai-chat" else "reasoning.effort", True,
                [level("high"), level("low"), level("medium")])  # fmt: skip
    if api == "anthropic" and anthropic_adaptive(model):
        return "output_config.effort", True, [level("high"), level("low"), level("medium")]
    if api == "gemini" and "thinkingLevel" in str(reasoning_fields(api, model, tokens=1)):
        return "thinkingLevel", True, [level("high"), level("low")]
    param = {
        "anthropic": "thinking.budget_tokens",
        "gemini": "thinkingBudget",
        "vllm": "thinking_token_budget",
        "sglang": "custom_params.thinking_budget",
    }[api]
    return param, False, [ref_tokens, *(tokens(b) for b in budgets)]


def probe(
    api: str,
    base_url: str,
    model: str,
    *,
    api_key: str | None = None,
    budgets: Sequence[int] = (1024, 2048),
    tolerance: float = 0.1,
    room: int = 8192,
    timeout: float = 120.0,
) -> ProbeResult:
    """Probe one server's reasoning parameter for ``model`` (see the module docstring)."""
    import httpx2

    if api not in PROBE_APIS:
        raise ConfigError(f"Unknown API '{api}'. Use one of {', '.join(PROBE_APIS)}.")
    if not budgets or any(b < 1 for b in budgets):
        raise ConfigError(f"Budgets {tuple(budgets)} must be positive token counts.")
    if room < 1:
        raise ConfigError(f"room is {room}. Give the answer's room in tokens >= 1.")
    param, levels, plan = _plan(api, model, budgets, room)
    url = _endpoint(api, base_url, model)
    headers = {"content-type": "application/json"}
    if api_key:
        if api == "anthropic":
            headers["x-api-key"] = api_key
        elif api == "gemini":
            headers["x-goog-api-key"] = api_key
        else:
            headers["authorization"] = f"Bearer {api_key}"
    if api == "anthropic":
        headers["anthropic-version"] = "2023-06-01"
    calls = []
    with httpx2.Client(timeout=timeout) as client:
        for asked, fields, budget in plan:
            try:
                reply = client.post(
                    url, headers=headers, content=json.dumps(_body(api, model, fields))
                )
            except httpx2.HTTPError as exc:
                raise BackendError(f"The probe could not reach {url}: {exc}.") from None
            if reply.status_code != 200:
                raise BackendError(
                    f"{url} answered {reply.status_code} to {param}={asked}: "
                    f"{reply.text[:300]}. Check --backend, --model and the base URL."
                )
            think, out, answered, finish = _read(api, reply.json())
            calls.append(ProbeCall(param, asked, budget, think, out, answered, finish))
    name, why = verdict(calls, tolerance, levels)
    return ProbeResult(api, model, param, name, why, tuple(calls))
