"""Hostile requests against ``hakaru sim serve`` and ``hakaru proxy``, over real sockets.

Every attack that hung, smuggled through or crashed the hand-written HTTP/1.1 server these
replaced is sent as raw bytes; each is followed by a normal request that must succeed and a
check that the servers live and the proxy's store is whole (one record per call that reached
the simulated server). The servers are the command-line ones, started once per module.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import pytest
from targets import BODY_TIMEOUT, Target, serving

CHAT = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
BODY = json.dumps({"model": "m", "messages": [{"role": "user", "content": "Add these numbers: 1"}]})


def with_length(head: bytes, body: bytes) -> bytes:
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


@pytest.fixture(scope="module", params=["sim", "proxy"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    yield from serving(request.param, tmp_path_factory.mktemp(request.param))


#: Requests whose framing is broken or ambiguous: each must get a 400 and a closed connection,
#: and nothing after the broken part may be read as another request.
FRAMING = {
    "negative chunk size": CHAT + b"Transfer-Encoding: chunked\r\n\r\n-6\r\nabc\r\n0\r\n\r\n",
    "0x chunk size": CHAT + b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
    "Content-Length with Transfer-Encoding": CHAT
    + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    + b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n",
    "Transfer-Encoding: xchunked": CHAT
    + b"Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "Transfer-Encoding: chunked, identity": CHAT
    + b"Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "Content-Length: +80": CHAT + b"Content-Length: +5\r\n\r\nhello",
    "Content-Length: 8_0": CHAT + b"Content-Length: 5_0\r\n\r\nhello",
    "Content-Length : 80": CHAT + b"Content-Length : 5\r\n\r\nhello",
    "two different Content-Lengths": CHAT + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "bare CR in a header value": CHAT + b"X-A: b\rAuthorization: Bearer stolen\r\n\r\n",
    "LF in a header value (obsolete folding)": CHAT + b"X-A: b\r\n c\r\n\r\n",
    "NUL in a header value": CHAT + b"X-A: b\x00c\r\n\r\n",
    "100 KB header after a complete head": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: "
    + b"a" * 100_000
    + b"\r\n\r\n",
    "5,000 headers": b"GET /v1/models HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-%d: a\r\n" % i for i in range(5000))
    + b"\r\n",
    "request line of 20 KB": b"GET /v1/" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "no Host in HTTP/1.1": b"GET /v1/models HTTP/1.1\r\n\r\n",
    "garbage": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n",
}


@pytest.mark.parametrize("name", list(FRAMING))
def test_broken_framing_is_refused_and_the_connection_closed(target: Target, name: str) -> None:
    reply = target.raw(FRAMING[name])
    assert reply.status == 400, reply.data[:300]
    assert reply.closed and reply.responses == 1  # nothing smuggled after it
    target.normal()
    target.intact()


def test_json_nested_100000_deep_is_refused_before_parsing(target: Target) -> None:
    deep = b'{"model": "m", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    reply = target.raw(with_length(CHAT, deep))
    assert reply.status == 400
    assert b"JSON body nests 100001 levels deep, more than 128." in reply.data
    target.normal()
    target.intact()


def test_a_body_over_the_limit_gets_413(target: Target) -> None:
    reply = target.raw(with_length(CHAT, b" " * (33 * 2**20)))
    assert reply.status == 413
    assert b"larger than 33,554,432 bytes" in reply.data
    target.normal()
    target.intact()


#: Paths and methods outside the API: answered by the server itself, forwarded nowhere.
OUTSIDE = [
    b"GET /v1/../v1/models HTTP/1.1",
    b"POST /v1/chat/completions/../../completions HTTP/1.1",
    b"GET /v1/%2e%2e/admin HTTP/1.1",
    b"GET //v1//models HTTP/1.1",
    b"GET /admin HTTP/1.1",
    b"POST /v1/files HTTP/1.1",
    b"GET http://169.254.169.254/latest/meta-data HTTP/1.1",
    b"CONNECT 169.254.169.254:80 HTTP/1.1",
    b"DELETE /v1/models HTTP/1.1",
    b"GET /v1/chat/completions HTTP/1.1",
]


@pytest.mark.parametrize("line", OUTSIDE, ids=lambda b: b.decode())
def test_paths_outside_the_api_are_answered_locally(target: Target, line: bytes) -> None:
    before = target.upstream.stats()["requests"] if target.upstream else 0
    reply = target.raw(line + b"\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    assert reply.status in (404, 405)
    error = json.loads(reply.data.partition(b"\r\n\r\n")[2])["error"]
    if target.upstream is not None:  # the proxy's own answer: nothing reached the upstream
        assert error["type"] == "hakaru_proxy_error" and "simulated" not in error["message"]
        assert target.upstream.stats()["requests"] == before
    target.normal()
    target.intact()


def test_slowloris_connections_are_closed_and_others_served(target: Target) -> None:
    """200 connections send a request head one header every 0.2 s; each is closed after the
    head timeout, and a normal request is served meanwhile."""
    lines = 50  # header lines each attacker would send, one per 0.2 s: 10 s in all

    async def attacker() -> bool:
        """Whether the server closed the connection before the attacker was done."""
        reader, writer = await asyncio.open_connection(target.host, target.port)
        writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        try:
            for i in range(lines):
                await asyncio.sleep(0.2)
                if reader.at_eof():
                    return True
                writer.write(b"X-%d: a\r\n" % i)
                await writer.drain()
        except ConnectionError:
            return True
        finally:
            writer.close()
        return False

    served = threading.Event()

    def normal_during_attack() -> None:
        time.sleep(0.3)
        target.normal()
        served.set()

    side = threading.Thread(target=normal_during_attack)
    side.start()

    async def attack() -> list[bool]:
        return await asyncio.gather(*(attacker() for _ in range(200)))

    cut = asyncio.run(attack())
    side.join()
    assert served.is_set()
    assert all(cut)  # every attacker was cut off by the server
    target.normal()
    target.intact()


def test_a_body_sent_too_slowly_gets_408(target: Target) -> None:
    async def slow_body() -> bytes:
        reader, writer = await asyncio.open_connection(target.host, target.port)
        writer.write(CHAT + b"Content-Length: 1000\r\n\r\n{")
        data = b""
        for _ in range(50):  # a byte every 0.1 s: 5 s in all
            try:
                data = await asyncio.wait_for(reader.read(65536), 0.1)
                break
            except TimeoutError:
                writer.write(b" ")
        writer.close()
        return data

    data = asyncio.run(slow_body())  # a server without a body timeout would never answer
    assert data.startswith(b"HTTP/1.1 408 ")
    assert b"did not arrive within %g s" % BODY_TIMEOUT in data
    target.normal()
    target.intact()


def test_errors_are_logged_on_one_line(target: Target) -> None:
    assert target.raw(FRAMING["negative chunk size"]).status == 400
    time.sleep(0.2)  # the log line is written after the answer
    lines = target.log().splitlines()
    assert any(
        line.startswith("Error handling request from 127.0.0.1: BadHttpMessage: 400")
        for line in lines
    )
    assert not any(line.startswith(("Traceback", "  File")) for line in lines)
