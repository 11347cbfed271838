"""The simulated LLM as an HTTP server (``hakaru sim serve``): OpenAI's API and Anthropic's.

It answers ``/v1/chat/completions`` (streaming too, as server-sent events, with the usage in a
final chunk when ``stream_options.include_usage`` is set), ``/v1/completions``, ``/v1/models``
and Anthropic's ``/v1/messages`` (:mod:`hakaru.proxy.sim_messages`) from a
:class:`~hakaru.backends.sim.SimBackend`, so any program written for either API — the openai
and anthropic SDKs, LangGraph, the OpenAI Agents SDK, pydantic-ai — runs against a
deterministic, free LLM. Prompt caching is simulated as each provider bills it
(:mod:`hakaru.proxy.prompt_cache`), and so is reasoning (:mod:`hakaru.proxy.sim_reasoning`):
each API's own budget parameter — OpenAI's ``reasoning_effort`` and ``max_completion_tokens``,
vLLM's ``thinking_token_budget``, SGLang's ``custom_params.thinking_budget`` on chat
completions, ``reasoning.effort`` on ``/v1/responses`` (:mod:`hakaru.proxy.sim_responses`),
Anthropic's ``thinking`` (both forms, by model), Gemini's ``thinkingBudget`` /
``thinkingLevel`` on ``/v1beta/models/{model}:generateContent`` (:mod:`hakaru.proxy.sim_gemini`)
— honoured, ignored or starving the answer as the server's reasoning mode says, with the
reasoning tokens in each API's own usage fields.

A prompt the server *recognises* as a task kind of :mod:`hakaru.tasks` (the ``sum`` prompt,
``"Add these numbers: 1, 2, 3"``) gets that task's answer, spoiled only by the model's error
model; any other prompt gets the ``generic`` kind's deterministic filler text, whose length
follows a configurable lognormal distribution. A task kind that defines
``recognise(messages) -> payload | None`` is recognised too. A request naming a model outside
the simulated catalog is answered by the default model (``sim-oracle``: never wrong) under the
name it asked for, and the response says so: header ``X-Hakaru-Sim-Model`` names the model
that answered, ``X-Hakaru-Sim-Generic: 1`` marks a name outside the catalog. Faults
(:mod:`hakaru.proxy.faults`) are drawn per request. ``GET /hakaru/stats`` reports how many
requests were answered, which faults were injected, and the tokens the server billed per token
class (``tokens``: input — every prompt token —, cache_read, cache_write, output — every
generated token —, reasoning), streamed answers included whether or not they reported usage.

It is an aiohttp application served by :func:`hakaru.proxy.serving.listen`, which bounds what
a client may send (sizes, timeouts, JSON depth); every other path is a 404 in OpenAI's error
format.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Mapping
from typing import Any, Protocol

from aiohttp import web

from hakaru.backends.sim import SimBackend  # noqa: F401 (the doctest of SimServer uses it)
from hakaru.proxy.faults import FaultInjector, FaultPlan
from hakaru.proxy.prompt_cache import PromptCache
from hakaru.proxy.serving import (
    BadBody,
    DropConnection,
    ServerLimits,
    json_response,
    read_json,
)
from hakaru.proxy.sim_messages import answer_messages
from hakaru.proxy.sim_openai import answer_openai, openai_error
from hakaru.proxy.sim_reasoning import ReasoningSim
from hakaru.proxy.sim_responses import answer_gemini, answer_responses
from hakaru.types import Request, Response

__all__ = ["ServedBackend", "SimServer"]

_WORD = re.compile(r"\S+\s*")
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_CLASSES = ("input", "output", "reasoning", "cache_read", "cache_write")  # tokens billed


class _Spec(Protocol):
    @property
    def context_window(self) -> int: ...


class ServedBackend(Protocol):
    """What the server needs of a backend: the simulator, or the tiny neural model
    (``hakaru sim serve --neural``, :class:`hakaru.neural.backend.NeuralBackend`)."""

    seed: int

    @property
    def models(self) -> Mapping[str, _Spec]: ...

    def model(self, name: str) -> object: ...

    def reseed(self, seed: int) -> None: ...

    async def complete(self, request: Request) -> Response: ...


def _anthropic_error(
    status: int, message: str, kind: str, code: str | None = None, param: str | None = None
) -> web.Response:
    """An error as Anthropic's API writes it."""
    kind = {"server_error": "api_error"}.get(kind, kind)
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return json_response(status, _dumps(body).encode())


class SimServer:
    """``hakaru sim serve``: the simulated LLM's routes, served by
    :func:`~hakaru.proxy.serving.listen`.

    >>> import asyncio, urllib.request
    >>> from hakaru.proxy.serving import listen
    >>> async def main() -> str:
    ...     server = await listen(SimServer(SimBackend(seed=0)))
    ...     body = b'{"model": "m", "messages": [{"role": "user", "content": "Add these numbers: 2, 3"}]}'
    ...     req = urllib.request.Request(server.url + "/v1/chat/completions", data=body)
    ...     reply = await asyncio.to_thread(lambda: urllib.request.urlopen(req).read())
    ...     await server.close()
    ...     return json.loads(reply)["choices"][0]["message"]["content"]
    >>> asyncio.run(main())
    'sum = 5'
    """  # noqa: E501

    def __init__(
        self,
        backend: ServedBackend,
        *,
        default_model: str = "sim-oracle",
        faults: FaultPlan | None = None,
        stream_words: int = 4,
        limits: ServerLimits | None = None,
        reasoning: ReasoningSim | None = None,
    ) -> None:
        backend.model(default_model)  # a ConfigError naming the known models if unknown
        self.backend = backend
        self.default_model = default_model
        self.faults = FaultInjector(faults or FaultPlan())
        self.stream_words = max(1, stream_words)
        self.limits = limits or ServerLimits()
        self.reasoning = reasoning or ReasoningSim()
        self.requests = 0  # requests received on the completion endpoints
        self.answered = 0  # of which answered with a completion (200 and valid JSON)
        self.tokens = dict.fromkeys(_CLASSES, 0)  # billed, per token class
        self.cache = PromptCache()
        self.created = int(time.time())
        self._next_id = 0
        self._first_seed = backend.seed

    def reseed(self, offset: int) -> int:
        """Answer with the backend's first seed plus ``offset`` from now on; return that seed.

        ``hakaru profile --sim`` gives each repeat its own seed, so that repeats differ.
        """
        seed = self._first_seed + offset
        self.backend.reseed(seed)
        return seed

    # -- routing -----------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """The OpenAI routes it answers, and its statistics."""

        async def chat(request: web.Request) -> web.StreamResponse:
            return await self._complete(request, "chat")

        async def completions(request: web.Request) -> web.StreamResponse:
            return await self._complete(request, "completion")

        async def messages(request: web.Request) -> web.StreamResponse:
            return await self._complete(request, "messages")

        async def responses(request: web.Request) -> web.StreamResponse:
            return await self._complete(request, "responses")

        async def gemini(request: web.Request) -> web.StreamResponse:
            return await self._complete(request, "gemini")

        async def stats(request: web.Request) -> web.Response:
            return json_response(200, _dumps(self.stats()).encode())

        return [
            web.post("/v1/chat/completions", chat),
            web.post("/v1/completions", completions),
            web.post("/v1/messages", messages),
            web.post("/v1/responses", responses),
            web.post("/v1beta/models/{name:[^/:]+}:generateContent", gemini),
            web.get("/v1/models", self._models),
            web.get("/v1/models/{name}", self._model),
            web.get("/hakaru/stats", stats),
            web.get("/health", stats),
        ]

    def error(self, status: int, message: str) -> web.Response:
        """An OpenAI-style error (for paths and methods it does not serve)."""
        if status == 404:
            message += (
                ". The simulated server answers POST /v1/chat/completions, POST /v1/completions, "
                "POST /v1/messages, POST /v1/responses, "
                "POST /v1beta/models/{model}:generateContent and GET /v1/models"
            )
            return openai_error(404, message + ".", "invalid_request_error", code="not_found")
        return openai_error(status, message + ".", "invalid_request_error")

    def stats(self) -> dict[str, Any]:
        """Requests received and answered, the faults injected, the tokens billed per class."""
        return {
            "requests": self.requests,
            "answered": self.answered,
            "faults": self.faults.counts,
            "tokens": dict(self.tokens),
        }

    def bill(self, n_in: int, out: int, reasoning: int, read: int, write: int) -> None:
        """Count what one answered request billed, per token class."""
        for key, n in zip(_CLASSES, (n_in, out, reasoning, read, write), strict=True):
            self.tokens[key] += n

    async def _models(self, request: web.Request) -> web.Response:
        data = [self._model_entry(name) for name in sorted(self.backend.models)]
        return json_response(200, _dumps({"object": "list", "data": data}).encode())

    async def _model(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.backend.models:
            return openai_error(404, f"The model '{name}' does not exist.", "invalid_request_error")
        return json_response(200, _dumps(self._model_entry(name)).encode())

    def _model_entry(self, name: str) -> dict[str, Any]:
        spec = self.backend.models[name]
        return {
            "id": name,
            "object": "model",
            "created": self.created,
            "owned_by": "hakaru-sim",
            "max_model_len": spec.context_window,
        }

    # -- completions -------------------------------------------------------------------------

    async def _complete(self, http: web.Request, api: str) -> web.StreamResponse:
        chat = api == "chat"
        error = _anthropic_error if api == "messages" else openai_error
        self.requests += 1
        fault = self.faults.draw()
        try:  # read first: a connection is reused only after its body was read
            _, body = await read_json(http, self.limits)
            bad = None
        except BadBody as exc:
            body, bad = None, exc
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.kind == "429":
            wait = self.faults.plan.retry_after
            response = error(
                429,
                "Rate limit reached for requests (simulated). Retry after the Retry-After delay.",
                "rate_limit_error",
                code="rate_limit_exceeded",
            )
            response.headers["retry-after"] = f"{wait:g}"
            response.headers["retry-after-ms"] = f"{round(wait * 1000)}"
            return response
        if fault.kind == "500":
            return error(500, "The server had an error (simulated).", "server_error")
        if bad is not None:
            why = str(bad)
            return error(bad.status, f"{why[:1].upper()}{why[1:]}.", "invalid_request_error")
        if fault.kind == "drop" and not (isinstance(body, dict) and body.get("stream")):
            raise DropConnection
        if api == "messages":
            return await answer_messages(self, http, body, fault)
        if api == "responses":
            return await answer_responses(self, body)
        if api == "gemini":
            return await answer_gemini(self, http.match_info["name"], body)
        return await answer_openai(self, http, body, fault, chat=chat)

    def next_id(self, prefix: str) -> str:
        """A new response id."""
        self._next_id += 1
        return f"{prefix}-sim{self._next_id}"

    def model_headers(self, asked: str, answered: str) -> dict[str, str]:
        """The headers that say which simulated model answered a request for ``asked``."""
        headers = {"x-hakaru-sim-model": answered}
        if asked not in self.backend.models:
            headers["x-hakaru-sim-generic"] = "1"
        return headers

    def sim_model(self, name: str) -> str:
        """The simulated model that answers requests for ``name``."""
        return name if name in self.backend.models else self.default_model
