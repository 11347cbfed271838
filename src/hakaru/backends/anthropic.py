"""The Anthropic Messages API backend (``Session("anthropic")``, ``--backend anthropic``).

It is the OpenAI backend's client (:class:`~hakaru.backends.openai.OpenAIBackend`: one HTTP
request per attempt on httpx2, no hidden retries, the same error mapping and key scrubbing)
speaking Anthropic's wire format: ``POST {base}/v1/messages`` with ``x-api-key`` (default
``$ANTHROPIC_API_KEY``) and ``anthropic-version``; system messages go to ``system``;
``max_tokens`` is required there (4,096 when the request sets none); a request's
``reasoning_budget`` turns thinking on in the model's own form
(:func:`hakaru.backends.reasoning_controls.reasoning_fields`): that many ``budget_tokens`` (at
least 1,024, as the API requires) before Claude 4.6, adaptive thinking with the nearest effort
from 4.6 on. The answer's text blocks are the response text, its thinking blocks the
reasoning; usage is normalised to hakaru's token classes — Anthropic's ``input_tokens`` leave
out ``cache_creation_input_tokens`` and ``cache_read_input_tokens``, hakaru's input counts
them — and the reasoning tokens, which Anthropic does not count apart, are estimated from the
thinking text (capped at the reported output).
"""

from __future__ import annotations

from typing import Any

import httpx2

from hakaru.backends.base import register_backend
from hakaru.backends.openai import OpenAIBackend, usage_count
from hakaru.backends.reasoning_controls import reasoning_fields
from hakaru.tokenizer import count_tokens
from hakaru.types import Request, Response, Usage

__all__ = ["AnthropicBackend"]

VERSION = "2023-06-01"  # the anthropic-version header every current model accepts
_STOP = {"end_turn": "stop", "max_tokens": "length", "stop_sequence": "stop", "tool_use": "tool"}


class AnthropicBackend(OpenAIBackend):
    """A backend for Anthropic's Messages API (or a server that speaks it: ``hakaru sim
    serve``, the recording proxy).

    ``base_url`` is the API's root, with or without ``/v1`` (default ``$ANTHROPIC_BASE_URL``,
    then Anthropic's); the other options are :class:`OpenAIBackend`'s.

    >>> AnthropicBackend("http://127.0.0.1:8000", api_key="k").url
    'http://127.0.0.1:8000/v1/messages'
    """

    BASE_ENVS = ("ANTHROPIC_BASE_URL",)
    DEFAULT_BASE = "https://api.anthropic.com"
    KEY_ENV = "ANTHROPIC_API_KEY"
    PATH = "/messages"
    API = "Anthropic's Messages API"

    def _fixed_headers(self) -> dict[str, str]:
        return {"anthropic-version": VERSION}

    def _base(self, base: str) -> str:
        return base if base.endswith("/v1") else base + "/v1"

    def _auth(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def _body(self, request: Request, model: str) -> dict[str, Any]:
        system = "\n".join(m.content for m in request.messages if m.role == "system")
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": request.max_tokens or 4096,
            "messages": [
                {"role": m.role, "content": m.content}
                for m in request.messages
                if m.role != "system"
            ],
            "temperature": min(request.temperature, 1.0),
        }
        if system:
            body["system"] = system
        if request.reasoning_budget:
            body.update(
                reasoning_fields(
                    "anthropic", model, tokens=request.reasoning_budget,
                    max_tokens=body["max_tokens"],
                )
            )  # fmt: skip
            body["temperature"] = 1.0  # thinking requires it
        return body

    def _parse(
        self, http: httpx2.Response, request: Request, model: str, latency: float
    ) -> Response:
        data = self._object(http)
        if not isinstance(data.get("content"), list):
            raise self._bad(http, "JSON that is not a message")
        texts, thinking = [], []
        for block in data["content"]:
            if isinstance(block, dict):
                if block.get("type") == "text" and isinstance(block.get("text"), str):
                    texts.append(block["text"])
                elif block.get("type") == "thinking" and isinstance(block.get("thinking"), str):
                    thinking.append(block["thinking"])
        text, reasoning = "".join(texts), "".join(thinking)
        raw = data.get("usage")
        uncached = usage_count(raw, "input_tokens")
        out = usage_count(raw, "output_tokens")
        read = usage_count(raw, "cache_read_input_tokens") or 0
        write = usage_count(raw, "cache_creation_input_tokens") or 0
        estimated = uncached is None or out is None
        n_in = (
            (uncached + read + write)
            if uncached is not None
            else count_tokens(request.prompt_text())
        )
        n_out = out if out is not None else count_tokens(text) + count_tokens(reasoning)
        stop = data.get("stop_reason")
        return Response(
            text=text,
            usage=Usage(
                input_tokens=n_in,
                output_tokens=n_out,
                reasoning_tokens=min(count_tokens(reasoning), n_out),
                cache_read_tokens=min(read, n_in),
                cache_write_tokens=min(write, n_in - min(read, n_in)),
                source="estimated" if estimated else "reported",
            ),
            model=str(data.get("model") or model),
            finish_reason=_STOP.get(str(stop), str(stop or "")),
            latency=latency,
            reasoning=reasoning,
        )


register_backend("anthropic", AnthropicBackend)
