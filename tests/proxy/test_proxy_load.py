"""The load test: 30,000 requests through the proxy, and not one record lost.

Three processes as in real use — ``hakaru sim serve``, ``hakaru proxy`` and this test driving 64
keep-alive connections — then the proxy is stopped with SIGTERM and the store is counted. Set
HAKARU_LOAD_REQUESTS to change the size (30,000 take one to two minutes on two busy cores, as
every request crosses aiohttp's server and client twice; ``HAKARU_LOAD_REQUESTS=100000`` is the
full run, about three times as long).
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request
from pathlib import Path

import pytest
from proxy_servers import spawn, stop

from hakaru.proxy.loadgen import run_load
from hakaru.store import RunStore

REQUESTS = int(os.environ.get("HAKARU_LOAD_REQUESTS", "30000"))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_no_record_is_lost_under_load(tmp_path: Path) -> None:
    sim, sim_url = spawn("sim", "serve", "--port", "0")
    db = tmp_path / "load.db"
    proxy, url = spawn("proxy", "--upstream", sim_url, "--port", "0", "--store", str(db))
    try:
        host, port = url.removeprefix("http://").removesuffix("/v1").split(":")
        result = asyncio.run(run_load(host, int(port), clients=64, requests=REQUESTS))
        stats_url = sim_url.removesuffix("/v1") + "/hakaru/stats"
        with urllib.request.urlopen(stats_url, timeout=10) as resp:
            served = json.loads(resp.read())
    finally:
        _, err = stop(proxy)
        stop(sim)
    assert (len(result.latencies), result.errors) == (REQUESTS, 0)
    assert served["requests"] == served["answered"] == REQUESTS
    with RunStore(db) as store:
        (run,) = store.runs()
        assert (run.status, run.calls) == ("done", REQUESTS)
        assert run.summary is not None
        assert (run.summary["calls"], run.summary["ok_calls"]) == (REQUESTS, REQUESTS)
        assert run.summary["peak_concurrency"] <= 64
    assert f"{REQUESTS} calls (0 failed)" in err
