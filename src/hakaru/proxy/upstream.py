"""Forwarding to the upstream server: a lean HTTP/1.1 client, and the same over httpx2.

Design choice: the proxy's cost per request is dominated by its HTTP client. Measured here
(2 cores, loopback, zero-latency upstream), an ``httpx2.AsyncClient`` spends about 0.8 ms of CPU
per request — its connection pool scans every connection on each request and each I/O passes
through anyio and h11 — which alone exceeds the proxy's latency budget (≤ 1 ms added at p50)
and caps it near 1,300 requests/s on one core. :class:`LeanClient` is the minimum a forwarding
proxy needs on asyncio streams: a keep-alive pool per origin, one write per request, responses
with ``Content-Length``, chunked or read-to-close bodies yielded as they arrive (SSE passes
through chunk by chunk), TLS for ``https`` upstreams, connect and read timeouts, and a single
retry when a pooled connection turns out to have been closed by the server while idle. It costs
about 40 µs per request. :class:`Httpx2Client` keeps httpx2 available behind the same
interface (``hakaru proxy --client httpx2``) for what the lean client does not do: HTTP proxies
from the environment (``HTTPS_PROXY``), HTTP/2, compressions other than gzip and deflate.

Both raise the same three errors: :class:`UpstreamConnectError` (nothing was sent),
:class:`UpstreamTimeout` and :class:`UpstreamBroken` (the connection failed mid-response).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any, Protocol
from urllib.parse import urlsplit

__all__ = [
    "Forwarder",
    "Httpx2Client",
    "LeanClient",
    "UpstreamBroken",
    "UpstreamConnectError",
    "UpstreamError",
    "UpstreamResponse",
    "UpstreamTimeout",
]

_IDLE_EXPIRY = 4.0  # seconds; below the 5 s keep-alive timeout of uvicorn (vLLM) and others
_READ_SIZE = 65536  # bytes


class UpstreamError(Exception):
    """Forwarding failed. ``sent``: whether the request may have reached the upstream."""

    kind = "connection"
    sent = True


class UpstreamConnectError(UpstreamError):
    """The upstream could not be reached; nothing was sent."""

    sent = False


class UpstreamTimeout(UpstreamError):
    """No (further) answer within the timeout."""

    kind = "timeout"


class UpstreamBroken(UpstreamError):
    """The connection broke, or the upstream spoke broken HTTP, before the response ended."""


class UpstreamResponse(Protocol):
    """An upstream's response: status and headers now, the body streamed."""

    status: int
    headers: list[tuple[str, str]]  # names lower-case

    def chunks(self) -> AsyncIterator[bytes]:
        """The body, decoded (de-chunked and decompressed), piece by piece as it arrives."""
        ...

    async def read(self) -> bytes:
        """The whole body, decoded."""
        ...

    async def aclose(self) -> None:
        """Release the connection (closing it unless the body was read to the end)."""
        ...


class Forwarder(Protocol):
    """Sends one request to an absolute URL and returns the response once its head arrived."""

    async def send(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes
    ) -> UpstreamResponse: ...

    async def aclose(self) -> None: ...


# ---------------------------------------------------------------------------------------------
# the lean client


class _Conn:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def usable(self, now: float) -> bool:
        return (
            not self.writer.is_closing()
            and not self.reader.at_eof()
            and now - self.idle_since < _IDLE_EXPIRY
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class _LeanResponse:
    """A response read from one pooled connection; see :class:`UpstreamResponse`."""

    def __init__(
        self,
        client: LeanClient,
        origin: tuple[str, str, int],
        conn: _Conn,
        status: int,
        headers: list[tuple[str, str]],
        mode: str,
        length: int,
        reusable: bool,
        timeout: float,
    ) -> None:
        self.status = status
        self.headers = headers
        self._client = client
        self._origin = origin
        self._conn: _Conn | None = conn
        self._mode = mode  # "none" | "length" | "chunked" | "close"
        self._left = length
        self._reusable = reusable
        self._timeout = timeout
        self._done = mode == "none"
        encoding = next((v.lower() for k, v in headers if k == "content-encoding"), "identity")
        self._decoder: Any = None
        if encoding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._decoder = zlib.decompressobj()
        if self._decoder is not None:
            self.headers = [(k, v) for k, v in headers if k != "content-encoding"]
        if self._done:
            self._release()

    async def _raw(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None or self._done:
            return
        reader = conn.reader
        try:
            if self._mode == "length":
                while self._left > 0:
                    async with asyncio.timeout(self._timeout):
                        data = await reader.read(min(self._left, _READ_SIZE))
                    if not data:
                        raise UpstreamBroken(
                            f"the upstream closed the connection with {self._left} bytes of the "
                            "body still to come"
                        )
                    self._left -= len(data)
                    yield data
            elif self._mode == "chunked":
                while True:
                    async with asyncio.timeout(self._timeout):
                        line = await reader.readuntil(b"\r\n")
                        try:
                            size = int(line.split(b";", 1)[0], 16)
                        except ValueError:
                            raise UpstreamBroken(f"invalid chunk size {line[:20]!r}") from None
                        if size == 0:
                            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                                pass  # trailers
                            break
                        data = await reader.readexactly(size + 2)
                    yield data[:-2]
            else:  # read to close
                while True:
                    async with asyncio.timeout(self._timeout):
                        data = await reader.read(_READ_SIZE)
                    if not data:
                        break
                    yield data
        except TimeoutError:
            self._abandon()
            raise UpstreamTimeout(
                f"the upstream sent nothing more for {self._timeout:g} s mid-response"
            ) from None
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as exc:
            self._abandon()
            raise UpstreamBroken(f"the connection broke mid-response ({_describe(exc)})") from None
        except BaseException:
            self._abandon()
            raise
        self._done = True
        self._release()

    async def chunks(self) -> AsyncIterator[bytes]:
        decoder = self._decoder
        async for data in self._raw():
            if decoder is not None:
                data = decoder.decompress(data)
            if data:
                yield data
        if decoder is not None:
            tail = decoder.flush()
            if tail:
                yield tail

    async def read(self) -> bytes:
        return b"".join([c async for c in self.chunks()])

    def _release(self) -> None:
        """Give the connection back (to the pool when reusable) and free its slot, once."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._reusable and self._done:
            self._client._put(self._origin, conn)
        else:
            conn.close()
        self._client._slots[self._origin].release()

    def _abandon(self) -> None:
        self._reusable = False
        self._release()

    async def aclose(self) -> None:
        if not self._done:
            self._abandon()
        else:
            self._release()


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class LeanClient:
    """A small keep-alive HTTP/1.1 client for forwarding (see the module docstring).

    ``timeout`` bounds each wait for the upstream (the response head, then each piece of the
    body) in seconds; ``connect_timeout`` bounds opening a connection; ``max_connections``
    bounds the open connections per origin (further requests wait for one).
    """

    def __init__(
        self,
        timeout: float = 600.0,
        connect_timeout: float = 10.0,
        max_connections: int = 1024,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        self._ssl = ssl_context
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._slots: dict[tuple[str, str, int], asyncio.Semaphore] = {}

    def _put(self, origin: tuple[str, str, int], conn: _Conn) -> None:
        conn.idle_since = time.monotonic()
        self._idle.setdefault(origin, []).append(conn)

    async def _connect(self, origin: tuple[str, str, int]) -> _Conn:
        scheme, host, port = origin
        context: ssl.SSLContext | None = None
        if scheme == "https":
            context = self._ssl = self._ssl or ssl.create_default_context()
        try:
            async with asyncio.timeout(self.connect_timeout):
                reader, writer = await asyncio.open_connection(host, port, ssl=context, limit=2**20)
        except TimeoutError:
            raise UpstreamConnectError(
                f"connecting to {host}:{port} took more than {self.connect_timeout:g} s"
            ) from None
        except (OSError, ssl.SSLError) as exc:
            raise UpstreamConnectError(
                f"cannot connect to {host}:{port}: {_describe(exc)}"
            ) from None
        return _Conn(reader, writer)

    async def send(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes
    ) -> UpstreamResponse:
        parts = urlsplit(url)
        scheme = parts.scheme
        if scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamConnectError(f"cannot forward to {url!r}: not an http(s) URL")
        port = parts.port or (443 if scheme == "https" else 80)
        origin = (scheme, parts.hostname, port)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        host = parts.netloc.rpartition("@")[2]
        lines = [f"{method} {target} HTTP/1.1", f"host: {host}"]
        lines.extend(f"{k}: {v}" for k, v in headers)
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"content-length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

        slots = self._slots.get(origin)
        if slots is None:
            slots = self._slots[origin] = asyncio.Semaphore(self.max_connections)
        await slots.acquire()
        try:
            for attempt in (1, 2):
                conn, reused = self._take(origin)
                if conn is None:
                    conn = await self._connect(origin)
                try:
                    return await self._exchange(origin, conn, method, data)
                except _StaleConnection:
                    conn.close()
                    if not reused or attempt == 2:
                        raise UpstreamBroken(
                            "the upstream closed the connection without answering"
                        ) from None
        except BaseException:
            slots.release()
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _take(self, origin: tuple[str, str, int]) -> tuple[_Conn | None, bool]:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.usable(now):
                return conn, True
            conn.close()
        return None, False

    async def _exchange(
        self, origin: tuple[str, str, int], conn: _Conn, method: str, data: bytes
    ) -> _LeanResponse:
        reader = conn.reader
        try:
            conn.writer.write(data)
            async with asyncio.timeout(self.timeout):
                while True:
                    try:
                        head = await reader.readuntil(b"\r\n\r\n")
                    except asyncio.IncompleteReadError as exc:
                        if not exc.partial:
                            raise _StaleConnection from None
                        raise
                    status = int(head[9:12])
                    if status >= 200 or status == 101:
                        break  # a 1xx interim response (100 Continue) is skipped
        except _StaleConnection:
            raise
        except TimeoutError:
            conn.close()
            raise UpstreamTimeout(
                f"no answer from the upstream within {self.timeout:g} s"
            ) from None
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as exc:
            conn.close()
            raise UpstreamBroken(
                f"the connection broke before the response head ({_describe(exc)})"
            ) from None
        except ValueError:
            conn.close()
            raise UpstreamBroken(
                f"the upstream sent a malformed status line {head[:40]!r}"
            ) from None
        except BaseException:
            conn.close()
            raise
        text = head.decode("latin-1")
        headers: list[tuple[str, str]] = []
        length = -1
        chunked = False
        reusable = text.startswith("HTTP/1.1")
        for line in text.split("\r\n")[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                continue
            name = name.strip().lower()
            value = value.strip()
            if name == "content-length":
                with contextlib.suppress(ValueError):
                    length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "connection":
                if "close" in value.lower():
                    reusable = False
                elif "keep-alive" in value.lower():
                    reusable = True
            headers.append((name, value))
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            mode = "none"
        elif chunked:
            mode = "chunked"
        elif length >= 0:
            mode = "length" if length else "none"
        else:
            mode, reusable = "close", False
        return _LeanResponse(
            self, origin, conn, status, headers, mode, length, reusable, self.timeout
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()


class _StaleConnection(Exception):
    """A pooled connection was closed by the server before it answered anything."""


# ---------------------------------------------------------------------------------------------
# httpx2 behind the same interface


class _Httpx2Response:
    def __init__(self, response: Any, timeout: float) -> None:
        self._response = response
        self._timeout = timeout
        self.status = int(response.status_code)
        self.headers = [
            (k.lower(), v)
            for k, v in response.headers.multi_items()
            if k.lower() != "content-encoding"
        ]

    async def chunks(self) -> AsyncIterator[bytes]:
        import httpx2

        try:
            async for data in self._response.aiter_bytes():
                yield data
        except httpx2.TimeoutException:
            raise UpstreamTimeout(
                f"the upstream sent nothing more for {self._timeout:g} s mid-response"
            ) from None
        except (httpx2.TransportError, httpx2.DecodingError, httpx2.StreamError) as exc:
            raise UpstreamBroken(f"the connection broke mid-response ({_describe(exc)})") from None

    async def read(self) -> bytes:
        return b"".join([c async for c in self.chunks()])

    async def aclose(self) -> None:
        await self._response.aclose()


class Httpx2Client:
    """:class:`Forwarder` over ``httpx2.AsyncClient`` (environment proxies honoured)."""

    def __init__(
        self, timeout: float = 600.0, connect_timeout: float = 10.0, max_connections: int = 1024
    ) -> None:
        import httpx2

        self._httpx2 = httpx2
        self.timeout = timeout
        limits = httpx2.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._client = httpx2.AsyncClient(
            timeout=httpx2.Timeout(timeout, connect=connect_timeout), limits=limits
        )

    async def send(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes
    ) -> UpstreamResponse:
        httpx2 = self._httpx2
        request = self._client.build_request(method, url, headers=headers, content=body)
        try:
            response = await self._client.send(request, stream=True)
        except httpx2.ConnectTimeout:
            raise UpstreamConnectError(f"connecting to {url} timed out") from None
        except httpx2.ConnectError as exc:
            raise UpstreamConnectError(f"cannot connect to {url}: {_describe(exc)}") from None
        except httpx2.TimeoutException:
            raise UpstreamTimeout(
                f"no answer from the upstream within {self.timeout:g} s"
            ) from None
        except (httpx2.TransportError, httpx2.DecodingError, httpx2.StreamError) as exc:
            raise UpstreamBroken(f"the connection broke ({_describe(exc)})") from None
        return _Httpx2Response(response, self.timeout)

    async def aclose(self) -> None:
        await self._client.aclose()
