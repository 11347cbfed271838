"""Forwarding to the upstream server over a maintained HTTP client: aiohttp, or httpx2.

Design choice: the proxy forwards with aiohttp's ``ClientSession`` on a pooled
``TCPConnector`` (its response parser is llhttp, like the server's): keep-alive connections per
origin, bounded in number, idle ones closed after 4 s — below the 5 s keep-alive timeout of
uvicorn (vLLM) and others, so that a pooled connection is not reused just as the server closes
it (aiohttp does not resend a ``POST`` on a connection found closed). Bodies are read as they
arrive, so server-sent events pass through chunk by chunk. The aiohttp client ignores the
environment (``trust_env`` off): with it, aiohttp looks up ``~/.netrc`` credentials and proxy
settings in a worker thread on every request — two thread hand-offs per call, and netrc
credentials have no place in forwarded requests. :class:`Httpx2Client` offers httpx2 behind
the same interface (``hakaru proxy --client httpx2``), which honours ``HTTP(S)_PROXY`` and
``NO_PROXY``. ``benchmarks/proxy_overhead.py --client`` compares the two.

Both raise the same three errors: :class:`UpstreamConnectError` (nothing was sent),
:class:`UpstreamTimeout` and :class:`UpstreamBroken` (the connection failed mid-response).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any, Protocol

import aiohttp

__all__ = [
    "AiohttpClient",
    "Forwarder",
    "Httpx2Client",
    "UpstreamBroken",
    "UpstreamConnectError",
    "UpstreamError",
    "UpstreamResponse",
    "UpstreamTimeout",
    "make_forwarder",
]

_IDLE_EXPIRY = 4.0  # seconds; below the 5 s keep-alive timeout of uvicorn (vLLM) and others


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
# aiohttp


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class _AiohttpResponse:
    """A response of :class:`AiohttpClient`; see :class:`UpstreamResponse`."""

    def __init__(self, response: aiohttp.ClientResponse, timeout: float) -> None:
        self._response = response
        self._timeout = timeout
        self.status = response.status
        # the body reaches the client decoded: its encoding and length no longer apply
        self.headers = [
            (k.lower(), v)
            for k, v in response.headers.items()
            if k.lower() not in ("content-encoding", "content-length")
        ]

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._response.content.iter_any():
                yield data
        except TimeoutError:  # aiohttp's ServerTimeoutError is one
            raise UpstreamTimeout(
                f"the upstream sent nothing more for {self._timeout:g} s mid-response"
            ) from None
        except aiohttp.ClientError as exc:
            raise UpstreamBroken(f"the connection broke mid-response ({_describe(exc)})") from None

    async def read(self) -> bytes:
        return b"".join([c async for c in self.chunks()])

    async def aclose(self) -> None:
        if self._response.content.at_eof():
            self._response.release()  # read to the end: the connection goes back to the pool
        else:
            self._response.close()


class AiohttpClient:
    """:class:`Forwarder` over ``aiohttp.ClientSession`` (see the module docstring).

    ``timeout`` bounds each wait for the upstream (the response head, then each piece of the
    body) in seconds; ``connect_timeout`` bounds opening a connection; ``max_connections``
    bounds the open connections (further requests wait for one). The session is made in the
    event loop of the first request.
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
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _open(self) -> aiohttp.ClientSession:
        session, loop = self._session, asyncio.get_running_loop()
        if session is None or session.closed or self._loop is not loop:
            self._loop = loop
            connector = aiohttp.TCPConnector(
                limit=self.max_connections,
                limit_per_host=0,
                keepalive_timeout=_IDLE_EXPIRY,
                ssl=self._ssl if self._ssl is not None else True,
            )
            session = self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self.connect_timeout, sock_read=self.timeout
                ),
                auto_decompress=True,
                trust_env=False,
                skip_auto_headers=("User-Agent",),
            )
        return session

    async def send(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes
    ) -> UpstreamResponse:
        session = self._open()
        try:
            response = await session.request(
                method, url, headers=headers, data=body or None, allow_redirects=False
            )
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamConnectError(f"cannot connect to {url}: {_describe(exc)}") from None
        except aiohttp.ConnectionTimeoutError:
            raise UpstreamConnectError(
                f"connecting to {url} took more than {self.connect_timeout:g} s"
            ) from None
        except TimeoutError:
            raise UpstreamTimeout(
                f"no answer from the upstream within {self.timeout:g} s"
            ) from None
        except (aiohttp.ClientError, ValueError) as exc:  # ValueError: an URL aiohttp refuses
            raise UpstreamBroken(
                f"the connection broke before the response head ({_describe(exc)})"
            ) from None
        return _AiohttpResponse(response, self.timeout)

    async def aclose(self) -> None:
        """Close every pooled connection."""
        if self._session is not None:
            await self._session.close()
            self._session = None


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
            timeout=httpx2.Timeout(timeout, connect=connect_timeout), limits=limits, trust_env=True
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


def make_forwarder(client: str = "aiohttp", timeout: float = 600.0) -> Forwarder:
    """The upstream client named by ``--client``: ``aiohttp`` (the default) or ``httpx2``.

    >>> type(make_forwarder("aiohttp")).__name__
    'AiohttpClient'
    """
    if client == "httpx2":
        return Httpx2Client(timeout=timeout)
    if client == "aiohttp":
        return AiohttpClient(timeout=timeout)
    from hakaru.errors import ConfigError

    raise ConfigError(f"Unknown upstream client '{client}'. Choose aiohttp or httpx2.")
