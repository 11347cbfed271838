"""The driver–actor data channel without Ray: framing, and a real server and client over TCP.

The same channel between the driver and real Ray actors is tested in test_ray.py.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import threading
from typing import Any

import pytest

from hakaru.executors.channel import (
    FRAME_MESSAGES,
    SECRET_BYTES,
    ChannelClosed,
    ChannelError,
    Connection,
    FrameDecoder,
    encode_frame,
    new_secret,
    serve,
)

EXPLODED: list[str] = []  # what the booby-trapped pickle did, if it was ever unpickled


def _explode(note: str) -> str:
    EXPLODED.append(note)
    return note


class Boom:
    """Unpickling it runs ``_explode``: proof that a payload was unpickled."""

    def __reduce__(self) -> tuple[Any, ...]:
        return _explode, ("unpickled",)


def test_frames_round_trip_however_the_stream_is_cut() -> None:
    batches: list[list[Any]] = [
        [("call", 0, {"prompt": "x" * 1000})],
        [("call", 1, "a"), ("cancel", 0), (1, (None, ValueError("bad"), 0.5))],
        [],
        [("call", 2, b"\x00" * 70_000)],  # longer than one read
    ]
    stream = b"".join(encode_frame(b) for b in batches)
    expected = [m for b in batches for m in b]
    for cut in (1, 3, 4, 5, 17, 4096, 65_536, len(stream)):
        decoder = FrameDecoder()
        got: list[Any] = []
        for start in range(0, len(stream), cut):
            got.extend(decoder.feed(stream[start : start + cut]))
        assert decoder.pending == 0
        assert [repr(m) for m in got] == [repr(m) for m in expected]
    # A frame is its payload's length (4 bytes, big-endian), then the pickle of the list.
    frame = encode_frame(["hi"])
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    assert pickle.loads(frame[4:]) == ["hi"]


async def _server(
    handler: Any, secret: bytes | None = None
) -> tuple[asyncio.Server, str, int, bytes]:
    secret = secret or new_secret()
    server = await serve(secret, handler, "127.0.0.1")
    host, port = server.sockets[0].getsockname()[:2]
    return server, host, port, secret


def test_calls_cancellation_and_errors_over_a_real_connection() -> None:
    cancelled: list[str] = []

    async def handler(request: Any) -> Any:
        if request == "slow":
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.append(request)
                raise
        if request == "raise":
            raise RuntimeError("handlers return errors as values; this one did not")
        if request == "lock":
            return threading.Lock()  # cannot be pickled, not even by cloudpickle
        await asyncio.sleep(0.01)
        return ("answer", request)

    async def main() -> None:
        server, host, port, secret = await _server(handler)
        async with server:
            conn = await Connection.open(host, port, secret, timeout=5)
            futures = [conn.submit(f"q{i}")[1] for i in range(100)]
            assert await asyncio.gather(*futures) == [("answer", f"q{i}") for i in range(100)]
            # One loop turn: the 100 calls go in frames of FRAME_MESSAGES.
            assert conn.frames_sent == -(-100 // FRAME_MESSAGES)
            call_id, slow = conn.submit("slow")
            await asyncio.sleep(0.1)
            conn.cancel(call_id)
            for _ in range(100):
                if cancelled:
                    break
                await asyncio.sleep(0.01)
            assert cancelled == ["slow"] and not slow.done() and conn.in_flight == 0
            with pytest.raises(ChannelError, match="raised RuntimeError"):
                await conn.submit("raise")[1]
            with pytest.raises(ChannelError, match="answer cannot be pickled"):
                await conn.submit("lock")[1]
            # A request that cannot be pickled fails alone; the others in its frame go.
            bad, good = conn.submit(threading.Lock())[1], conn.submit("ok")[1]
            with pytest.raises(ChannelError, match="request cannot be pickled"):
                await bad
            assert await good == ("answer", "ok")
            conn.close()

    asyncio.run(main())


def test_calls_in_flight_fail_when_the_connection_ends_mid_frame() -> None:
    secret = new_secret()

    async def dying(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A peer that takes the calls, starts an answer frame and dies in the middle of it.
        assert await reader.readexactly(SECRET_BYTES) == secret
        await reader.readexactly(4)
        frame = encode_frame([(0, "answer")])
        writer.write(frame[: len(frame) // 2])
        await writer.drain()
        writer.transport.abort()

    async def main() -> None:
        server = await asyncio.start_server(dying, "127.0.0.1", 0)
        async with server:
            host, port = server.sockets[0].getsockname()[:2]
            conn = await Connection.open(host, port, secret, timeout=5)
            futures = [conn.submit(i)[1] for i in range(5)]
            for future in futures:
                with pytest.raises(ChannelClosed, match="connection ended"):
                    await asyncio.wait_for(future, 5)
            assert conn.closed
            with pytest.raises(ChannelClosed):
                conn.submit("after")

    asyncio.run(main())


def test_a_wrong_secret_is_refused_before_anything_is_unpickled() -> None:
    async def handler(request: Any) -> Any:
        return request

    def attack(host: str, port: int, secret: bytes) -> bytes:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(secret + encode_frame([Boom()]))
            try:
                return sock.recv(100)  # b"": the server closed the connection
            except ConnectionResetError:
                return b""

    async def main() -> None:
        server, host, port, secret = await _server(handler)
        async with server:
            wrong = bytes(b ^ 1 for b in secret)
            assert await asyncio.to_thread(attack, host, port, wrong) == b""
            assert await asyncio.to_thread(attack, host, port, secret[:-1]) == b""
            assert EXPLODED == []  # refused before its frame was read
            # The control: with the right secret the same bytes are unpickled (and then
            # rejected as a malformed message).
            assert await asyncio.to_thread(attack, host, port, secret) == b""
            assert EXPLODED == ["unpickled"]

    EXPLODED.clear()
    asyncio.run(main())
    EXPLODED.clear()
    assert len(new_secret()) == SECRET_BYTES and new_secret() != new_secret()
