"""Bad input to the command line, found by trying it: each case ends in one clear line.

Sizes and grids beyond what can run are refused up front; a binary file given to ``fit`` and a
prediction at NaN are errors, and ``--json`` never prints NaN; a store the user may only read is
listed and reported without a write; processes creating one new store at once all succeed, and
a lock held too long gets the right hint; ``report --html`` does not invent folders. (The MAKER
case — resuming a segment whose continuation solved the task — is in tests/mdap/test_driver.py.)
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hakaru.cli.main import echo_json
from hakaru.errors import StoreError
from hakaru.store import RunStore

HAKARU = [sys.executable, "-m", "hakaru.cli.main"]


def hakaru(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HAKARU_DEBUG"}
    return subprocess.run(
        [*prefix, *HAKARU, *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_a_size_beyond_what_can_run_is_refused_up_front(tmp_path: Path) -> None:
    done = hakaru("run", "tree-sum", "--n", "1000000000000000000", "--store", str(tmp_path / "h"))
    assert (done.returncode, done.stderr) == (
        2,
        "Error: Parameter n of 'tree-sum' is 1,000,000,000,000,000,000; it must be at most "
        "10,000,000 (a larger run does not fit in memory or time). Give a smaller value.\n",
    )
    assert not (tmp_path / "h").exists()  # refused before anything was created


def test_a_grid_beyond_what_can_run_is_refused_up_front(tmp_path: Path) -> None:
    store = str(tmp_path / "h.db")
    done = hakaru("sweep", "tree-sum", "--param", "n=1..1000000000+1", "--store", store)
    assert (done.returncode, done.stderr) == (
        2,
        "Error: --param 'n=1..1000000000+1': the range '1..1000000000+1' has 1,000,000,000 "
        "values; a sweep runs at most 10,000 points. Use a larger step, or a factor (e.g. "
        "1..1000000000*2).\n",
    )
    # each list is short, their product is not: the library counts the points before planning
    done = hakaru(
        "sweep", "tree-sum", "--param", "n=1..5000", "--param", "fan-in=2,3,4", "--store", store
    )
    assert (done.returncode, done.stderr) == (
        2,
        "Error: The sweep has 30,000 points (2 variants x 5000 x 3 values x 1 repeats); one "
        "sweep runs at most 10,000. Give fewer values (a factor: n=8..1024*2) or fewer repeats.\n",
    )


def test_fit_refuses_a_binary_file(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_bytes(b"n,calls\n" + bytes(range(128, 256)))
    done = hakaru("fit", str(data), "--y", "calls")
    assert (done.returncode, done.stderr) == (
        2,
        f"Error: {data} is not a text CSV file (byte 0x80 at offset 8 is not UTF-8). Give a CSV "
        "file with a header line, e.g. one written by 'hakaru sweep --csv'.\n",
    )
    data.write_bytes(b"n,calls\n1,2\x00\x00\n")
    assert "holds NUL bytes" in hakaru("fit", str(data), "--y", "calls").stderr


def test_fit_refuses_to_predict_at_nan_and_json_is_always_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data.csv"
    data.write_text("n,calls\n1,2\n2,4\n4,8\n8,16\n")
    for at in ("nan", "inf", "-3"):
        done = hakaru("fit", str(data), "--y", "calls", "--at", at, "--json")
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith(f"Error: Cannot predict at n = {float(at)}: give a positive")
    done = hakaru("fit", str(data), "--y", "calls", "--at", "1e6", "--json")
    assert json.loads(done.stdout)["predictions"][0]["value"] == pytest.approx(2e6)
    # whatever a payload holds, what --json prints is JSON: NaN and infinity become null
    echo_json({"a": float("nan"), "b": [1.5, float("-inf")], "c": {"d": float("inf")}})
    printed = capsys.readouterr().out
    assert json.loads(printed, parse_constant=lambda c: pytest.fail(f"{c} in JSON")) == {
        "a": None,
        "b": [1.5, None],
        "c": {"d": None},
    }


def _read_only_prefix() -> tuple[str, ...]:
    """A command prefix under which file permissions hold (root ignores them otherwise)."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be tested")
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner")


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_store_that_may_only_be_read_is_listed_shown_and_reported(
    tmp_path: Path, journal: str
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "hakaru.db"
    run = json.loads(hakaru("run", "tree-sum", "--n", "16", "--json", "--store", str(db)).stdout)
    if journal == "delete":  # a store copied by a tool that writes a rollback-journal file
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA journal_mode=DELETE")
    before = db.read_bytes()
    db.chmod(0o444)
    folder.chmod(0o555)
    prefix = _read_only_prefix()
    try:
        probe = subprocess.run([*prefix, "touch", str(folder / "x")], capture_output=True)
        assert probe.returncode != 0  # writing there really is refused
        listed = hakaru("runs", "list", "--json", "--store", str(db), prefix=prefix)
        assert listed.returncode == 0, listed.stderr
        assert [r["id"] for r in json.loads(listed.stdout)["runs"]] == [run["run_id"]]
        shown = hakaru("runs", "show", run["run_id"], "--json", "--store", str(db), prefix=prefix)
        assert json.loads(shown.stdout)["totals"]["calls"] == run["calls"], shown.stderr
        reported = hakaru("report", run["run_id"], "--json", "--store", str(db), prefix=prefix)
        assert json.loads(reported.stdout)["runs"], reported.stderr
        # writing is still refused, with the reason
        wrote = hakaru("run", "tree-sum", "--n", "4", "--store", str(db), prefix=prefix)
        assert wrote.returncode == 1
        assert "you may read it but not write it. Choose a store you may write" in wrote.stderr
    finally:
        folder.chmod(0o755)
        db.chmod(0o644)
    assert db.read_bytes() == before and sorted(p.name for p in folder.iterdir()) == [db.name]


def _create(path: str, barrier: Any, results: Any) -> None:
    barrier.wait()  # every process opens the new store at the same moment
    try:
        with RunStore(path) as store:
            store.new_run("workload", "tree_sum")
        results.put("ok")
    except StoreError as exc:
        results.put(str(exc))


def test_processes_creating_one_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    outcomes = []
    for trial in range(20):
        path = str(tmp_path / f"t{trial}" / "hakaru.db")
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_create, args=(path, barrier, results)) for _ in range(4)]
        for p in procs:
            p.start()
        outcomes += [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(30)
        with RunStore(path) as store:
            assert len(store.runs()) == 4
    assert outcomes == ["ok"] * 80


def test_a_lock_held_too_long_gets_the_right_hint(tmp_path: Path) -> None:
    path = tmp_path / "hakaru.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process mid-write, for longer than we wait
    try:
        with pytest.raises(StoreError) as err:
            RunStore(path, timeout=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert str(err.value) == (
        f"Cannot open the run store at {path}: another process held its lock for more than "
        "0.2 s. Wait for that process to finish and try again, or choose another store with "
        "--store or HAKARU_HOME."
    )


def test_report_html_into_a_missing_folder_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "h.db")
    run = json.loads(hakaru("run", "tree-sum", "--n", "8", "--json", "--store", db).stdout)
    target = tmp_path / "no" / "such" / "r.html"
    done = hakaru("report", run["run_id"], "--html", str(target), "--store", db)
    assert (done.returncode, done.stderr) == (
        2,
        f"Error: Cannot write the report to {target}: the folder {target.parent} does not "
        "exist. Create it first, or choose another path.\n",
    )
    assert not (tmp_path / "no").exists()
