"""A run killed with SIGKILL mid-way leaves a store that opens and holds every completed call.

The child runs a real session on the simulated LLM in real-sleep mode, with the run store, and
prints the id of each call only after ``Session.call`` returned it (the session returns a call
only once its record is committed). The parent kills it with SIGKILL part-way and checks the
database.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import asyncio, sys
from hakaru import Session
from hakaru.backends.sim import SimBackend
from hakaru.tasks import task_kind

async def main(path):
    kind = task_kind("sum")
    backend = SimBackend(seed=3, real_time=True, time_scale=0.01)
    async with Session(backend, store=path) as s:
        print("run", s.run_id, flush=True)
        async def one(i):
            r = await s.call(kind.request("sim-adder", {"numbers": [i, i + 1, 2]}))
            print("done", r.call_id, flush=True)
        # waves of 8 concurrent calls, forever (the parent kills us)
        i = 0
        while True:
            await s.map(one, range(i, i + 8))
            i += 8

asyncio.run(main(sys.argv[1]))
"""


def kill_after(path: Path, n_done: int) -> tuple[str, set[int]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    run_id, done = "", set()
    for line in proc.stdout:
        kind, value = line.split()
        if kind == "run":
            run_id = value
        else:
            done.add(int(value))
        if len(done) >= n_done:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return run_id, done


def test_sigkill_loses_no_completed_call(tmp_path: Path) -> None:
    for n_done in (5, 60, 170):
        path = tmp_path / f"kill{n_done}.db"
        run_id, done = kill_after(path, n_done)
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {row[0] for row in db.execute("SELECT id FROM calls WHERE run_id = ?", (run_id,))}
        assert done <= stored, sorted(done - stored)[:10]
        status = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        assert status == ("running",)  # the kill left it unfinished, and said so
        db.close()

        from hakaru.store import RunStore

        with RunStore(path) as store:  # and hakaru itself opens it
            assert {r.id for r in store.calls(run_id)} == stored
            # its process is gone: hakaru reports the run interrupted, not still running
            assert store.run(run_id).status == "interrupted"
