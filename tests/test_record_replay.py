"""Record a run through the response cache, then replay it: same answers, exact counts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hakaru import ReplayMiss, ResponseCache
from hakaru.backends.replay import ReplayBackend
from hakaru.backends.sim import SimBackend
from hakaru.runner import run_workload
from hakaru.workloads.tree_sum import adder


def test_record_then_replay_and_cache(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    params = {"n": 40, "fan_in": 4}
    live = asyncio.run(
        run_workload("tree-sum", params=params, seed=5, session_options={"cache": path})
    )
    assert live.totals["cached_calls"] == 0

    # The same program on the replay backend: every answer comes from the file.
    spec = adder(4).spec
    replayed = asyncio.run(
        run_workload(
            "tree-sum",
            params=params,
            seed=5,
            backend=ReplayBackend(path),
            model=spec.name,
            session_options={"models": [spec]},
        )
    )
    assert replayed.result.answer == live.result.answer
    for key in ("calls", "input_tokens", "output_tokens", "aalp_cost", "depth", "flagged_calls"):
        assert replayed.totals[key] == live.totals[key], key

    # The same program with the file as a cache: nothing is executed, everything is a hit.
    cached = asyncio.run(
        run_workload("tree-sum", params=params, seed=5, session_options={"cache": path})
    )
    assert cached.result.answer == live.result.answer
    assert cached.totals["calls"] == 0
    assert cached.totals["cached_calls"] == live.totals["calls"] - live.totals["failed_calls"]
    assert cached.totals["forward_passes"] == 0  # cache hits execute no primitive


def test_replay_of_a_different_program_misses(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    asyncio.run(run_workload("tree-sum", params={"n": 8}, session_options={"cache": path}))
    spec = adder(4).spec
    with pytest.raises(ReplayMiss):
        asyncio.run(
            run_workload(
                "tree-sum",
                params={"n": 8},
                seed=99,  # other numbers: other prompts
                backend=ReplayBackend(path),
                model=spec.name,
                session_options={"models": [spec]},
            )
        )


def test_cache_object_is_shared_in_memory() -> None:
    cache = ResponseCache()
    opts = {"cache": cache}
    first = asyncio.run(run_workload("tree-sum", params={"n": 16}, session_options=opts))
    second = asyncio.run(
        run_workload("tree-sum", params={"n": 16}, backend=SimBackend(seed=0), session_options=opts)
    )
    assert second.totals["cached_calls"] == first.totals["calls"]
