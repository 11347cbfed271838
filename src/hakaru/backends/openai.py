"""The OpenAI-compatible HTTP backend: vLLM, Ollama, llama.cpp server, OpenAI and their kin.

It is a thin client of its own on ``httpx2`` rather than a wrapper of the ``openai`` SDK: the SDK
retries behind our back (every hidden retry is a billed primitive the ledger would miss), hides
vendor extras such as ``reasoning_content``, and costs a second of import time. This backend makes
exactly one HTTP request per :meth:`OpenAIBackend.complete` and never retries; the session owns the
one retry loop, so every attempt becomes its own record. Failures are mapped onto the exception
tree of :mod:`hakaru.errors` (429 → ``RateLimited`` with ``retry_after``, 5xx → ``ServerError``, a
prompt too long → ``ContextOverflow`` …) with messages that name the URL, the status and the next
step, and never the API key: every text that comes from outside (the server's body, an exception's
text) is scrubbed of it before it reaches a message.

Token counts come from the server's ``usage``. When a server leaves them out they are estimated
with :func:`hakaru.tokenizer.count_tokens` and the usage is marked ``source="estimated"``. Mainline
vLLM reports ``completion_tokens`` but no ``reasoning_tokens``; then the reasoning tokens are
estimated from the reasoning text (capped at the reported output) while the reported counts stay
authoritative, so the usage stays ``"reported"``.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import json
import math
import os
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx2

from hakaru.backends.base import register_backend
from hakaru.backends.reasoning_controls import reasoning_fields
from hakaru.errors import (
    BackendError,
    BackendTimeout,
    BadResponse,
    ConfigError,
    ConnectionFailed,
    ContextOverflow,
    RateLimited,
    RequestRejected,
    ServerError,
)
from hakaru.tokenizer import count_tokens
from hakaru.types import ModelSpec, Request, Response, Usage

__all__ = ["OpenAIBackend", "usage_count"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_EXCERPT = 300  # characters of a server's error body quoted in a message

# How OpenAI, vLLM, llama.cpp server and others say "the prompt does not fit the window".
_CONTEXT_OVERFLOW = re.compile(
    r"context_length_exceeded|maximum context length|exceed_context_size"
    r"|exceeds? the (?:available )?context|context (?:length|window|size) (?:is )?exceeded"
    r"|(?:prompt|input) is too long",
    re.IGNORECASE,
)


#: Chat-completions dialects whose reasoning parameter the backend can send
#: (:func:`hakaru.backends.reasoning_controls.reasoning_fields`).
_CHAT_DIALECTS = ("openai-chat", "vllm", "sglang")


class OpenAIBackend:
    """A backend for any server that speaks the OpenAI chat-completions API.

    ``base_url`` ends in ``/v1`` (default: ``$OPENAI_BASE_URL``, then ``$OPENAI_API_BASE``, then
    OpenAI's); ``api_key`` defaults to ``$OPENAI_API_KEY`` and is sent as ``Authorization: Bearer``
    (local servers need none); ``model`` (default ``$HAKARU_MODEL``) answers requests whose model
    is ``""`` or ``"default"``; ``timeout`` bounds one whole attempt in seconds; ``models`` are
    the specs :meth:`model_spec` reports; ``headers`` are sent with every request.

    >>> backend = OpenAIBackend("http://127.0.0.1:8000/v1", model="Qwen/Qwen3-0.6B")
    >>> backend.url
    'http://127.0.0.1:8000/v1/chat/completions'
    """

    #: What differs between the wire formats of a subclass (see backends/anthropic.py): where
    #: the base URL and key come from, the path, how the key is sent, what to call the API.
    BASE_ENVS: tuple[str, ...] = ("OPENAI_BASE_URL", "OPENAI_API_BASE")
    DEFAULT_BASE = DEFAULT_BASE_URL
    KEY_ENV = "OPENAI_API_KEY"
    PATH = "/chat/completions"
    API = "an OpenAI-compatible API (ending in /v1)"

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        timeout: float = 60.0,
        models: Mapping[str, ModelSpec] | Iterable[ModelSpec] | None = None,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 512,
        reasoning_api: str | None = None,
    ) -> None:
        if reasoning_api not in (None, *_CHAT_DIALECTS):
            raise ConfigError(
                f"reasoning_api '{reasoning_api}' is unknown. Use one of "
                f"{', '.join(_CHAT_DIALECTS)}, or None to send no reasoning parameter."
            )
        self.reasoning_api = reasoning_api
        base = (
            base_url
            or next((v for e in self.BASE_ENVS if (v := os.environ.get(e))), None)
            or self.DEFAULT_BASE
        )
        given, base = _hide_userinfo(base), self._base(base.rstrip("/"))
        example = "Give one like http://127.0.0.1:8000/v1."
        try:
            parsed = httpx2.URL(base)
        except httpx2.InvalidURL as exc:
            raise ConfigError(f"Invalid base URL '{given}': {exc}. {example}") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigError(
                f"Invalid base URL '{given}': it needs http:// or https:// and a host. {example}"
            )
        if not timeout > 0:
            raise ConfigError(f"Timeout {timeout} is not positive. Give seconds, e.g. 60.")
        if max_connections < 1:
            raise ConfigError(f"max_connections={max_connections}; give at least 1.")
        self.base_url = base
        self.url = f"{base}{self.PATH}"
        self._api_key = api_key if api_key is not None else os.environ.get(self.KEY_ENV)
        # The URL as messages show it: without any user:password part or key.
        self._shown_url = self._scrub(str(httpx2.URL(self.url).copy_with(userinfo=b"")))
        self.model = model or os.environ.get("HAKARU_MODEL") or None
        self.timeout = float(timeout)
        self.max_connections = max_connections
        if models is None:
            self._models: dict[str, ModelSpec] = {}
        elif isinstance(models, Mapping):
            self._models = dict(models)
        else:
            self._models = {spec.name: spec for spec in models}
        self._headers = {"Content-Type": "application/json", **self._fixed_headers()}
        self._headers.update(headers or {})
        if self._api_key:
            self._headers.update(self._auth(self._api_key))
        self._client: httpx2.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        url = self._scrub(self.base_url)
        name = type(self).__name__
        return f"{name}(base_url={url!r}, model={self.model!r}, api_key={key})"

    # -- the Backend protocol ------------------------------------------------------------------

    def model_spec(self, name: str) -> ModelSpec | None:
        """The spec given in ``models`` for ``name`` (``""``/``"default"``: the default model)."""
        if name in ("", "default") and self.model:
            name = self.model
        return self._models.get(name)

    async def complete(self, request: Request) -> Response:
        """Send one chat completion and return the answer, or raise a ``BackendError``.

        >>> import asyncio
        >>> async def main() -> str:  # doctest: +SKIP
        ...     backend = OpenAIBackend("http://127.0.0.1:8000/v1")
        ...     try:
        ...         return (await backend.complete(Request.chat("Qwen/Qwen3-0.6B", "Hi"))).text
        ...     finally:
        ...         await backend.aclose()
        """
        model = self._resolve_model(request.model)
        body = self._body(request, model)
        client = self._get_client()
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                http = await client.post(self.url, json=body, headers=self._headers)
        except (TimeoutError, httpx2.TimeoutException):
            raise BackendTimeout(
                f"No complete answer from {self._shown_url} within {self.timeout:g} s. "
                "Raise the timeout (timeout=, --timeout) for long generations or lower "
                "max_tokens; the session retries timeouts."
            ) from None
        except httpx2.ConnectError as exc:
            raise ConnectionFailed(
                f"Could not connect to {self._shown_url}: {self._describe(exc)}. "
                "Start the server (e.g. `vllm serve`, `ollama serve`) or fix the base URL "
                f"(--base-url, {self.BASE_ENVS[0]})."
            ) from None
        except (httpx2.TransportError, httpx2.DecodingError, httpx2.StreamError) as exc:
            raise ConnectionFailed(
                f"The connection to {self._shown_url} broke before the full answer arrived: "
                f"{self._describe(exc)}. The session retries it; if it keeps happening, "
                "check the server's logs."
            ) from None
        latency = time.perf_counter() - started
        if not 200 <= http.status_code < 300:
            raise self._status_error(http, model)
        return self._parse(http, request, model, latency)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        if self._client is not None:
            client, self._client, self._loop = self._client, None, None
            await client.aclose()

    # -- the wire format (overridden by a backend for another API) -----------------------------

    def _base(self, base: str) -> str:
        """The base URL as the backend keeps it (here: as given, ending in /v1)."""
        return base

    def _fixed_headers(self) -> dict[str, str]:
        """Headers the API requires with every request (none here)."""
        return {}

    def _auth(self, key: str) -> dict[str, str]:
        """The headers that carry the API key."""
        return {"Authorization": f"Bearer {key}"}

    def _body(self, request: Request, model: str) -> dict[str, Any]:
        """The JSON body of one request."""
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "temperature": request.temperature,
        }
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.seed is not None:
            body["seed"] = request.seed
        if self.reasoning_api is not None and request.reasoning_budget is not None:
            if self.reasoning_api == "openai-chat":  # OpenAI's reasoning models refuse max_tokens
                body.pop("max_tokens", None)
            body.update(
                reasoning_fields(
                    self.reasoning_api, model, tokens=request.reasoning_budget,
                    max_tokens=request.max_tokens,
                )
            )  # fmt: skip
        return body

    # -- helpers ---------------------------------------------------------------------------------

    def _resolve_model(self, name: str) -> str:
        if name not in ("", "default"):
            return name
        if self.model:
            return self.model
        raise ConfigError(
            "No model given for the OpenAI-compatible backend. Name one in the request, "
            "pass model= (--model) or set HAKARU_MODEL."
        )

    def _get_client(self) -> httpx2.AsyncClient:
        # A pooled connection belongs to the event loop that opened it; a second asyncio.run()
        # (the synchronous facade does that) gets a fresh pool instead of a dead socket.
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            limits = httpx2.Limits(
                max_connections=self.max_connections,
                max_keepalive_connections=self.max_connections,
            )
            self._client = httpx2.AsyncClient(timeout=self.timeout, limits=limits)
            self._loop = loop
        return self._client

    def _scrub(self, text: str) -> str:
        """``text`` with the API key (and a user:password in a URL) cut out."""
        if self._api_key:
            text = text.replace(self._api_key, "***")
        return _hide_userinfo(text)

    def _describe(self, exc: BaseException) -> str:
        """What went wrong on the wire: the operating system's words when it had any
        ("Connection refused"), else the first non-empty message down the exception chain."""
        chain: list[BaseException] = []
        link: BaseException | None = exc
        while link is not None and len(chain) < 16:
            chain.append(link)
            link = link.__cause__ or link.__context__
        for link in chain:
            if isinstance(link, OSError) and link.errno is not None:
                text = os.strerror(link.errno) if link.errno > 0 else str(link.strerror)
                return self._scrub(text)
        text = next((str(link) for link in chain if str(link)), type(exc).__name__)
        return self._scrub(text)

    def _excerpt(self, http: httpx2.Response) -> str:
        """The server's own words about an error: ``error.message`` if it sent JSON, else text."""
        text = http.content.decode("utf-8", errors="replace")
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            error = data.get("error")
            if isinstance(error, dict) and error.get("message"):
                text = str(error["message"])
                if error.get("code") and not isinstance(error["code"], int):
                    text += f" (code {error['code']})"
            elif isinstance(error, str):
                text = error
            elif data.get("message"):
                text = str(data["message"])
            elif data.get("detail"):
                text = json.dumps(data["detail"])
        text = " ".join(text.split())
        if len(text) > _EXCERPT:
            text = text[:_EXCERPT] + "…"
        return self._scrub(text) or "(empty body)"

    def _status_error(self, http: httpx2.Response, model: str) -> BackendError:
        status = http.status_code
        where = f"{self._shown_url} answered HTTP {status}"
        said = self._excerpt(http)
        body = http.content.decode("utf-8", errors="replace")
        if status == 429:
            retry_after = _retry_after(http.headers)
            wait = f"; it asks to wait {retry_after:g} s" if retry_after is not None else ""
            return RateLimited(
                f"Rate limited: {where} ({said}){wait}. The session retries it; lower the "
                "concurrency or the requests per minute if it keeps happening.",
                status=status,
                retry_after=retry_after,
            )
        if status >= 500:
            return ServerError(
                f"Server error: {where} ({said}). The session retries it; if it keeps "
                "happening, check the server's logs.",
                status=status,
            )
        if 400 <= status < 500 and _CONTEXT_OVERFLOW.search(body):
            return ContextOverflow(
                f"The prompt does not fit the context window of model '{model}': {where} "
                f"({said}). Shorten the prompt, lower max_tokens, or use a model with a larger "
                "context window.",
                status=status,
            )
        if status == 401:
            return RequestRejected(
                f"Unauthorized: {where} ({said}). Set {self.KEY_ENV} or pass --api-key "
                "(api_key=) with a valid key for this server.",
                status=status,
            )
        if status == 403:
            hint = "Use a key that has access to this model, or another model."
        elif status == 404:
            hint = (
                f"Check the base URL (it usually ends in /v1) and that the server serves "
                f"model '{model}'."
            )
        elif 300 <= status < 400:
            target = self._scrub(http.headers.get("location", "elsewhere"))
            hint = f"The server redirects to {target}; use that as the base URL."
        else:
            hint = "Fix the request (model name, parameters); retrying will not help."
        return RequestRejected(f"Request rejected: {where} ({said}). {hint}", status=status)

    def _bad(self, http: httpx2.Response, what: str) -> BadResponse:
        text = " ".join(http.content.decode("utf-8", errors="replace").split())
        if len(text) > 120:
            text = text[:120] + "…"
        return BadResponse(
            f"{self._shown_url} answered HTTP {http.status_code} with {what}: "
            f"{self._scrub(text) or '(empty body)'}. Check that the base URL points at "
            f"{self.API}; the session retries it.",
            status=http.status_code,
        )

    def _object(self, http: httpx2.Response) -> dict[str, Any]:
        """The answer's JSON object, or a :class:`BadResponse` saying what came instead."""
        try:
            data = json.loads(http.content)
        except ValueError:
            raise self._bad(http, "a body that is not JSON") from None
        if not isinstance(data, dict):
            raise self._bad(http, "JSON that is not an object")
        return data

    def _parse(
        self, http: httpx2.Response, request: Request, model: str, latency: float
    ) -> Response:
        data = self._object(http)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self._bad(http, "no choices")
        message = choices[0].get("message")
        if not isinstance(message, dict):
            raise self._bad(http, "a choice without a message")
        text = _text(message.get("content"))
        reasoning = _text(message.get("reasoning_content")) or _text(message.get("reasoning"))
        finish = choices[0].get("finish_reason")
        return Response(
            text=text,
            usage=_usage(data.get("usage"), request, text, reasoning),
            model=str(data.get("model") or model),
            finish_reason=str(finish) if finish is not None else "",
            latency=latency,
            reasoning=reasoning,
        )


def _hide_userinfo(text: str) -> str:
    """``text`` with any ``user:password@`` of a URL in it replaced by ``***@``."""
    return re.sub(r"(https?://)[^/@\s]+@", r"\1***@", text)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def usage_count(data: Any, *path: str) -> int | None:
    """A non-negative integer at ``data[path[0]][path[1]]…`` of an OpenAI ``usage`` object;
    ``None`` when absent or null (also used by the recording proxy)."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    if isinstance(data, bool) or not isinstance(data, int | float) or data < 0:
        return None
    return int(data)


def _usage(raw: Any, request: Request, text: str, reasoning: str) -> Usage:
    """Usage from the server's ``usage`` object, estimating what it leaves out."""
    reported_in = usage_count(raw, "prompt_tokens")
    reported_out = usage_count(raw, "completion_tokens")
    estimated = reported_in is None or reported_out is None
    input_tokens = reported_in if reported_in is not None else count_tokens(request.prompt_text())
    reasoning_guess = count_tokens(reasoning)
    output_tokens = (
        reported_out if reported_out is not None else count_tokens(text) + reasoning_guess
    )
    reasoning_tokens = usage_count(raw, "completion_tokens_details", "reasoning_tokens")
    if reasoning_tokens is None:
        reasoning_tokens = reasoning_guess
    # OpenAI's prompt_tokens include the cached ones (prompt_tokens_details.cached_tokens)
    cached = usage_count(raw, "prompt_tokens_details", "cached_tokens") or 0
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        reasoning_tokens=min(reasoning_tokens, output_tokens),  # counted inside the output
        cache_read_tokens=min(cached, input_tokens),  # counted inside the input
        source="estimated" if estimated else "reported",
    )


def _retry_after(headers: httpx2.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).

    >>> _retry_after(httpx2.Headers({"Retry-After": "2"}))
    2.0
    >>> _retry_after(httpx2.Headers({"retry-after-ms": "250"}))
    0.25
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000.0
        except ValueError:
            value = -1.0
        if math.isfinite(value) and value >= 0:
            return value
    after = headers.get("retry-after")
    if after is None:
        return None
    try:
        seconds = float(after)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(after)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": UTC by RFC 5322
            when = when.replace(tzinfo=datetime.UTC)
        return max(0.0, when.timestamp() - time.time())
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


register_backend("openai", OpenAIBackend)
