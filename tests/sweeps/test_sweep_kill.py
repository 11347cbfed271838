"""A sweep killed with SIGKILL mid-way resumes and ends with an uninterrupted sweep's results.

The parent starts ``hakaru sweep`` in a subprocess, polls the SQLite file until a few points are
stored, kills the process at a moment it does not choose (usually with points in flight), then
runs the same command with ``--sweep-id``. The finished points must not run again, and the final
points — totals compared exactly — must equal those of a sweep that was never interrupted.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from hakaru.store import RunStore
from hakaru.sweeps import load_sweep, run_sweep

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

# 12 points of 340 to 2,000 simulated calls each: a few seconds, so the kill lands mid-way.
GRID = {"n": [1024, 2048, 4096], "fan_in": [2, 4]}
ARGS = ["--param", "n=1024,2048,4096", "--param", "fan_in=2,4", "--variant", "tree"]
ARGS += ["--repeats", "2", "--seed", "7", "--concurrency", "2"]


def hakaru(*args: str) -> subprocess.Popen[str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("HAKARU_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "hakaru.cli.main", "sweep", "tree-sum", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def stored_points(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM points").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not created yet
        return 0


def test_a_killed_sweep_resumes_to_the_uninterrupted_results(tmp_path: Path) -> None:
    db = tmp_path / "hakaru.db"
    child = hakaru(*ARGS, "--store", str(db), "--json")
    deadline = time.monotonic() + 60
    try:
        while stored_points(db) < 3:
            if child.poll() is not None:
                pytest.fail(f"the sweep ended before the kill: {child.communicate()}")
            assert time.monotonic() < deadline, "no point stored within 60 s"
            time.sleep(0.02)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.communicate()
    assert child.returncode == -signal.SIGKILL
    at_kill = stored_points(db)
    assert 3 <= at_kill < 12, "the kill must land mid-way"

    with RunStore(db) as store:
        (sweep,) = store.runs(kind="sweep")
        assert sweep.status == "interrupted"  # nobody marked it: the process died
        runs_before = len(store.runs(limit=None, kind="run"))

    again = hakaru(*ARGS, "--store", str(db), "--json", "--sweep-id", sweep.id)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    resumed = json.loads(out)
    assert (resumed["sweep_id"], resumed["complete"]) == (sweep.id, True)
    assert (resumed["resumed"], resumed["executed"]) == (at_kill, 12 - at_kill)
    with RunStore(db) as store:
        assert len(store.runs(limit=None, kind="run")) - runs_before == 12 - at_kill
        assert store.run(sweep.id).status == "done"
        assert len(store.get_points(sweep.id)) == 12

    # The uninterrupted sweep, with a store like the command's (a call then returns only once
    # its record is committed, and float sums follow the order calls finish in).
    reference = asyncio.run(
        run_sweep("tree-sum", GRID, variants=["tree"], repeats=2, seed=7, store=tmp_path / "r.db")
    )
    expected = [{**p.as_json(), "run_id": None} for p in reference.points]
    got = [{**p, "run_id": None} for p in resumed["points"]]
    assert got == expected  # totals, correctness, coordinates: exactly equal
    assert len({p["run_id"] for p in resumed["points"]}) == 12  # each point its own run
    with RunStore(db) as store:  # what a report reads: the per-role costs too
        stored = load_sweep(store, sweep.id).points
    assert [replace(p, run_id="") for p in stored] == [
        replace(p, run_id="") for p in reference.points
    ]
