"""Running out of file descriptors: the server recovers and does not flood its log.

Each server runs with at most 256 open files; 260 connections that never send a byte take them
all. The head timeout closes them, the server accepts again, and a normal request — queued in
the kernel behind the attackers — is answered. While it is out of descriptors the server logs
one line per failed ``accept()`` retry (asyncio retries once a second), not a torrent.
"""

from __future__ import annotations

import resource
import socket
import time
from collections.abc import Iterator

import pytest
from targets import HEAD_TIMEOUT, Target, serving

LIMIT = 256  # open files the servers may hold
ATTACKERS = 260


def low_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


@pytest.fixture(params=["sim", "proxy"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp(f"fd-{request.param}")
    yield from serving(request.param, tmp, preexec=low_file_limit)


def test_idle_connections_that_take_every_descriptor_are_shed(target: Target) -> None:
    target.normal()
    idle = [socket.create_connection((target.host, target.port)) for _ in range(ATTACKERS)]
    try:
        time.sleep(HEAD_TIMEOUT * 3)  # the server runs out, sheds them, accepts the rest
        target.normal()  # waits in the kernel's queue until the server can take it
        target.intact()
        shed = sum(1 for sock in idle if _closed_by_server(sock))
    finally:
        for sock in idle:
            sock.close()
    assert shed >= LIMIT // 2
    logs = target.log()
    assert "socket.accept() out of system resource" in logs
    assert len(logs) < 20_000  # a line a second, not megabytes
    assert "Traceback" not in logs


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:  # still open (or not yet accepted)
        return False
