"""Serving HTTP to untrusted clients with aiohttp: limits, timeouts, one-line errors, one listen().

Design choice: the simulated server and the recording proxy accept whatever connects to them, so
nothing of HTTP is parsed here. aiohttp's server (its parser is llhttp) frames every request:
a malformed or conflicting ``Content-Length``/``Transfer-Encoding``, an invalid chunk size,
CR or LF inside a header value, an over-long line or header, or too many headers are answered
400 and the connection is closed. This module *configures* what the parser does not bound:

- **time to send a request head** — aiohttp's keep-alive timer starts when a connection opens
  and closes it if no complete request head has arrived when it fires, and again between
  requests: ``head_timeout`` bounds both slow heads (slowloris) and idle connections;
- **time to send the body** and **to take each piece of a streamed answer** — asyncio
  timeouts around reading the body (:func:`read_json`) and each write (:func:`send`);
- **body size** (``client_max_size``: 413) and **JSON nesting depth**, checked on the raw bytes
  before ``json.loads`` (which recurses once per level: 100,000 levels would raise
  ``RecursionError``) — :func:`json_depth`;
- **routes**: each server declares its routes; anything else is answered locally (404/405);
- **logs**: errors are logged on one line, with the traceback only when ``HAKARU_DEBUG=1``.

:func:`listen` is the one place hakaru starts an HTTP server (``hakaru sim serve``, ``hakaru
proxy``, ``hakaru profile``); a :class:`Service` supplies the routes and the error body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import ssl as ssl_module
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from math import inf
from typing import Any, Protocol

import numpy as np
from aiohttp import web

from hakaru.errors import ConfigError

__all__ = [
    "BadBody",
    "DropConnection",
    "Listening",
    "ServerLimits",
    "Service",
    "json_depth",
    "json_response",
    "listen",
    "read_json",
    "send",
]

log = logging.getLogger("hakaru.server")


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """What a hakaru server accepts from one client.

    >>> ServerLimits().max_json_depth
    128
    """

    head_timeout: float = 15.0  # s a connection may stay idle, or take to send a request head
    body_timeout: float = 30.0  # s to receive a request body
    send_timeout: float = 60.0  # s a client may take to accept each piece of a streamed answer
    max_line: int = 8190  # bytes of the request line
    max_field: int = 8190  # bytes of one header field
    max_headers: int = 100  # header fields in one request
    max_body: int = 32 * 2**20  # bytes of a request body (413 beyond)
    max_json_depth: int = 128  # nesting of arrays and objects in a JSON body

    def __post_init__(self) -> None:
        for name in ("head_timeout", "body_timeout", "send_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} is {getattr(self, name)}. Give positive seconds.")


class DropConnection(Exception):
    """Raised by a handler: abort the connection with no (further) bytes — a dropped connection
    or a broken stream, as fault injection simulates and the proxy passes on."""


class BadBody(Exception):
    """A request body that cannot be read as JSON: ``status`` (400, 408 or 413) and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Service(Protocol):
    """What :func:`listen` serves: routes, limits, and how an error looks to this API's clients."""

    limits: ServerLimits

    def routes(self) -> Sequence[web.RouteDef]:
        """The routes answered; every other path is a 404 (or 405) made by :meth:`error`."""
        ...

    def error(self, status: int, message: str) -> web.Response:
        """The response for an error the server decides itself (no route, wrong method)."""
        ...


_STRING = re.compile(rb'"[^"]*"')
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in ``raw``, without parsing it.

    Escapes are cut first (so ``\\"`` cannot end a string), then strings, then everything but
    brackets; the depth is the running sum of +1 per opening and -1 per closing bracket. For
    invalid JSON the figure may be too high, never lower than the depth ``json.loads`` reaches
    before it fails (up to its first error the two read the text alike).

    >>> json_depth(b'{"a": [1, {"b": "[[["}], "c": "\\\\"}"}')
    3
    """
    text = _STRING.sub(b"", _ESCAPE.sub(b"", raw))
    brackets = np.frombuffer(text.translate(None, _NOT_BRACKET), dtype=np.uint8)
    if brackets.size == 0:
        return 0
    steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)
    return int(np.cumsum(steps, dtype=np.int64).max(initial=0))


async def read_json(request: web.Request, limits: ServerLimits) -> tuple[bytes, Any]:
    """The body of ``request`` and its JSON value; :class:`BadBody` says what is wrong."""
    try:
        if request.content.is_eof():  # the whole body came with the head: nothing to wait for
            raw = await request.read()
        else:
            async with asyncio.timeout(limits.body_timeout):
                raw = await request.read()
    except TimeoutError:
        raise BadBody(
            408, f"the request body did not arrive within {limits.body_timeout:g} s"
        ) from None
    except web.HTTPRequestEntityTooLarge:
        raise BadBody(413, f"the request body is larger than {limits.max_body:,} bytes") from None
    # no deeper than it has brackets: most bodies are cleared by two counts in C
    brackets = raw.count(b"[") + raw.count(b"{")
    depth = json_depth(raw) if brackets > limits.max_json_depth else 0
    if depth > limits.max_json_depth:
        raise BadBody(
            400, f"the JSON body nests {depth} levels deep, more than {limits.max_json_depth}"
        )
    try:
        return raw, json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadBody(400, f"the request body is not valid JSON ({exc})") from None


async def send(response: web.StreamResponse, data: bytes, limits: ServerLimits) -> None:
    """Write one piece of a streamed answer; a client that does not take it within
    ``send_timeout`` loses its connection (:class:`DropConnection`)."""
    try:
        async with asyncio.timeout(limits.send_timeout):
            await response.write(data)
    except TimeoutError:
        raise DropConnection from None


def json_response(
    status: int, payload: bytes, headers: Sequence[tuple[str, str]] = ()
) -> web.Response:
    """A response whose body is already-encoded JSON."""
    response = web.Response(status=status, body=payload, content_type="application/json")
    for name, value in headers:
        response.headers.add(name, value)
    return response


def _abort(request: web.BaseRequest) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


def _guard(service: Service) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def guard(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.version[0] != 1:
            return service.error(505, f"HTTP/{request.version[0]} is not served; speak HTTP/1.1")
        try:
            return await handler(request)
        except DropConnection:
            _abort(request)
            return web.Response()  # never sent: aiohttp finds the connection gone
        except web.HTTPMethodNotAllowed as exc:
            return service.error(
                405, f"Use {' or '.join(sorted(exc.allowed_methods))} for {request.path}"
            )
        except web.HTTPNotFound:
            return service.error(404, f"No route {request.method} {request.path}")

    return guard


class _OneLine(logging.Filter):
    """Errors on one line: the exception's type and message instead of its traceback (unless
    ``HAKARU_DEBUG=1``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and os.environ.get("HAKARU_DEBUG") != "1":
            exc = record.exc_info[1]
            record.msg = " ".join(f"{record.getMessage()}: {type(exc).__name__}: {exc}".split())
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


log.addFilter(_OneLine())


class _LoopErrors:
    """The event loop's error handler: one line per error, and at most one line a second for
    the same message (asyncio retries a failing ``accept()`` — out of file descriptors — many
    times per loop turn, and would log each), saying how many were left out."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}  # message -> loop time of its last line
        self._held: dict[str, int] = {}  # message -> lines left out since

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if os.environ.get("HAKARU_DEBUG") == "1":
            loop.default_exception_handler(context)
            return
        message = str(context.get("message", "error in the event loop"))
        now = loop.time()
        if now - self._last.get(message, -inf) < 1.0:
            self._held[message] = self._held.get(message, 0) + 1
            return
        self._last[message] = now
        exc = context.get("exception")
        detail = f": {type(exc).__name__}: {exc}" if exc is not None else ""
        held = self._held.pop(message, 0)
        more = f" ({held} more in the last second)" if held else ""
        log.error("%s%s%s", message, detail, more)


class Listening:
    """A started server: its address, and :meth:`close`."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, tls: bool) -> None:
        self._runner = runner
        self.host = host
        self.port = port
        self.tls = tls

    @property
    def url(self) -> str:
        """``http://host:port`` (``https`` with TLS; IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    async def close(self) -> None:
        """Stop accepting, end open connections (cancelling their handlers), and wait."""
        await self._runner.cleanup()


async def listen(
    service: Service,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ssl: ssl_module.SSLContext | None = None,
) -> Listening:
    """Serve ``service`` on ``host:port`` (port 0: a free one, read back from ``.port``).

    A port that cannot be had is a :class:`ConfigError` saying what to do. Errors of the event
    loop (``accept()`` out of file descriptors, say) are logged on one line too.

    >>> async def main() -> bool:
    ...     from hakaru.backends.sim import SimBackend
    ...     from hakaru.proxy.server import SimServer
    ...     server = await listen(SimServer(SimBackend()))
    ...     await server.close()
    ...     return server.port > 0
    >>> asyncio.run(main())
    True
    """
    limits = service.limits
    app = web.Application(client_max_size=limits.max_body, middlewares=[_guard(service)])
    app.add_routes(service.routes())
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        logger=log,
        handler_cancellation=True,  # a client that hangs up cancels its handler
        keepalive_timeout=limits.head_timeout,
        max_line_size=limits.max_line,
        max_field_size=limits.max_field,
        max_headers=limits.max_headers,
        lingering_time=0,
        shutdown_timeout=0.5,
    )
    loop = asyncio.get_running_loop()
    if loop.get_exception_handler() is None:
        loop.set_exception_handler(_LoopErrors())
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl, backlog=1024, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(
            f"Cannot listen on {host}:{port}: {exc.strerror or exc}. Pick another --port "
            "(0 picks a free one)."
        ) from None
    bound = runner.addresses[0]
    return Listening(runner, host, int(bound[1]), ssl is not None)
