"""``CassetteServer``: a cassette served over local HTTP, for programs that use an SDK.

A program written against the OpenAI or Anthropic SDK (or LangGraph over them) makes its own
HTTP calls; pointing ``OPENAI_BASE_URL``/``ANTHROPIC_BASE_URL`` at this server on 127.0.0.1
puts the cassette under it without touching the program. The server is hakaru's own aiohttp
serving code (:func:`hakaru.proxy.serving.listen`: limits, timeouts, JSON depth checks), run on
an event loop in a background thread so that synchronous tests and synchronous SDK clients work.

Every POST is one call: its path and JSON body are the request. A recorded call is answered
as recorded — a stream chunk by chunk, exactly the recorded bytes; in a recording mode an
unrecorded call is forwarded to the upstream (its headers, the key included, passed on but
never written) and its answer recorded: a JSON body as JSON, a stream as its events. Only
answers with status < 400 are recorded; errors pass through. A miss in ``none`` mode is
answered 400 with the nearest recorded request and a diff, and nothing is forwarded.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from hakaru.errors import ConfigError
from hakaru.proxy.serving import (
    BadBody,
    DropConnection,
    Listening,
    ServerLimits,
    listen,
    read_json,
    send,
)
from hakaru.proxy.upstream import Forwarder, UpstreamError, make_forwarder
from hakaru.testing.cassette import Cassette, CassetteMiss, Entry

__all__ = ["CassetteServer"]

_OPENAI = "https://api.openai.com"
_ANTHROPIC = "https://api.anthropic.com"
# Headers that belong to one connection, or that the forwarder sets itself.
_SKIP = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade"}
    | {"accept-encoding", "expect", "proxy-authorization", "proxy-connection", "trailer"}
)


def _root(url: str | None) -> str | None:
    """A server's root from a base URL as the SDKs take it (``…/v1`` cut off)."""
    return url.rstrip("/").removesuffix("/v1") if url else None


def _error(status: int, message: str, code: str) -> web.Response:
    """An error both SDKs read: OpenAI's ``error.message`` and Anthropic's ``type: error``."""
    body = {"type": "error", "error": {"type": code, "code": code, "message": message}}
    return web.json_response(body, status=status)


class CassetteServer:
    """Serve ``cassette`` on 127.0.0.1 from a background thread; ``upstream`` (a server, e.g.
    ``http://127.0.0.1:8000/v1``) is where a recording mode forwards every call — without it,
    a call to ``/v1/messages`` goes to ``anthropic`` and any other to ``openai`` (the base URLs
    the program had; by default the providers' APIs).

    >>> with CassetteServer(cassette) as server:  # doctest: +SKIP
    ...     client = openai.OpenAI(base_url=server.url + "/v1")
    """

    def __init__(
        self,
        cassette: Cassette,
        upstream: str | None = None,
        *,
        openai: str | None = None,
        anthropic: str | None = None,
    ) -> None:
        self.cassette = cassette
        self.upstream = _root(upstream)
        self._defaults = (_root(openai) or _OPENAI, _root(anthropic) or _ANTHROPIC)
        self.limits = ServerLimits()
        self.forwarded = 0  # calls sent to the upstream
        self._forwarder: Forwarder | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._listening: Listening | None = None

    # -- Service -------------------------------------------------------------------------------

    def routes(self) -> Sequence[web.RouteDef]:
        """Every POST is a call; nothing else is served."""
        return [web.post("/{tail:.*}", self._handle)]

    def error(self, status: int, message: str) -> web.Response:
        """What the server says about a request it does not serve."""
        return _error(status, f"hakaru cassette server: {message}.", "not_served")

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` once started."""
        if self._listening is None:
            raise ConfigError("the cassette server is not started. Call start() first")
        return self._listening.url

    def start(self) -> str:
        """Start serving; returns :attr:`url`."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="hakaru-cassette", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self._listening = asyncio.run_coroutine_threadsafe(listen(self), loop).result()
        except BaseException:
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        """Stop serving and end the thread (the cassette stays open: its owner closes it)."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join()
        loop.close()

    async def _shutdown(self) -> None:
        if self._listening is not None:
            await self._listening.close()
        if self._forwarder is not None:
            await self._forwarder.aclose()

    def __enter__(self) -> CassetteServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- one call ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        try:
            raw, body = await read_json(request, self.limits)
        except BadBody as exc:
            return _error(exc.status, f"hakaru cassette server: {exc}", "invalid_request")
        if not isinstance(body, dict):
            return _error(400, "hakaru cassette server: send a JSON object", "invalid_request")
        try:
            entry = self.cassette.take("http", path, body)
        except CassetteMiss as exc:
            return _error(400, str(exc), "hakaru_cassette_miss")
        if entry is not None:
            return await self._replay(request, entry)
        return await self._forward(request, path, raw, body)

    async def _replay(self, request: web.Request, entry: Entry) -> web.StreamResponse:
        recorded = entry.response
        status = int(recorded.get("status", 200))
        content_type = str(recorded.get("content_type", "application/json"))
        chunks = recorded.get("chunks")
        if chunks is None:
            payload = recorded.get("body")
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            return web.Response(status=status, body=data, headers={"content-type": content_type})
        response = web.StreamResponse(status=status, headers={"content-type": content_type})
        await response.prepare(request)
        for chunk in chunks:
            await send(response, str(chunk).encode(), self.limits)
        await response.write_eof()
        return response

    def _target(self, path: str) -> str:
        openai, anthropic = self._defaults
        root = self.upstream or (anthropic if path.startswith("/v1/messages") else openai)
        return root + path

    async def _forward(
        self, request: web.Request, path: str, raw: bytes, body: dict[str, Any]
    ) -> web.StreamResponse:
        headers = [(k.lower(), v) for k, v in request.headers.items() if k.lower() not in _SKIP]
        headers.append(("accept-encoding", "identity"))
        if self._forwarder is None:
            self._forwarder = make_forwarder("aiohttp")
        url = self._target(path)
        self.forwarded += 1
        try:
            upstream = await self._forwarder.send("POST", url, headers, raw)
        except UpstreamError as exc:
            return _error(502, f"hakaru cassette server: cannot record from {url}: {exc}", "up")
        kind = next((v for k, v in upstream.headers if k == "content-type"), "application/json")
        out = CIMultiDict([("content-type", kind)])
        try:
            if kind.startswith("text/event-stream"):
                return await self._relay(request, path, body, upstream.status, kind, upstream)
            data = await upstream.read()
        except UpstreamError as exc:
            return _error(502, f"hakaru cassette server: the upstream broke: {exc}", "up")
        finally:
            await upstream.aclose()
        if upstream.status < 400:
            try:
                payload: Any = json.loads(data)
            except ValueError:
                payload = data.decode("utf-8", "replace")
            answer = {"status": upstream.status, "content_type": kind, "body": payload}
            self.cassette.record("http", path, body, answer)
        return web.Response(status=upstream.status, body=data, headers=out)

    async def _relay(
        self,
        request: web.Request,
        path: str,
        body: dict[str, Any],
        status: int,
        kind: str,
        upstream: Any,
    ) -> web.StreamResponse:
        """Pass a stream on as it comes, keeping its events (with their separators) in order."""
        response = web.StreamResponse(status=status, headers={"content-type": kind})
        await response.prepare(request)
        events: list[str] = []
        rest = b""
        try:
            async for piece in upstream.chunks():
                await send(response, piece, self.limits)
                rest += piece
                *done, rest = rest.split(b"\n\n")
                events.extend(e.decode() + "\n\n" for e in done)
        except UpstreamError:  # a stream broken upstream is broken for the client too: unrecorded
            raise DropConnection from None
        if rest:
            events.append(rest.decode())
        if status < 400:
            answer = {"status": status, "content_type": kind, "chunks": events}
            self.cassette.record("http", path, body, answer)
        await response.write_eof()
        return response
