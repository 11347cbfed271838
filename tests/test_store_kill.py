"""A process killed with SIGKILL loses no call it reported as durable and leaves a sound file.

The child writes records through a :class:`~hakaru.store.CallSink` from several concurrent
tasks and prints each call id only after ``await sink.durable()`` returned. The parent kills it
with SIGKILL once it has read enough ids — at a moment it does not choose, usually in the middle
of a transaction — then checks the file and that every printed id is stored. (A ``durable()``
that returns before the commit fails this test: that was checked when it was written.)
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hakaru.store import RunStore
from hakaru.types import CallRecord

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

CHILD = r"""
import asyncio, itertools, sys
from hakaru.store import RunStore
from hakaru.types import CallRecord

store = RunStore(sys.argv[1])
sink = store.sink(sys.argv[2])
ids = itertools.count()

async def worker(w: int) -> None:
    while True:
        await asyncio.sleep(0)  # the backend call
        i = next(ids)
        sink.add(CallRecord(i, (i - 1,) if i else (), f"w{w}", "sim", output_tokens=i % 97,
                            error="x" * (i % 300)))
        await sink.durable()
        sys.stdout.write(f"{i}\n")
        sys.stdout.flush()

async def main() -> None:
    await asyncio.gather(*(worker(w) for w in range(8)))

asyncio.run(main())
"""


def run_and_kill(path: Path, run_id: str, kill_after: int) -> list[int]:
    """Start the writer, read ``kill_after`` durable ids, SIGKILL it; return the ids read."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), run_id],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None and child.stderr is not None
    printed: list[int] = []
    try:
        while len(printed) < kill_after:
            line = child.stdout.readline()
            if not line:
                child.wait()
                pytest.fail(f"writer exited early ({child.returncode}): {child.stderr.read()}")
            printed.append(int(line))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return printed


def test_sigkill_loses_no_durable_call(tmp_path: Path) -> None:
    path = tmp_path / "hakaru.db"
    for kill_after in (300, 1100, 2600):  # three kills, three different moments, one file
        with RunStore(path) as store:
            run_id = store.new_run("workload", f"killed after {kill_after}")
        printed = run_and_kill(path, run_id, kill_after)

        check = sqlite3.connect(path)  # opening replays the write-ahead log
        try:
            assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            check.close()
        with RunStore(path) as store:
            stored = {rec.id: rec for rec in store.calls(run_id)}
            missing = sorted(set(printed) - set(stored))
            assert missing == [], f"durable calls lost by the kill: {missing[:10]}"
            for i in printed:  # whole records, never torn ones
                rec = stored[i]
                assert rec.output_tokens == i % 97 and rec.error == "x" * (i % 300)
                assert rec.parents == ((i - 1,) if i else ()) and rec.role.startswith("w")
            assert store.run(run_id).calls == len(stored)  # the count moved with its rows
            store.add_calls(run_id, [CallRecord(10**9, (), "after", "m")])  # still writable
