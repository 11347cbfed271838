"""Real servers for the proxy tests: in a background thread, or as ``hakaru`` subprocesses.

Fixtures are re-exported by ``conftest.py``; tests import the helpers from here.

No mocks: every test talks HTTP over a loopback socket to the real simulated server and the real
recording proxy. :class:`LoopThread` runs servers on an asyncio loop in a thread, so a test can
read the recorder's state; :func:`spawn` starts the command-line servers as other processes.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web

from hakaru.backends.sim import SimBackend
from hakaru.proxy.faults import FaultPlan
from hakaru.proxy.recorder import Recorder
from hakaru.proxy.server import SimServer
from hakaru.proxy.serving import Listening, ServerLimits, Service, listen
from hakaru.proxy.sim_reasoning import ReasoningSim
from hakaru.store import RunStore

T = TypeVar("T")


class LoopThread:
    """An asyncio event loop running in a daemon thread; ``run(coro)`` executes on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        async def wrap() -> T:
            return fn()

        return self.run(wrap())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class Routes:
    """A :class:`~hakaru.proxy.serving.Service` made of given routes (an upstream for a test)."""

    def __init__(self, routes: Sequence[web.RouteDef]) -> None:
        self._routes = list(routes)
        self.limits = ServerLimits()

    def routes(self) -> Sequence[web.RouteDef]:
        return self._routes

    def error(self, status: int, message: str) -> web.Response:
        return web.Response(status=status, text=message)


class Servers:
    """A simulated server and a recording proxy in front of it, both on one loop thread."""

    def __init__(self, loop: LoopThread, store: RunStore) -> None:
        self.loop = loop
        self.store = store
        self._servers: list[Listening] = []
        self.sim: SimServer | None = None
        self.recorder: Recorder | None = None

    def serve(self, service: Service) -> str:
        server = self.loop.run(listen(service))
        self._servers.append(server)
        return server.url

    def start_sim(
        self, faults: FaultPlan | None = None, reasoning: ReasoningSim | None = None, **backend: Any
    ) -> str:
        self.sim = SimServer(SimBackend(**backend), faults=faults, reasoning=reasoning)
        return self.serve(self.sim) + "/v1"

    def start_proxy(self, upstream: str, **options: Any) -> str:
        self.recorder = Recorder(upstream, self.store, **options)
        self.loop.call(lambda: self.recorder.begin("proxy", "test") if self.recorder else None)
        return self.serve(self.recorder) + "/v1"

    def end(self) -> dict[str, Any]:
        assert self.recorder is not None
        return self.loop.run(self.recorder.end())

    def close(self) -> None:
        for server in self._servers:
            self.loop.run(server.close())
        if self.recorder is not None:
            self.loop.run(self.recorder.aclose())


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    with RunStore(tmp_path / "hakaru.db") as s:
        yield s


@pytest.fixture
def servers(loop_thread: LoopThread, store: RunStore) -> Iterator[Servers]:
    s = Servers(loop_thread, store)
    yield s
    s.close()


def spawn(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``hakaru ARGS…`` (its first line of stdout must be its ``http://…/v1`` URL alone)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hakaru.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.fullmatch(r"http://[\d.]+:\d+/v1", line.rstrip("\n"))  # the URL alone
    if match is None:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"hakaru {' '.join(args)} did not start: {line!r} {err}")
    return proc, match.group(0)


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGTERM, wait, and return the rest of stdout and stderr."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture
def sim_url() -> Iterator[str]:
    """``hakaru sim serve --port 0`` in another process."""
    proc, url = spawn("sim", "serve", "--port", "0")
    yield url
    stop(proc)
