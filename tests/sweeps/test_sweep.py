"""Sweeps as a library: grid expansion, stored points, resume, series, rows, errors."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from hakaru.backends.base import register_backend
from hakaru.backends.sim import SimBackend
from hakaru.errors import ConfigError, RateLimited
from hakaru.store import RunStore
from hakaru.sweeps import (
    PointResult,
    SweepProgress,
    SweepResult,
    load_sweep,
    point_key,
    run_sweep,
)
from hakaru.types import Request, Response

GRID = {"n": [8, 16], "fan_in": [2, 4]}


def sweep(*args: Any, **kwargs: Any) -> SweepResult:
    return asyncio.run(run_sweep(*args, **kwargs))


def comparable(result: SweepResult) -> list[dict[str, Any]]:
    """Points without their run ids (every run gets a fresh one)."""
    return [{**p.as_json(), "run_id": None, "by_role": p.by_role} for p in result.points]


def point_runs(path: Path) -> int:
    with RunStore(path) as store:
        return len(store.runs(limit=None, kind="run"))


def test_grid_is_params_times_variants_times_repeats_in_table_order() -> None:
    result = sweep("tree-sum", GRID, repeats=2, seed=10, sim_error=0)
    coords = [
        (p.variant, p.params["n"], p.params["fan_in"], p.repeat, p.seed) for p in result.points
    ]
    assert coords == [
        (v, n, f, r, 10 + r)
        for v in ("tree", "single")
        for n in (8, 16)
        for f in (2, 4)
        for r in (0, 1)
    ]
    assert len({p.key for p in result.points}) == 16 and result.executed == 16
    assert (result.sweep_id, result.complete, result.resumed) == ("", True, 0)
    for p in result.points:  # no errors: the measured counts are the analytic ones, exactly
        assert (p.totals["calls"], p.totals["depth"]) == (p.analytic["calls"], p.analytic["depth"])
        assert p.correct and p.error is None


def test_grid_values_are_sorted_and_deduplicated_and_variants_chosen() -> None:
    result = sweep("tree-sum", {"n": [16, 8, 16]}, variants=["single"])
    assert result.spec.grid == {"n": [8, 16]} and result.spec.variants == ["single"]
    assert [p.params for p in result.points] == [{"n": 8, "fan_in": 4}, {"n": 16, "fan_in": 4}]
    # parameters in the workload's order, however the grid lists them
    shuffled = sweep("tree-sum", {"fan_in": [4, 2], "n": [16, 8]}, variants=["tree"])
    assert list(shuffled.spec.grid) == ["n", "fan_in"]
    assert [tuple(p.params.values()) for p in shuffled.points] == [(8, 2), (8, 4), (16, 2), (16, 4)]


def test_point_key_is_canonical() -> None:
    assert point_key("tree", {"n": 8, "fan_in": 4}, 1) == point_key(
        "tree", {"fan_in": 4, "n": 8}, 1
    )
    assert json.loads(point_key("tree", {"n": 8}, 1)) == {
        "variant": "tree",
        "params": {"n": 8},
        "repeat": 1,
    }


def test_every_point_is_stored_with_its_own_run(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    result = sweep("tree-sum", {"n": [8, 64], "fan_in": [2, 4]}, repeats=2, store=db, sim_error=0)
    with RunStore(db) as store:
        info = store.run(result.sweep_id)
        assert (info.kind, info.name, info.status) == ("sweep", "tree-sum", "done")
        assert info.params == result.spec.as_json()
        assert info.params["grid"] == {"n": [8, 64], "fan_in": [2, 4]}
        assert info.params["repeats"] == 2
        assert info.summary == {"points": 16, "finished": 16, "failed": 0, "correct": 16}
        points = store.get_points(result.sweep_id)
        assert set(points) == {p.key for p in result.points}  # stored in finishing order
        for p in result.points:
            row = points[p.key]
            assert PointResult.from_stored(row) == p
            assert row.run_id == p.run_id and row.result["totals"] == p.totals
            run = store.run(p.run_id)  # the point's own run, with its call records
            assert (run.kind, run.status, run.calls) == ("run", "done", p.totals["calls"])
    with RunStore(db) as store:  # in grid order, as run
        assert load_sweep(store, result.sweep_id[:10]).points == result.points


def test_resume_runs_only_the_missing_points_and_matches_an_uninterrupted_sweep(
    tmp_path: Path,
) -> None:
    db = tmp_path / "h.db"
    reference = sweep("tree-sum", GRID, repeats=2, store=":memory:")  # uninterrupted

    class Stop(Exception):
        pass

    def stop_after_5(state: SweepProgress) -> None:
        if state.done == 5:
            raise Stop  # like Ctrl-C, with points of other workers in flight

    with pytest.raises(Stop):
        sweep("tree-sum", GRID, repeats=2, store=db, concurrency=3, progress=stop_after_5)
    with RunStore(db) as store:
        (info,) = store.runs(kind="sweep")
        assert info.status == "failed" and "Stop" in info.summary["error"]  # type: ignore[index]
        assert len(store.get_points(info.id)) == 5
    before = point_runs(db)

    resumed = sweep("tree-sum", GRID, repeats=2, store=db, sweep_id=info.id)
    assert (resumed.sweep_id, resumed.resumed, resumed.executed) == (info.id, 5, 11)
    assert point_runs(db) - before == 11  # finished points were not run again
    assert comparable(resumed) == comparable(reference)
    assert RunStore(db).run(info.id).status == "done"

    again = sweep("tree-sum", GRID, repeats=2, store=db, sweep_id=info.id)
    assert (again.resumed, again.executed) == (16, 0) and point_runs(db) - before == 11
    assert again.points == resumed.points


def test_resume_flag_picks_the_newest_unfinished_sweep_with_the_same_grid(tmp_path: Path) -> None:
    db = tmp_path / "h.db"

    def stop(state: SweepProgress) -> None:
        if state.done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep("tree-sum", {"n": [8, 16, 32]}, store=db, concurrency=1, progress=stop)
    with pytest.raises(KeyboardInterrupt):  # another grid: never picked for the first
        sweep("tree-sum", {"n": [8, 16]}, store=db, concurrency=1, progress=stop)
    first, other = RunStore(db).runs(kind="sweep")[::-1]

    resumed = sweep("tree-sum", {"n": [32, 16, 8]}, store=db, resume=True)  # same grid
    assert (resumed.sweep_id, resumed.resumed, resumed.executed) == (first.id, 1, 5)
    fresh = sweep("tree-sum", {"n": [8, 16, 32]}, store=db, resume=True)  # the first is done
    assert fresh.sweep_id not in (first.id, other.id) and fresh.executed == 6
    assert comparable(fresh) == comparable(resumed)


def test_a_sweep_id_with_another_grid_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    done = sweep("tree-sum", {"n": [8, 16]}, store=db)
    with pytest.raises(ConfigError) as err:
        sweep(
            "tree-sum",
            {"n": [8, 32]},
            variants=["tree"],
            repeats=2,
            store=db,
            sweep_id=done.sweep_id,
        )
    assert str(err.value) == (
        f"Sweep {done.sweep_id} has a different grid from this command (n 8,16 there, 8,32 "
        "here; variants tree,single there, tree here; repeats 1 there, 2 here). Repeat its "
        "options to resume it, or leave out --sweep-id to start a new sweep"
    )
    run_id = done.points[0].run_id
    with pytest.raises(ConfigError, match=f"^Run {run_id} is a run run, not a sweep"):
        sweep("tree-sum", {"n": [8, 16]}, store=db, sweep_id=run_id)
    with pytest.raises(ConfigError, match="^Resuming a sweep needs its run store"):
        sweep("tree-sum", {"n": [8, 16]}, sweep_id=done.sweep_id)


EXAMPLE = "e.g. --param n=8,16,32 or --param n=8..1024*2"
INVALID = [
    (
        {"grid": {}},
        f"The sweep grid is empty. Give at least one parameter and its values, {EXAMPLE}",
    ),
    ({"grid": {"n": []}}, f"Parameter n of the grid lists no values. Give some, {EXAMPLE}"),
    (
        {"grid": {"m": [1]}},
        "Workload 'tree-sum' has no parameter 'm'. Its parameters: n, fan_in, leaf_max",
    ),
    (
        {"grid": {"n": [8]}, "variants": ["both"]},
        "Workload 'tree-sum' has no variant 'both'. Choose one of: tree, single",
    ),
    ({"grid": {"fan_in": [1]}}, "Parameter fan_in of 'tree-sum' is 1; it must be at least 2"),
    ({"grid": {"n": [8]}, "repeats": 0}, "--repeats is 0. Give at least 1"),
    (
        {"grid": {"n": [8]}, "concurrency": 0},
        "--concurrency is 0. Run at least 1 point at a time",
    ),
]


@pytest.mark.parametrize(("kwargs", "message"), INVALID)
def test_invalid_sweeps_say_what_is_wrong(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        sweep("tree-sum", **kwargs)
    assert str(err.value) == message


def test_series_is_the_mean_over_repeats() -> None:
    result = sweep("tree-sum", GRID, repeats=3, sim_error=0.2)
    s = result.series("tree", x="n", y="calls", where={"fan_in": 2})
    assert (s.variant, s.x_name, s.y_name, s.x, s.counts) == ("tree", "n", "calls", [8, 16], [3, 3])
    for x, y in zip(s.x, s.y, strict=True):
        calls = [p.totals["calls"] for p in result.points if p.variant == "tree"
                 and p.params == {"n": x, "fan_in": 2}]  # fmt: skip
        assert len(calls) == 3 and y == sum(calls) / 3
    rate = result.series("single", y="correct", where={"fan_in": 4})
    assert rate.x == [8, 16] and all(0 <= v <= 1 for v in rate.y)
    with pytest.raises(ConfigError) as err:
        result.series("tree", x="n", y="calls")
    assert str(err.value) == (
        "Parameter fan_in takes several values (2, 4) in the series of calls against n. "
        "Fix it with where={'fan_in': 2}"
    )
    with pytest.raises(ConfigError, match="^No metric 'cost' in the sweep. Choose one of: "):
        result.series("tree", y="cost", where={"fan_in": 2})
    with pytest.raises(ConfigError, match="^The sweep has no parameter 'k'. Its parameters: n, "):
        result.series("tree", x="k")


def test_rows_and_csv_have_one_row_per_point() -> None:
    result = sweep("tree-sum", {"n": [8, 16]}, repeats=2)
    rows = result.to_rows()
    totals = list(result.points[0].totals)
    assert list(rows[0]) == [
        "variant", "n", "fan_in", "repeat", "seed", *totals, "correct", "error", "run_id"
    ]  # fmt: skip
    assert len(rows) == 8 and rows[1]["repeat"] == 1 and rows[1]["seed"] == 1
    out = io.StringIO()
    assert result.write_csv(out) == 8
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [float(r["aalp_cost"]) for r in parsed] == [p.totals["aalp_cost"] for p in result.points]
    assert {r["correct"] for r in parsed} <= {"0", "1"} and parsed[0]["error"] == ""


def test_deterministic_errors_are_results_and_are_not_rerun(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    result = sweep("tree-sum", {"n": [16384]}, variants=["single"], store=db)
    (point,) = result.points
    assert point.error is not None and point.error.startswith("Model 'sim-sum-generalist' has")
    assert (point.correct, point.totals, result.complete) == (False, {}, True)
    again = sweep(
        "tree-sum", {"n": [16384]}, variants=["single"], store=db, sweep_id=result.sweep_id
    )
    assert (again.executed, again.points) == (0, result.points)
    assert result.series("single", y="correct").y == [0.0]
    assert result.series("single", y="calls").x == []  # no totals to average


DOWN = {"flaky": True}


class Flaky(SimBackend):
    """The simulated LLM behind a server that may be down (answers 429 while DOWN)."""

    async def complete(self, request: Request) -> Response:
        if DOWN["flaky"]:
            raise RateLimited("429 Too Many Requests", retry_after=0.0)
        return await super().complete(request)


register_backend("flaky-sim", lambda model=None, **_: Flaky())


def test_transient_failures_are_left_for_a_resume(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    opts: dict[str, Any] = {"grid": {"n": [8, 16]}, "variants": ["tree"], "store": db,
                            "backend": "flaky-sim", "model": "sim-oracle"}  # fmt: skip
    DOWN["flaky"] = True
    down = sweep("tree-sum", **opts)
    assert (down.complete, down.points, down.executed) == (False, [], 0)
    assert list(down.failed) == [point_key("tree", {"n": n, "fan_in": 4}, 0) for n in (8, 16)]
    assert down.as_json()["failed"][0] == {
        "variant": "tree",
        "params": {"n": 8, "fan_in": 4},
        "repeat": 0,
        "error": "429 Too Many Requests",
    }
    with RunStore(db) as store:
        assert store.run(down.sweep_id).status == "failed"
        assert store.get_points(down.sweep_id) == {}
    DOWN["flaky"] = False
    up = sweep("tree-sum", **opts, sweep_id=down.sweep_id)
    assert (up.complete, up.executed, [p.totals["calls"] for p in up.points]) == (True, 2, [3, 5])


@pytest.mark.parametrize("name", ["hakaru.sweeps", "hakaru.sweeps.run", "hakaru.sweeps.results"])
def test_docstring_examples(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
