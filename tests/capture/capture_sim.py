"""Real simulated servers for the capture tests, and what they billed (fixtures re-exported by
conftest.py)."""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "proxy"))

from proxy_servers import spawn, stop

pytest.importorskip("opentelemetry.sdk.trace")


class Sim:
    """A simulated server in another process; :meth:`billed` is what it counted since the
    last :meth:`mark` (calls and tokens per class, from its ``/hakaru/stats``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._mark = self._stats()

    def _stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url.removesuffix("/v1") + "/hakaru/stats") as reply:
            result: dict[str, Any] = json.loads(reply.read())
        return result

    def mark(self) -> None:
        self._mark = self._stats()

    def billed(self) -> dict[str, int]:
        now = self._stats()
        out = {"calls": now["answered"] - self._mark["answered"]}
        for name, n in now["tokens"].items():
            out[name] = n - self._mark["tokens"][name]
        return out


def captured(totals: dict[str, Any]) -> dict[str, int]:
    """A capture's totals in the server's terms."""
    return {
        "calls": totals["calls"],
        "input": totals["input_tokens"],
        "output": totals["output_tokens"],
        "reasoning": totals["reasoning_tokens"],
        "cache_read": totals["cache_read_tokens"],
        "cache_write": totals["cache_write_tokens"],
    }


@pytest.fixture(scope="module")
def sim_server() -> Iterator[str]:
    proc, url = spawn("sim", "serve", "--port", "0")
    yield url
    stop(proc)


@pytest.fixture(scope="module")
def slow_sim_server() -> Iterator[str]:
    """Calls take their simulated latency (a tenth of it): concurrent calls overlap."""
    proc, url = spawn("sim", "serve", "--port", "0", "--latency-scale", "0.1")
    yield url
    stop(proc)


@pytest.fixture
def sim(sim_server: str) -> Sim:
    return Sim(sim_server)


@pytest.fixture
def slow_sim(slow_sim_server: str) -> Sim:
    return Sim(slow_sim_server)
