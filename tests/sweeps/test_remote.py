"""Sweep points as Ray tasks on a real local cluster (2 CPUs, ~5 s to start): the same points,
totals and stored runs as a sweep in this process."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from hakaru.errors import ConfigError  # noqa: E402
from hakaru.ledger import totals_of  # noqa: E402
from hakaru.store import RunStore  # noqa: E402
from hakaru.sweeps import run_sweep  # noqa: E402
from hakaru.sweeps.remote import run_workload_remote  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[None]:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init("local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_a_sweep_on_ray_gives_the_points_of_a_local_sweep() -> None:
    kw: dict[str, Any] = {"variants": ["tree"], "repeats": 2, "seed": 1, "sim_error": 0.05}
    local = asyncio.run(run_sweep("tree-sum", {"n": [16, 64]}, **kw))
    store = RunStore(":memory:")
    remote = asyncio.run(run_sweep("tree-sum", {"n": [16, 64]}, executor="ray", store=store, **kw))
    assert len(remote.points) == 4 and remote.complete
    assert [p.key for p in remote.points] == [p.key for p in local.points]
    assert [p.totals for p in remote.points] == [p.totals for p in local.points]
    assert [p.correct for p in remote.points] == [p.correct for p in local.points]
    for p in remote.points:  # each point's run and records copied into the driver's store
        assert len(list(store.calls(p.run_id))) == p.totals["calls"]


def test_remote_point_is_stored_in_the_drivers_store() -> None:
    store = RunStore(":memory:")
    out = asyncio.run(
        run_workload_remote("tree-sum", params={"n": 64}, seed=2, sim_error=0.05, store=store)
    )
    info = store.run(out.run_id)
    assert (info.kind, info.name, info.status) == ("run", "tree-sum/tree", "done")
    records = list(store.calls(out.run_id))
    assert len(records) == out.totals["calls"] == 21
    # exactly: the ledger's sums are order-free; the prices travel with the records
    assert out.totals == totals_of(records, store.prices(out.run_id))
    with pytest.raises(ConfigError, match="leave 'executor' out"):
        asyncio.run(run_workload_remote("tree-sum", session_options={"executor": "ray"}))
