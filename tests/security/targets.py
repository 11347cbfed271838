"""The servers under attack: ``hakaru sim serve`` and ``hakaru proxy``, real processes on loopback.

Each :class:`Target` is a command-line server started as users start it (short head and body
timeouts, so that the timeout cases finish quickly), its stderr in a file (a pipe nobody reads
would block a server that logs a lot). :meth:`Target.raw` sends bytes on a fresh socket and
reads the answer; :meth:`Target.normal` is the request that must still succeed after every
attack; :meth:`Target.intact` checks that the servers live and the proxy's store is whole.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEAD_TIMEOUT = 1.0  # s, given to both servers
BODY_TIMEOUT = 1.0  # s
SUM = "Add these numbers: 20, 22"
BODY = json.dumps({"model": "sim-oracle", "messages": [{"role": "user", "content": SUM}]})


@dataclass
class Target:
    """A running server and what is known about it."""

    name: str
    proc: subprocess.Popen[bytes]
    host: str
    port: int
    stderr: Path
    store: Path | None = None  # the proxy's run store
    upstream: Target | None = None
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def raw(self, data: bytes, *, timeout: float = 10.0, idle: float = 0.5) -> Reply:
        """Send ``data`` on a new connection and read the answer: until the server closes, or
        ``idle`` seconds pass without more once something arrived (a kept-alive connection),
        or ``timeout`` seconds pass with nothing."""
        with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
            sock.sendall(data)
            out = b""
            while True:
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    return Reply(out, closed=False)
                except ConnectionResetError:
                    return Reply(out, closed=True)
                if not chunk:
                    return Reply(out, closed=True)
                out += chunk
                sock.settimeout(idle)

    def normal(self) -> None:
        """A well-formed chat completion: it must be answered 200 with the right sum."""
        req = urllib.request.Request(
            self.url + "/v1/chat/completions",
            data=BODY.encode(),
            headers={"content-type": "application/json", "authorization": "Bearer sk-x"},
        )
        with urllib.request.urlopen(req, timeout=20) as resp:
            assert resp.status == 200
            answer = json.loads(resp.read())
        assert answer["choices"][0]["message"]["content"] == "sum = 42"

    def stats(self) -> dict[str, Any]:
        """The simulated server's counters (``requests``: completion requests it received)."""
        with urllib.request.urlopen(self.url + "/hakaru/stats", timeout=20) as resp:
            stats: dict[str, Any] = json.loads(resp.read())
        return stats

    def intact(self) -> None:
        """The servers live; the proxy's store passes SQLite's integrity check and holds exactly
        one record per completion request the simulated server behind it received."""
        for proc in [self.proc, *self.extra]:
            assert proc.poll() is None, f"{self.name} died: {self.log()[-2000:]}"
        if self.store is None:
            assert self.stats()["requests"] > 0
            return
        assert self.upstream is not None
        received = self.upstream.stats()["requests"]
        with contextlib.closing(sqlite3.connect(f"file:{self.store}?mode=ro", uri=True)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert db.execute("SELECT COUNT(*) FROM calls").fetchone() == (received,)

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")


@dataclass(frozen=True)
class Reply:
    """What came back on one connection, and whether the server closed it."""

    data: bytes
    closed: bool

    @property
    def status(self) -> int:
        """The status code of the first response (0: none came)."""
        match = re.match(rb"HTTP/1\.[01] (\d{3}) ", self.data)
        return int(match.group(1)) if match else 0

    @property
    def responses(self) -> int:
        """How many responses came (a smuggled request would make two)."""
        return len(re.findall(rb"(?:^|\r\n)HTTP/1\.[01] \d{3} ", self.data))


def start(
    name: str,
    args: list[str],
    stderr: Path,
    preexec: Callable[[], None] | None = None,
) -> Target:
    """Start ``hakaru ARGS…`` and wait for the URL it prints."""
    err = stderr.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hakaru.cli.main", *args,
         "--head-timeout", str(HEAD_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT)],
        stdout=subprocess.PIPE, stderr=err, preexec_fn=preexec,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    match = re.search(r"http://([\d.]+):(\d+)/v1", line)
    if match is None:
        proc.kill()
        raise AssertionError(f"hakaru {' '.join(args)} did not start: {stderr.read_text()}")
    return Target(name, proc, match.group(1), int(match.group(2)), stderr)


def stop(target: Target) -> None:
    """SIGTERM ends it within seconds (a server stuck in a loop would not)."""
    for proc in [target.proc, *target.extra]:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(f"{target.name} ignored SIGTERM") from None


def sim_and_proxy(kind: str, tmp: Path, preexec: Callable[[], None] | None = None) -> Target:
    """``sim``: the simulated server alone; ``proxy``: the proxy in front of one."""
    sim = start("sim serve", ["sim", "serve", "--port", "0"], tmp / "sim.err", preexec)
    if kind == "sim":
        return sim
    store = tmp / "proxy.db"
    upstream = f"{sim.url}/v1"
    proxy = start(
        "proxy",
        ["proxy", "--upstream", upstream, "--port", "0", "--store", str(store)],
        tmp / "proxy.err",
        preexec,
    )
    proxy.store = store
    proxy.upstream = sim
    proxy.extra.append(sim.proc)
    return proxy


def serving(kind: str, tmp: Path, preexec: Callable[[], None] | None = None) -> Iterator[Target]:
    """For a fixture: the target of ``kind`` while the test runs; stopped afterwards, and its
    log checked to hold no traceback (errors are logged on one line)."""
    target = sim_and_proxy(kind, tmp, preexec)
    try:
        yield target
    finally:
        stop(target)
    logs = target.log() + (target.upstream.log() if target.upstream else "")
    assert "Traceback" not in logs and '  File "' not in logs
