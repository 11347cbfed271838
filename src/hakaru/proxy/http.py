"""A small HTTP/1.1 server on ``asyncio.Protocol``: keep-alive, chunked bodies, streamed responses.

Design choice: the simulated LLM server and the recording proxy need exactly four things from an
HTTP server — persistent connections, request bodies (``Content-Length`` or chunked), responses
streamed chunk by chunk (server-sent events) and a cheap hot path — and nothing else (no routing
tables, no middleware, no TLS: both listen on loopback). An ASGI server (uvicorn, hypercorn)
would add a dependency and an ASGI translation layer per request; ``asyncio.start_server``'s
streams would add a ``StreamReader`` per connection and could not notice a client that hangs up
while its request is being served. A ``Protocol`` parses straight from ``data_received``, runs
one handler task per request (requests on one connection are answered in order), cancels that
task when the client disconnects (the proxy records the call as cancelled), and honours the
transport's write flow control so a slow reader of a long stream cannot fill memory.

A handler is ``async (HttpRequest) -> HttpResponse``. The body of a response is ``bytes`` (sent
with ``Content-Length``) or an async iterator of ``bytes`` (sent chunked, one chunk per item, as
soon as it is produced). Raising :class:`DropConnection` — from the handler or from the body
iterator — aborts the connection without a (complete) response: fault injection uses it to
simulate dropped connections and broken streams, and the proxy to pass an upstream's broken
connection on unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl as ssl_module
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

__all__ = ["DropConnection", "HttpRequest", "HttpResponse", "HttpServer", "json_response"]

log = logging.getLogger("hakaru.proxy")

_MAX_HEAD = 64 * 1024  # bytes of request line + headers
_MAX_BODY = 64 * 1024 * 1024  # bytes of request body
_REASONS = {s.value: s.phrase for s in HTTPStatus}


class DropConnection(Exception):
    """Raised by a handler or a streamed body: abort the connection with no further bytes."""


@dataclass(slots=True)
class HttpRequest:
    """One parsed request. Header names are lower-case; values are decoded as Latin-1."""

    method: str
    target: str  # path and query, as sent
    headers: list[tuple[str, str]]
    body: bytes
    peer: str = ""

    @property
    def path(self) -> str:
        """The target without its query string."""
        return self.target.partition("?")[0]

    def header(self, name: str, default: str = "") -> str:
        """The first value of header ``name`` (lower-case), or ``default``."""
        for key, value in self.headers:
            if key == name:
                return value
        return default


@dataclass(slots=True)
class HttpResponse:
    """A response: ``body`` is bytes, or an async iterator of chunks sent as they come."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | AsyncIterator[bytes] = b""


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


def json_response(
    status: int, payload: bytes, headers: list[tuple[str, str]] | None = None
) -> HttpResponse:
    """A response whose body is already-encoded JSON."""
    return HttpResponse(status, [("content-type", "application/json"), *(headers or [])], payload)


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _parse_chunked(buf: bytearray, start: int) -> tuple[bytes, int] | None:
    """The body of a chunked message starting at ``buf[start]`` and where it ends; ``None``
    while incomplete."""
    body = bytearray()
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size_text = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _BadRequest(400, "invalid chunk size in a chunked request body") from None
        if size == 0:
            end = buf.find(b"\r\n\r\n", eol)  # skip trailers (usually none)
            if end < 0:
                return None
            return bytes(body), end + 4
        if len(body) + size > _MAX_BODY:
            raise _BadRequest(413, "request body too large")
        if len(buf) < eol + 2 + size + 2:
            return None
        body += buf[eol + 2 : eol + 2 + size]
        pos = eol + 2 + size + 2


class _Connection(asyncio.Protocol):
    """One client connection: parse requests, run the handler, write responses in order."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.need = 0  # bytes the buffer must hold before parsing is worth trying again
        self.task: asyncio.Task[None] | None = None
        self.closed = False
        self.peer = ""
        self._can_write: asyncio.Event | None = None  # set while the transport accepts writes

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # not TCP (a Unix socket)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else ""
        self.server._connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.task is None and len(self.buf) >= self.need:
            self._next()
        elif len(self.buf) > _MAX_HEAD + _MAX_BODY and self.transport is not None:
            self.transport.pause_reading()  # pipelined data piles up behind a running handler

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server._connections.discard(self)
        if self.task is not None:
            self.task.cancel()
        if self._can_write is not None:
            self._can_write.set()

    def pause_writing(self) -> None:
        if self._can_write is None:
            self._can_write = asyncio.Event()
        self._can_write.clear()

    def resume_writing(self) -> None:
        if self._can_write is not None:
            self._can_write.set()

    # -- parsing -----------------------------------------------------------------------------

    def _next(self) -> None:
        """Parse the next complete request in the buffer and start its handler."""
        try:
            parsed = self._parse()
        except _BadRequest as exc:
            self._write_simple(exc.status, str(exc), close=True)
            return
        if parsed is None:
            return
        request, keep_alive = parsed
        self.task = asyncio.get_running_loop().create_task(self._serve(request, keep_alive))

    def _parse(self) -> tuple[HttpRequest, bool] | None:
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > _MAX_HEAD:
                raise _BadRequest(431, "request headers too large")
            self.need = len(buf) + 1
            return None
        lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ")
        except ValueError:
            raise _BadRequest(400, f"malformed request line {lines[0][:80]!r}") from None
        if not version.startswith("HTTP/1."):
            raise _BadRequest(505, f"unsupported protocol {version[:20]!r}; speak HTTP/1.1")
        headers: list[tuple[str, str]] = []
        length = 0
        chunked = False
        keep_alive = version == "HTTP/1.1"
        continue_ = False
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequest(400, f"malformed header line {line[:80]!r}")
            name = name.strip().lower()
            value = value.strip()
            if name == "content-length":
                try:
                    length = int(value)
                except ValueError:
                    raise _BadRequest(400, f"invalid Content-Length {value[:20]!r}") from None
                if length < 0 or length > _MAX_BODY:
                    raise _BadRequest(413, "request body too large")
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "connection":
                tokens = value.lower()
                if "close" in tokens:
                    keep_alive = False
                elif "keep-alive" in tokens:
                    keep_alive = True
            elif name == "expect":
                continue_ = value.lower() == "100-continue"
            headers.append((name, value))
        start = end + 4
        if chunked:
            if continue_ and self.need <= end + 4 and self.transport is not None:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            found = _parse_chunked(buf, start)
            if found is None:
                self.need = end + 5  # new data may complete it: try again on any arrival
                return None
            body, stop = found
        else:
            stop = start + length
            if len(buf) < stop:
                if continue_ and self.need <= start and self.transport is not None:
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                self.need = stop
                return None
            body = bytes(buf[start:stop])
        del buf[:stop]
        self.need = 0
        return HttpRequest(method, target, headers, body, self.peer), keep_alive

    # -- answering ---------------------------------------------------------------------------

    async def _serve(self, request: HttpRequest, keep_alive: bool) -> None:
        transport = self.transport
        assert transport is not None
        try:
            try:
                response = await self.server.handler(request)
            except DropConnection:
                transport.abort()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("handler failed on %s %s", request.method, request.target)
                response = HttpResponse(
                    500,
                    [("content-type", "text/plain; charset=utf-8")],
                    b"internal error in the hakaru server; see its log\n",
                )
            if not await self._send(response, keep_alive):
                return
        except asyncio.CancelledError:
            if not self.closed:  # cancelled by the server's shutdown, not by the client
                transport.abort()
            return
        self.task = None
        if not keep_alive:
            transport.close()
        elif self.buf and not self.closed:
            self._next()
        if not self.closed:
            transport.resume_reading()

    def _head(self, status: int, headers: list[tuple[str, str]], tail: str) -> bytes:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
        lines.extend(f"{k}: {v}" for k, v in headers)
        return ("\r\n".join(lines) + tail).encode("latin-1")

    async def _send(self, response: HttpResponse, keep_alive: bool) -> bool:
        """Write ``response``; ``False`` when the connection ended (dropped or lost)."""
        transport = self.transport
        assert transport is not None
        conn = "keep-alive" if keep_alive else "close"
        body = response.body
        if isinstance(body, bytes | bytearray):
            tail = f"\r\ncontent-length: {len(body)}\r\nconnection: {conn}\r\n\r\n"
            transport.write(self._head(response.status, response.headers, tail) + body)
            return not self.closed
        tail = f"\r\ntransfer-encoding: chunked\r\nconnection: {conn}\r\n\r\n"
        transport.write(self._head(response.status, response.headers, tail))
        try:
            async for chunk in body:
                if self.closed:
                    return False
                if chunk:
                    transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                    if self._can_write is not None and not self._can_write.is_set():
                        await self._can_write.wait()
        except DropConnection:
            transport.abort()
            return False
        except Exception:
            log.exception("streamed body failed mid-response")
            transport.abort()  # the head is out: all that can be said now is a broken stream
            return False
        finally:
            aclose = getattr(body, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        if self.closed:
            return False
        transport.write(b"0\r\n\r\n")
        return True

    def _write_simple(self, status: int, message: str, *, close: bool) -> None:
        if self.transport is None or self.closed:
            return
        body = (message + "\n").encode()
        head = self._head(
            status,
            [("content-type", "text/plain; charset=utf-8")],
            f"\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n",
        )
        self.transport.write(head + body)
        if close:
            self.transport.close()


class HttpServer:
    """Serve ``handler`` on ``host:port`` (port 0: any free port, read back from ``.port``).

    >>> import asyncio
    >>> async def hello(request: HttpRequest) -> HttpResponse:
    ...     return HttpResponse(200, [("content-type", "text/plain")], b"hi")
    >>> async def main() -> int:
    ...     async with HttpServer(hello) as server:
    ...         return server.port
    >>> asyncio.run(main()) > 0
    True
    """

    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl: ssl_module.SSLContext | None = None,
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.ssl = ssl  # serve HTTPS with this context (tests of https upstreams)
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()

    @property
    def url(self) -> str:
        """``http://host:port`` (``https`` with TLS; IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.ssl else 'http'}://{host}:{self.port}"

    async def start(self) -> None:
        """Bind and start accepting connections."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self),
            self.host,
            self.port,
            backlog=1024,
            reuse_address=True,
            ssl=self.ssl,
        )
        sockets = self._server.sockets
        if sockets:
            self.port = int(sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop accepting, abort open connections (cancelling their handlers), and wait."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        tasks = [c.task for c in self._connections if c.task is not None]
        for conn in list(self._connections):
            if conn.transport is not None:
                conn.transport.abort()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def __aenter__(self) -> HttpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
