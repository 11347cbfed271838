"""The recording proxy: forward OpenAI-compatible traffic to any upstream, record every call.

Each ``POST`` to ``/v1/chat/completions``, ``/v1/completions`` or ``/v1/embeddings`` becomes one
:class:`~hakaru.types.CallRecord` in the run store, whatever happens to it: answered (``ok``),
refused or failed upstream (``error``, with the upstream's status mapped to the ``error_kind``
names of :mod:`hakaru.errors`: ``rate_limited``, ``server_error``, ``context_overflow``,
``rejected``, ``bad_response``, ``connection``, ``timeout``), or abandoned by the client
(``cancelled``; ``proxy_error`` if the proxy itself failed). ``GET /v1/models`` and
``GET /v1/models/{name}`` are forwarded without a record; any other path is answered 404 by the
proxy itself and forwarded nowhere: the upstream only ever sees the canonical URLs of these
routes, never a path a client made up.

- **Tokens** come from the upstream's ``usage``; when it has none they are estimated with
  :func:`hakaru.tokenizer.count_tokens` from the prompt and the answer, and the record says
  ``usage_source="estimated"``. A stream's usage is read from its final chunk
  (``stream_options.include_usage``), else estimated from the streamed text.
- **Roles** come from the optional ``X-Hakaru-Role`` request header (``default`` without it);
  ``X-Hakaru-*`` headers are not forwarded.
- **Happens-before** is inferred from timing (:mod:`hakaru.dependencies`); requests and
  answers are read by :mod:`hakaru.proxy.wire`.
- **Retries** are recognised: a request whose body is identical to one that just failed is
  recorded as the next ``attempt`` of it.
- **Faults reach the client unchanged**: the upstream's status, headers (``Retry-After``) and
  body are passed on as they are; a connection the upstream breaks — before or during a
  stream — is broken towards the client too. Only what the proxy itself decides is its own:
  ``400`` for a body that is not a JSON request (or nests deeper than the server's limit),
  ``413`` for one too large, ``502`` when the upstream cannot be reached, ``504`` when it does
  not answer within the proxy's timeout.
- **Secrets**: ``Authorization`` (and ``api-key``) headers are forwarded and never stored; the
  key is cut out of any upstream error text before it is recorded.

A call's record is committed to the store (group commit, :class:`~hakaru.store.CallSink`)
before the last byte of its response is sent, so the client never acts on an unrecorded call.
The proxy is an aiohttp application served by :func:`hakaru.proxy.serving.listen` and forwards
with :mod:`hakaru.proxy.upstream`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

from aiohttp import web
from multidict import CIMultiDict

from hakaru.backends.sim.models import BUILTIN_MODELS
from hakaru.dependencies import InferredDependencies
from hakaru.errors import ConfigError
from hakaru.ledger import Ledger
from hakaru.pricing import PriceBook, Prices, PriceSource
from hakaru.proxy.in_flight import InFlight
from hakaru.proxy.serving import (
    BadBody,
    DropConnection,
    ServerLimits,
    json_response,
    read_json,
    send,
)
from hakaru.proxy.stream_usage import UsageChunkFilter, wants_no_usage
from hakaru.proxy.upstream import (
    AiohttpClient,
    Forwarder,
    UpstreamConnectError,
    UpstreamError,
    UpstreamResponse,
    UpstreamTimeout,
)
from hakaru.proxy.wire import (
    ENDPOINTS,
    SseEvents,
    read_answer,
    read_stream,
    validate,
)
from hakaru.store import CallSink, RunStore
from hakaru.types import ModelSpec

__all__ = ["Recorder"]

_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED = _HOP | {"host", "content-length", "accept-encoding", "expect"}
_NOT_RETURNED = _HOP | {"content-length", "content-encoding"}
#: A body the proxy refuses (by status): what to tell the client, and the error code.
_BAD_BODY = {
    400: ("Send a JSON object, as the OpenAI API expects.", "invalid_json"),
    408: ("Nothing was forwarded; send the body at once.", "body_timeout"),
    413: ("Nothing was forwarded; send a smaller request.", "request_too_large"),
}
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _proxy_error(status: int, message: str, code: str) -> web.Response:
    body = {
        "error": {"message": message, "type": "hakaru_proxy_error", "param": None, "code": code}
    }
    return json_response(status, _dumps(body).encode())


class Recorder:
    """The recording proxy's routes: serve them with :func:`~hakaru.proxy.serving.listen`.

    ``upstream`` is the base URL requests are forwarded to (``http://127.0.0.1:8000/v1``); a
    request for ``/v1/<rest>`` goes to ``<upstream>/<rest>``. Records go to ``store`` under the
    run opened by :meth:`begin` (one is opened on the first call otherwise). ``models`` gives the
    size and prices of model names (the simulated catalog is known already), ``prices`` a price
    table or file for the others (then the genai-prices snapshot: :mod:`hakaru.pricing`);
    ``forwarder``
    defaults to an :class:`~hakaru.proxy.upstream.AiohttpClient` with ``timeout`` seconds;
    ``limits`` bound what a client may send.

    >>> store = RunStore(":memory:")
    >>> recorder = Recorder("http://127.0.0.1:8000/v1", store)
    >>> run_id = recorder.begin("proxy", "demo")
    >>> recorder.run_id == run_id
    True
    """

    def __init__(
        self,
        upstream: str,
        store: RunStore,
        *,
        forwarder: Forwarder | None = None,
        timeout: float = 600.0,
        models: Mapping[str, ModelSpec] | None = None,
        limits: ServerLimits | None = None,
        prices: PriceSource = None,
    ) -> None:
        base = upstream.rstrip("/")
        if not base.startswith(("http://", "https://")) or len(base.split("/")[2]) == 0:
            raise ConfigError(
                f"Upstream '{upstream}' is not an http(s) URL. Give the server's base URL, "
                "e.g. http://127.0.0.1:8000/v1 or https://api.openai.com/v1."
            )
        if not timeout > 0:
            raise ConfigError(f"Timeout {timeout} is not positive. Give seconds, e.g. 600.")
        self.upstream = base
        self.store = store
        self.forwarder: Forwarder = forwarder or AiohttpClient(timeout=timeout)
        self.timeout = timeout
        self.limits = limits or ServerLimits()
        self.models: dict[str, ModelSpec] = {n: m.spec for n, m in BUILTIN_MODELS.items()}
        self.models.update(models or {})
        self.book = prices if isinstance(prices, PriceBook) else PriceBook(prices)
        self.run_id: str | None = None
        self.sink: CallSink | None = None
        self.dependencies = InferredDependencies()
        self.ledger = Ledger(keep_records=False)
        self._reach: tuple[float, ...] = self.ledger.zero
        self.recorded = 0  # records written in the current run
        self.rejected = 0  # malformed requests answered 400 by the proxy itself
        self._t0 = time.perf_counter()
        self._failed: dict[bytes, int] = {}  # body digest -> attempt number, of failed calls
        self._idle = asyncio.Event()
        self._idle.set()

    # -- runs --------------------------------------------------------------------------------

    def begin(
        self, kind: str = "proxy", name: str = "", params: Mapping[str, Any] | None = None
    ) -> str:
        """Open a new run; calls from now on are recorded under it. Returns its id."""
        if self.sink is not None:
            self.sink.close()
        self.run_id = self.store.new_run(kind, name or self.upstream, dict(params or {}))
        self.sink = self.store.sink(self.run_id)
        self.dependencies = InferredDependencies()
        self.ledger = Ledger(keep_records=False)
        self._reach = self.ledger.zero
        self.recorded = 0
        self.estimated = 0  # calls of this run whose tokens hakaru estimated
        self._t0 = time.perf_counter()
        self._failed.clear()
        return self.run_id

    def prices(self, model: str) -> Prices | None:
        """The prices of ``model`` (``None``: unknown): a spec in ``models`` (the simulated
        catalog included), the price table, the genai-prices snapshot — once per run, told to
        the ledger and the store."""
        if model in self.ledger.prices:
            return self.ledger.prices[model]
        found = self.book.resolve(model, self.models.get(model))
        self.ledger.set_prices(model, found)
        if self.run_id is not None:
            self.store.put_prices(self.run_id, model, found)
        return found

    def sink_for_call(self) -> CallSink:
        if self.sink is None:
            self.begin()
        assert self.sink is not None
        return self.sink

    async def drain(self, timeout: float = 10.0) -> bool:
        """Wait until no call is in flight (at most ``timeout`` s); ``False`` if some still are."""
        if self.dependencies.in_flight == 0:
            return True
        self._idle.clear()
        try:
            async with asyncio.timeout(timeout):
                while self.dependencies.in_flight:
                    await self._idle.wait()
                    self._idle.clear()
        except TimeoutError:
            return False
        return True

    async def end(
        self, status: str = "done", extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Finish the current run: wait for calls in flight, commit, store and return its totals.

        The totals are the ledger's, kept online as records were made; they equal
        :func:`hakaru.ledger.totals_of` over the stored records.
        """
        if self.run_id is None or self.sink is None:
            raise ConfigError("No run is open. Call Recorder.begin() first.")
        await self.drain()
        self.sink.close()
        run_id = self.run_id
        totals = self.ledger.totals()
        totals["peak_concurrency"] = self.dependencies.peak_in_flight
        totals["estimated_calls"] = self.estimated
        summary = {**totals, **(extra or {})}
        self.store.finish_run(run_id, "failed" if status == "failed" else "done", summary)
        self.sink = None
        self.run_id = None
        return totals

    async def aclose(self) -> None:
        """Close the upstream connections (the store stays open)."""
        await self.forwarder.aclose()

    # -- routes ------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """The API's routes: completions and embeddings recorded, model listings passed on."""

        def record(path: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
            async def handler(request: web.Request) -> web.StreamResponse:
                return await self._record(request, path)

            return handler

        async def models(request: web.Request) -> web.StreamResponse:
            return await self._pass(request, "/models")

        async def model(request: web.Request) -> web.StreamResponse:
            name = quote(request.match_info["name"], safe="")
            return await self._pass(request, f"/models/{name}")

        recorded = [web.post("/v1" + path, record(path)) for path in ENDPOINTS]
        return [*recorded, web.get("/v1/models", models), web.get("/v1/models/{name}", model)]

    def error(self, status: int, message: str) -> web.Response:
        """The proxy's own error (a path or method it does not forward)."""
        routes = ", ".join(f"POST /v1{path}" for path in ENDPOINTS)
        if status == 404:
            message += f". The proxy forwards {routes} and GET /v1/models; nothing was forwarded"
        return _proxy_error(status, f"hakaru proxy: {message}.", "not_forwarded")

    def _target(self, request: web.Request, path: str) -> str:
        """The upstream URL of a routed request: built from its route's ``path``, never from
        the path the client sent; the query string is passed on."""
        query = request.rel_url.raw_query_string
        return self.upstream + path + (f"?{query}" if query else "")

    def _headers(self, request: web.Request) -> tuple[list[tuple[str, str]], str, tuple[str, ...]]:
        """The headers to forward, the caller's role, and the secrets never to store."""
        headers: list[tuple[str, str]] = []
        role = "default"
        secrets: list[str] = []
        for name, value in request.headers.items():
            name = name.lower()
            if name in _NOT_FORWARDED:
                continue
            if name.startswith("x-hakaru-"):
                if name == "x-hakaru-role" and value:
                    role = value
                continue
            if name in ("authorization", "api-key", "x-api-key") and value:
                secrets.append(value.split()[-1])
            headers.append((name, value))
        headers.append(("accept-encoding", "identity"))
        return headers, role, tuple(secrets)

    # -- forwarding --------------------------------------------------------------------------

    async def _record(self, request: web.Request, path: str) -> web.StreamResponse:
        """Forward one completion or embeddings call and record it."""
        endpoint = ENDPOINTS[path]
        url = self._target(request, path)
        headers, role, secrets = self._headers(request)
        try:
            raw, body = await read_json(request, self.limits)
        except BadBody as exc:
            self.rejected += 1
            hint, code = _BAD_BODY[exc.status]
            return _proxy_error(exc.status, f"hakaru proxy: {exc}. {hint}", code)
        problem = validate(endpoint, body)
        if problem is not None:
            self.rejected += 1
            return _proxy_error(
                400,
                f"hakaru proxy: malformed {request.path} request: {problem}. Nothing was "
                "forwarded; fix the request.",
                "invalid_request",
            )
        call = InFlight(self, endpoint, body, raw, role, secrets)
        sent = raw
        if wants_no_usage(endpoint, body):  # a stream would not say what it cost: ask for it
            body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
            sent = json.dumps(body, ensure_ascii=False).encode()
            call.strip_usage = True
        try:
            return await self._forward(call, request, url, headers, sent)
        except BaseException as exc:  # whatever escaped the handling below: record it anyway
            if not call.done:
                if isinstance(exc, asyncio.CancelledError | ConnectionError | DropConnection):
                    call.fail("cancelled", "the client closed the connection")
                else:
                    call.fail("proxy_error", f"the proxy failed: {exc!r}")
            raise

    async def _forward(
        self,
        call: InFlight,
        request: web.Request,
        url: str,
        headers: list[tuple[str, str]],
        raw: bytes,
    ) -> web.StreamResponse:
        try:
            upstream = await self.forwarder.send(request.method, url, headers, raw)
        except UpstreamConnectError as exc:
            call.fail("connection", f"upstream unreachable: {exc}")
            await self._durable()
            return _proxy_error(
                502,
                f"hakaru proxy: cannot reach the upstream {self.upstream}: {exc}. Start the "
                "server or fix --upstream.",
                "upstream_unreachable",
            )
        except UpstreamTimeout as exc:
            call.fail("timeout", str(exc))
            await self._durable()
            return _proxy_error(504, f"hakaru proxy: {exc}.", "upstream_timeout")
        except UpstreamError as exc:
            call.fail(exc.kind, str(exc))
            await self._durable()
            raise DropConnection from None
        except BaseException:  # cancelled: the client hung up while the upstream worked
            call.fail("cancelled", "the client closed the connection before the answer came")
            raise
        out_headers = [(k, v) for k, v in upstream.headers if k not in _NOT_RETURNED]
        is_stream = any(
            k == "content-type" and v.startswith("text/event-stream") for k, v in upstream.headers
        )
        if is_stream:
            return await self._relay(call, request, upstream, out_headers)
        try:
            data = await upstream.read()
        except UpstreamTimeout as exc:
            call.fail("timeout", str(exc))
            await self._durable()
            return _proxy_error(504, f"hakaru proxy: {exc}.", "upstream_timeout")
        except UpstreamError as exc:
            call.fail(exc.kind, str(exc))
            await self._durable()
            raise DropConnection from None
        except BaseException:
            call.fail("cancelled", "the client closed the connection before the answer came")
            raise
        finally:
            await upstream.aclose()
        try:
            call.settle(read_answer(call.endpoint, upstream.status, data))
        except Exception as exc:  # a reading bug must not lose the record or crash the proxy
            call.fail("bad_response", f"the proxy could not read the answer: {exc!r}")
        await self._durable()
        return _passed(upstream.status, out_headers, data)

    async def _relay(
        self,
        call: InFlight,
        request: web.Request,
        upstream: UpstreamResponse,
        out_headers: list[tuple[str, str]],
    ) -> web.StreamResponse:
        """Pass a stream on chunk by chunk while collecting its events for the record; the
        record is committed before the stream's last chunk is sent."""
        events = SseEvents()
        hide = UsageChunkFilter() if call.strip_usage else None
        response = web.StreamResponse(status=upstream.status, headers=CIMultiDict(out_headers))
        try:
            await response.prepare(request)
            async for chunk in upstream.chunks():
                events.feed(chunk)
                relayed = chunk if hide is None else hide.feed(chunk)
                if relayed:
                    await send(response, relayed, self.limits)
            if hide is not None and (rest := hide.close()):
                await send(response, rest, self.limits)
        except UpstreamError as exc:
            call.partial(exc.kind, f"broken stream: {exc}", events.events)
            await self._durable()
            raise DropConnection from None
        except BaseException:  # cancelled, a write that failed or timed out: the client left
            call.partial("cancelled", "the client closed the connection mid-stream", events.events)
            raise
        finally:
            await upstream.aclose()
        call.settle(read_stream(upstream.status, events.events, call.endpoint))
        await self._durable()
        await response.write_eof()
        return response

    async def _durable(self) -> None:
        if self.sink is not None:
            await self.sink.durable()

    async def _pass(self, request: web.Request, path: str) -> web.StreamResponse:
        """Forward a request that is not an LLM call, unrecorded."""
        headers, _, _ = self._headers(request)
        url = self._target(request, path)
        try:
            upstream = await self.forwarder.send(request.method, url, headers, b"")
        except UpstreamConnectError as exc:
            return _proxy_error(
                502,
                f"hakaru proxy: cannot reach the upstream {self.upstream}: {exc}.",
                "upstream_unreachable",
            )
        except UpstreamTimeout as exc:
            return _proxy_error(504, f"hakaru proxy: {exc}.", "upstream_timeout")
        except UpstreamError:
            raise DropConnection from None
        out_headers = [(k, v) for k, v in upstream.headers if k not in _NOT_RETURNED]
        try:
            data = await upstream.read()
        except UpstreamError:
            raise DropConnection from None
        finally:
            await upstream.aclose()
        return _passed(upstream.status, out_headers, data)


def _passed(status: int, headers: list[tuple[str, str]], data: bytes) -> web.Response:
    """The upstream's answer as the client gets it."""
    return web.Response(status=status, body=data, headers=CIMultiDict(headers))
