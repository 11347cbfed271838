"""The Ray executor opens no port of its own: its actors listen only where Ray makes them listen.

Every Ray worker process listens on one port, its core worker's gRPC server (Ray's own, under
the cluster's security model: docs/scale-out.md). A hakaru actor, after serving calls, must
listen on exactly as many sockets as a plain Ray actor of the same cluster; a control actor
that opens a listener of its own shows that the count would see one. The source is checked too:
no module of hakaru but the HTTP server's calls an API that listens. (That totals on Ray are
bit-identical to in-process is tests/executors/test_ray.py::test_same_workload_same_totals_on_
both_executors.)
"""

from __future__ import annotations

import ast
import asyncio
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")

from hakaru.backends.sim import SimBackend  # noqa: E402
from hakaru.executors.ray import RayBackend, RayExecutor  # noqa: E402
from hakaru.session import Session  # noqa: E402
from hakaru.types import Request  # noqa: E402

SRC = Path(__file__).resolve().parents[2] / "src" / "hakaru"


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[None]:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init("local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def listening(pid: int) -> set[tuple[str, int]]:
    """The (address, port) pairs process ``pid`` listens on (TCP, IPv4 and IPv6)."""
    return {
        (c.laddr.ip, c.laddr.port)
        for c in psutil.Process(pid).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }


@ray.remote(num_cpus=0)
class Plain:
    """A Ray actor with no code of hakaru's: what every worker listens on by Ray's doing."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None

    def pid(self) -> int:
        return os.getpid()

    def listen(self) -> int:
        """The control: open a listener of its own, as the removed channel did."""
        self.sock = socket.create_server(("127.0.0.1", 0))
        return int(self.sock.getsockname()[1])


def test_pool_actors_listen_only_where_ray_does() -> None:
    plain = Plain.remote()
    plain_pid = ray.get(plain.pid.remote())
    ray_own = listening(plain_pid)
    assert len(ray_own) >= 1  # the core worker's port

    async def serve_calls() -> list[int]:
        executor = RayExecutor(actors=3, max_concurrency=8)
        async with Session(SimBackend(seed=1), executor=executor) as s:
            await s.gather(*(s.call(Request.chat("sim-small", f"q{i}")) for i in range(60)))
            pool = s.backend
            assert isinstance(pool, RayBackend)
            assert all(n > 0 for n in pool.stats().served)
            pids = [await actor.ready.remote() for actor in pool.actors]
            counts = [len(listening(pid)) for pid in pids]
            await pool.aclose()
        assert counts == [len(ray_own)] * 3
        return pids

    pids = asyncio.run(serve_calls())
    assert plain_pid not in pids

    # the control: the same count sees a listener an actor opens itself
    port = ray.get(plain.listen.remote())
    deadline = time.monotonic() + 10
    while len(listening(plain_pid)) == len(ray_own) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listening(plain_pid) - ray_own == {("127.0.0.1", port)}


#: Calls that make a process listen: asyncio, socket and aiohttp server APIs (``listen`` and
#: ``bind`` as methods of a socket: the bare name ``listen`` is hakaru.proxy.serving.listen).
LISTENING_CALLS = frozenset(
    {"start_server", "create_server", "start_unix_server", "create_unix_server",
     "TCPSite", "UnixSite", "SockSite", "run_app", "serve_forever", "create_datagram_endpoint"}
)  # fmt: skip
SOCKET_METHODS = frozenset({"listen", "bind"})


def test_no_module_but_the_http_server_listens() -> None:
    found: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                method = isinstance(func, ast.Attribute)
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in LISTENING_CALLS or (method and name in SOCKET_METHODS):
                    found.setdefault(str(path.relative_to(SRC)), set()).add(name)
    assert found == {"proxy/serving.py": {"TCPSite"}}
