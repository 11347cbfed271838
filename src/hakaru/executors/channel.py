"""A direct data channel between the driver and a Ray actor: authenticated TCP, pickle frames.

The Ray executor (:mod:`hakaru.executors.ray`) uses Ray to place, start, replace and watch its
actors, but a Ray message costs the driver about half a millisecond of CPU, more than hakaru
spends on a call. So each call travels instead over a plain asyncio TCP connection from the
driver to the actor, opened once per actor and event loop; this module is that connection.

Wire format, both ways after the first bytes:

- The client first sends the pool's secret: :data:`SECRET_BYTES` raw bytes (made by
  :func:`new_secret`, given to the actor through Ray). The server compares them with
  :func:`hmac.compare_digest` and closes the connection on a mismatch — or when they have not
  come within :data:`AUTH_TIMEOUT` seconds — before it reads, let alone unpickles, anything
  else. Pickle runs code, so nothing from an unauthenticated peer is ever unpickled.
- Then every frame is a 4-byte big-endian length and that many bytes of a standard pickle of a
  *list* of messages: what one side produced in one turn of its event loop travels together,
  up to :data:`FRAME_MESSAGES` to a frame, which saves the system calls and pickling of one
  frame per message.
- Client to server: ``("call", call_id, request)`` and ``("cancel", call_id)``. Server to client:
  ``(call_id, answer)``, with the value the server's handler returned, as soon as it is ready;
  a cancelled call gets no answer. Handlers return errors as values; one that raises anyway
  answers a :class:`ChannelError`, which the client raises.

A connection that ends — EOF, reset, a frame that cannot be unpickled — fails every call still
waiting on it with :class:`ChannelClosed`, and the server cancels the calls it was running for
it, so no caller waits on an answer that cannot come. TCP keepalive ends a connection whose
peer vanished without closing it (a node that went away) in about 30 s.
"""

from __future__ import annotations

import asyncio
import hmac
import importlib
import itertools
import pickle
import secrets
import socket
import struct
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = [
    "AUTH_TIMEOUT",
    "FRAME_MESSAGES",
    "SECRET_BYTES",
    "ChannelClosed",
    "ChannelError",
    "Connection",
    "FrameDecoder",
    "encode_frame",
    "new_secret",
    "serve",
]

SECRET_BYTES = 32
AUTH_TIMEOUT = 10.0  # seconds a server waits for a new connection's secret
#: Messages per frame at most: a burst longer than this goes out in several frames as it is
#: produced, so that the peer starts on the first calls while this side queues the rest
#: (measured on this machine with bursts of 64 calls: about a third less transport latency
#: than one frame per loop turn, for about the same CPU; 2 or 4 did no better).
FRAME_MESSAGES = 8
_HEADER = struct.Struct("!I")  # a frame's payload length, 4 bytes big-endian

#: A server's handler: one request in, its answer out (errors returned as values).
Handler = Callable[[Any], Coroutine[Any, Any, Any]]


class ChannelError(Exception):
    """A call could not be carried (its request or answer cannot be pickled, or the remote
    handler raised)."""


class ChannelClosed(ChannelError):
    """The connection ended before the call was answered."""


def new_secret() -> bytes:
    """A fresh secret for one pool of servers: :data:`SECRET_BYTES` random bytes."""
    return secrets.token_bytes(SECRET_BYTES)


def _dumps(obj: Any) -> bytes:
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # e.g. a function defined in __main__: Ray's cloudpickle can
        try:  # the peer is a Ray process, so it has it too
            cloudpickle: Any = importlib.import_module("ray.cloudpickle")
        except ImportError:
            raise exc from None
        return bytes(cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def encode_frame(messages: list[Any]) -> bytes:
    """One frame: the length of the pickled ``messages``, then the pickle."""
    payload = _dumps(messages)
    return _HEADER.pack(len(payload)) + payload


class FrameDecoder:
    """Turns the bytes of a stream, however they are cut, back into the messages sent."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        """The messages of every frame that ``data`` completes, in order (an incomplete frame
        waits for the next bytes). A payload that cannot be unpickled raises."""
        buffer = self._buffer
        buffer += data
        messages: list[Any] = []
        size, pos = len(buffer), 0
        with memoryview(buffer) as view:  # released before the buffer shrinks
            while size - pos >= _HEADER.size:
                (length,) = _HEADER.unpack_from(view, pos)
                end = pos + _HEADER.size + length
                if end > size:
                    break
                messages.extend(pickle.loads(view[pos + _HEADER.size : end]))
                pos = end
        if pos:
            del buffer[:pos]
        return messages

    @property
    def pending(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return len(self._buffer)


class _Link(asyncio.Protocol, ABC):
    """One end of a channel: frames in, messages out coalesced per turn of the event loop."""

    def __init__(self, secret: bytes | None = None) -> None:
        self.loop = asyncio.get_running_loop()  # protocols are built inside their loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.frames_sent = 0
        self.lost: asyncio.Future[None] = self.loop.create_future()
        self._expect = secret  # server side: the secret still to be received
        self._auth = bytearray()
        self._decoder = FrameDecoder()
        self._out: list[Any] = []
        self._why: str | None = None  # why this side dropped the connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:  # notice a peer that vanished without closing (a dead node)
            _keepalive(sock)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        if self._expect is not None:
            data = self._authenticate(data)
            if not data:
                return
        try:
            messages = self._decoder.feed(data)
        except Exception as exc:
            self.abort(f"a frame could not be unpickled ({type(exc).__name__}: {exc})")
            return
        if messages:
            self.received(messages)

    def _authenticate(self, data: bytes) -> bytes:
        assert self._expect is not None
        self._auth += data
        n = len(self._expect)
        if len(self._auth) < n:
            return b""
        given, rest = bytes(self._auth[:n]), bytes(self._auth[n:])
        if not hmac.compare_digest(given, self._expect):
            self.abort("wrong secret")  # nothing after it is read
            return b""
        self._expect = None
        self._auth.clear()
        return rest

    @abstractmethod
    def received(self, messages: list[Any]) -> None:
        """Handle the messages of one frame (each end has its own)."""

    def send(self, message: Any) -> None:
        """Queue ``message``: the messages queued in one loop turn go together, in frames of
        :data:`FRAME_MESSAGES` at most."""
        out = self._out
        out.append(message)
        if len(out) == 1:
            self.loop.call_soon(self._flush)
        elif len(out) >= FRAME_MESSAGES:
            self._flush()

    def _flush(self) -> None:
        out, self._out = self._out, []
        if self.closed or self.transport is None or not out:
            return
        try:
            frame = encode_frame(out)
        except Exception:  # find the messages that cannot be pickled; the rest go
            kept = []
            for message in out:
                try:
                    _dumps(message)
                except Exception as exc:
                    message = self.unsendable(message, exc)
                if message is not None:
                    kept.append(message)
            if not kept:
                return
            frame = encode_frame(kept)
        self.transport.write(frame)
        self.frames_sent += 1

    def unsendable(self, message: Any, exc: Exception) -> Any:
        """What to send instead of a message that cannot be pickled (``None``: nothing)."""
        return None

    def abort(self, reason: str) -> None:
        """Drop the connection now (what is queued is not sent)."""
        self._why = reason
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        """Close the connection once what is queued has been written."""
        if self.transport is not None and not self.transport.is_closing():
            self._flush()
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.lost.done():
            self.lost.set_result(None)

    def reason(self, exc: Exception | None) -> str:
        """Why the connection ended, in words."""
        if self._why:
            return self._why
        return f"{type(exc).__name__}: {exc}" if exc else "closed by the peer"


def _keepalive(sock: Any) -> None:
    # A peer whose node went away without closing the connection is noticed in about 30 s,
    # not after the OS's hours: an idle connection is probed after 10 s, every 5 s, and data
    # left unacknowledged for 30 s ends it (Linux; elsewhere what the OS offers).
    options = (
        ("TCP_KEEPIDLE", 10),
        ("TCP_KEEPINTVL", 5),
        ("TCP_KEEPCNT", 4),
        ("TCP_USER_TIMEOUT", 30_000),  # milliseconds
    )
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in options:
            if hasattr(socket, name):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
    except OSError:
        pass


class _ServerLink(_Link):
    """The server's end of one connection: runs each call as its own task."""

    def __init__(self, secret: bytes, handler: Handler) -> None:
        super().__init__(secret)
        self._handler = handler
        self._tasks: dict[Any, asyncio.Task[Any]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._timer = self.loop.call_later(AUTH_TIMEOUT, self._too_slow)

    def _too_slow(self) -> None:
        if self._expect is not None:
            self.abort("no secret in time")

    def received(self, messages: list[Any]) -> None:
        tasks = self._tasks
        for message in messages:
            if message[0] == "call":
                _, call_id, request = message
                tasks[call_id] = self.loop.create_task(self._run(call_id, request))
            elif message[0] == "cancel":
                running = tasks.get(message[1])
                if running is not None:
                    running.cancel()
            else:  # not from a client of this module: stop listening to it
                self.abort(f"a malformed message ({type(message).__name__})")
                return

    async def _run(self, call_id: Any, request: Any) -> None:
        # The answer is queued by the call's own task, not by a done callback: one turn of
        # the loop sooner. A cancelled call (CancelledError) answers nothing.
        try:
            answer = await self._handler(request)
        except Exception as exc:
            answer = ChannelError(f"the call raised {type(exc).__name__}: {exc}")
        finally:
            self._tasks.pop(call_id, None)
        if not self.closed:
            self.send((call_id, answer))

    def unsendable(self, message: Any, exc: Exception) -> Any:
        return (message[0], ChannelError(f"the answer cannot be pickled ({exc})"))

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self._timer is not None:
            self._timer.cancel()
        for task in self._tasks.values():  # the driver went away: stop its calls
            task.cancel()
        self._tasks.clear()


async def serve(secret: bytes, handler: Handler, host: str) -> asyncio.Server:
    """Listen on ``host`` at a free port, in the running loop; each authenticated
    connection's calls run as tasks of ``handler``. The address is
    ``server.sockets[0].getsockname()[:2]``."""
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"the secret must be {SECRET_BYTES} bytes")
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: _ServerLink(secret, handler), host, 0)


class Connection(_Link):
    """The client's end: :meth:`submit` a request, await its future.

    Made with :meth:`open`, bound to the event loop it was opened in, and closed when that loop
    ends (a task holds it open until then).
    """

    def __init__(self) -> None:
        super().__init__()
        self._futures: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count()
        self._holder: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, host: str, port: int, secret: bytes, *, timeout: float) -> Connection:
        """Connect to a :func:`serve` server and authenticate (``OSError`` or
        ``TimeoutError`` if it cannot be reached within ``timeout`` seconds)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            _, conn = await loop.create_connection(cls, host, port)
        assert conn.transport is not None
        conn.transport.write(secret)  # before any frame
        conn._holder = loop.create_task(conn._hold())
        return conn

    async def _hold(self) -> None:
        # asyncio.run cancels this task when its loop ends: the connection closes with the loop
        # instead of lingering in a closed loop until it is garbage-collected.
        try:
            await self.lost
        finally:
            if self.transport is not None:
                self.transport.close()

    def submit(self, request: Any) -> tuple[int, asyncio.Future[Any]]:
        """Send ``request``; its id (for :meth:`cancel`) and the future of its answer."""
        if self.closed:
            raise ChannelClosed("the connection is closed")
        call_id = next(self._ids)
        future: asyncio.Future[Any] = self.loop.create_future()
        self._futures[call_id] = future
        self.send(("call", call_id, request))
        return call_id, future

    def cancel(self, call_id: int) -> None:
        """Stop a call: the server cancels its task, and no answer will come."""
        if self._futures.pop(call_id, None) is not None and not self.closed:
            self.send(("cancel", call_id))

    @property
    def in_flight(self) -> int:
        return len(self._futures)

    def received(self, messages: list[Any]) -> None:
        futures = self._futures
        for call_id, answer in messages:
            future = futures.pop(call_id, None)
            if future is None or future.done():  # cancelled meanwhile
                continue
            if isinstance(answer, ChannelError):
                future.set_exception(answer)
            else:
                future.set_result(answer)

    def unsendable(self, message: Any, exc: Exception) -> Any:
        if message[0] == "call":
            future = self._futures.pop(message[1], None)
            if future is not None and not future.done():
                future.set_exception(ChannelError(f"the request cannot be pickled ({exc})"))
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        reason = self.reason(exc)
        futures, self._futures = self._futures, {}
        for future in futures.values():
            if not future.done():
                future.set_exception(ChannelClosed(f"the connection ended ({reason})"))
