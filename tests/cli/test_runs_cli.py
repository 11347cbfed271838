"""``hakaru runs list|show|export`` through the real command-line entry point."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from hakaru.cli.main import main
from hakaru.ledger import Ledger, totals_of
from hakaru.store import RunStore
from hakaru.types import CallRecord

HAKARU = str(Path(sys.executable).parent / "hakaru")

RECORDS = [
    CallRecord(1, (), "planner", "big", input_tokens=100, output_tokens=20, size=2.0, latency=1.5,
               dollars=(100 * 1.0 + 20 * 2.0) / 1e6),
    CallRecord(2, (1,), "planner", "big", input_tokens=50, output_tokens=10, size=2.0,
               latency=0.5),
    CallRecord(3, (2,), "worker", "small", input_tokens=30, output_tokens=7, latency=0.2, step=0),
    CallRecord(4, (2,), "worker", "small", attempt=1, status="error", error_kind="timeout",
               error="no answer in 5 s", latency=5.0, step=1),
    CallRecord(5, (2,), "worker", "small", attempt=2, status="cached", input_tokens=30,
               output_tokens=7, step=1),
]  # fmt: skip


def hakaru(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``hakaru ARGS`` in this process: (exit status, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store with a finished run of RECORDS and, newer, a running run without calls."""
    path = tmp_path / "runs.db"
    with RunStore(path) as store:
        done = store.new_run("workload", "tree_sum", {"n": 8, "variant": "balanced"})
        store.add_calls(done, RECORDS)
        store.finish_run(done, "done", {"answer": 36})
        store.new_run("sweep", "routing", {"k": [2, 4]})
    return path


def run_ids(path: Path) -> list[str]:
    with RunStore(path) as store:
        return [r.id for r in store.runs()]  # newest first


def test_list_json_is_one_object_newest_first(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, err = hakaru(capsys, "runs", "list", "--json", "--store", str(db))
    assert (code, err) == (0, "")
    payload = json.loads(out)
    assert payload["store"] == str(db)
    assert [r["id"] for r in payload["runs"]] == run_ids(db)
    sweep, workload = payload["runs"]
    assert (sweep["kind"], sweep["status"], sweep["calls"], sweep["ended"]) == (
        "sweep", "running", 0, None,
    )  # fmt: skip
    assert workload["calls"] == 5 and workload["summary"] == {"answer": 36}
    assert workload["params"] == {"n": 8, "variant": "balanced"} and workload["duration"] >= 0


def test_list_table(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, _ = hakaru(capsys, "runs", "list", "--store", str(db))
    assert code == 0
    newest, oldest = run_ids(db)
    assert f"Runs in {db}" in out
    assert newest in out and oldest in out and out.index(newest) < out.index(oldest)
    assert "tree_sum" in out and "running" in out and "done" in out
    code, out, _ = hakaru(capsys, "runs", "list", "--limit", "1", "--store", str(db))
    assert newest in out and oldest not in out
    assert out.rstrip().endswith("Newest 1 shown; see more with --limit.")


def test_list_without_a_store_creates_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAKARU_HOME", str(tmp_path / "home"))
    path = tmp_path / "home" / "hakaru.db"
    assert hakaru(capsys, "runs", "list") == (
        0,
        f"No runs in {path} yet. Start one with 'hakaru run WORKLOAD --n N'.\n",
        "",
    )
    _, out, _ = hakaru(capsys, "runs", "list", "--json")
    assert json.loads(out) == {"store": str(path), "runs": []}
    assert not (tmp_path / "home").exists()


def test_hakaru_home_locates_the_store(
    capsys: pytest.CaptureFixture[str], db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db.rename(db.parent / "hakaru.db")
    monkeypatch.setenv("HAKARU_HOME", str(db.parent))
    code, out, _ = hakaru(capsys, "runs", "list", "--json")
    assert code == 0 and len(json.loads(out)["runs"]) == 2


def test_show_json_has_the_ledger_totals_and_roles(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    run_id = run_ids(db)[1]
    code, out, err = hakaru(capsys, "runs", "show", run_id[:10], "--json", "--store", str(db))
    assert (code, err) == (0, "")
    payload = json.loads(out)
    assert set(payload) == {"run", "totals", "roles", "models", "prices"}
    assert payload["run"]["id"] == run_id and payload["run"]["calls"] == 5
    expected = totals_of(replace(r, run_id=run_id) for r in RECORDS)
    expected["estimated_calls"] = sum(r.usage_source == "estimated" for r in RECORDS)
    assert payload["totals"] == json.loads(json.dumps(expected))
    assert payload["totals"]["calls"] == 4 and payload["totals"]["cached_calls"] == 1
    assert payload["totals"]["depth"] == 3
    ledger = Ledger(keep_records=False)
    for rec in RECORDS:
        ledger.add(rec)
    assert payload["roles"] == ledger.group_by("role")
    assert payload["models"] == ledger.group_by("model")
    worker = payload["roles"]["worker"]
    assert (worker["attempts"], worker["errors"], worker["cached"], worker["calls"]) == (3, 1, 1, 2)


def test_show_table(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    run_id = run_ids(db)[1]
    code, out, _ = hakaru(capsys, "runs", "show", run_id, "--store", str(db))
    assert code == 0
    assert f"Run {run_id}  workload tree_sum  (done)" in out
    assert "params  n=8  variant=balanced" in out and "summary  answer=36" in out
    assert "calls 4 (ok 3, failed 1, cached 1, flagged 0)  depth 3" in out
    assert "tokens in 210  out 44  reasoning 0" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert rows["aalp"] == ["5701", "5701"] and rows["latency"] == ["7.2", "7"]
    assert rows["planner"] == ["2", "0", "0", "0", "150", "30", "5470", "0.00014"]
    assert rows["worker"] == ["2", "1", "1", "0", "60", "14", "231", "0"]


def test_show_unknown_and_ambiguous_runs(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    assert hakaru(capsys, "runs", "show", "zzz", "--store", str(db)) == (
        2,
        "",
        f"Error: No run 'zzz' in {db}. List runs with 'hakaru runs list'.\n",
    )
    a, b = run_ids(db)
    common = next(a[:i] for i in range(len(a)) if a[i] != b[i])
    code, out, err = hakaru(capsys, "runs", "show", common, "--store", str(db))
    first, second = sorted((a, b))
    assert (code, out) == (2, "")
    assert err == (
        f"Error: Run id prefix '{common}' is ambiguous in {db}: it matches {first}, {second}. "
        "Give more characters of the id.\n"
    )


def test_show_without_a_store(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "none.db"
    assert hakaru(capsys, "runs", "show", "abc", "--store", str(path)) == (
        2,
        "",
        f"Error: No run 'abc' in {path}. List runs with 'hakaru runs list'.\n",
    )
    assert not path.exists()


def test_a_store_that_is_not_sqlite(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello " * 1000)
    assert hakaru(capsys, "runs", "list", "--store", str(path)) == (
        1,
        "",
        f"Error: Cannot open the run store at {path}: it is not a SQLite database. Move the "
        "file away, or choose another store with --store or HAKARU_HOME.\n",
    )


def test_export_jsonl_to_stdout(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    run_id = run_ids(db)[1]
    code, out, err = hakaru(capsys, "runs", "export", run_id[:10], "--store", str(db))
    assert (code, err) == (0, "")
    back = [CallRecord.from_dict(json.loads(line)) for line in out.splitlines()]
    assert back == [replace(r, run_id=run_id) for r in RECORDS]


def test_export_csv_to_a_file(capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path) -> None:
    run_id = run_ids(db)[1]
    target = tmp_path / "calls.csv"
    args = ("runs", "export", run_id, "--format", "csv", "--out", str(target), "--store", str(db))
    assert hakaru(capsys, *args) == (0, "", f"Wrote 5 calls of run {run_id} to {target}.\n")
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [row["id"] for row in rows] == ["1", "2", "3", "4", "5"]
    assert [row["parents"] for row in rows] == ["", "1", "2", "2", "2"]
    assert rows[3]["error"] == "no answer in 5 s" and rows[0]["step"] == ""
    assert list(tmp_path.glob("*.part")) == []


def test_export_errors(capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path) -> None:
    run_id = run_ids(db)[1]
    target = tmp_path / "missing" / "calls.jsonl"
    assert hakaru(capsys, "runs", "export", run_id, "--out", str(target), "--store", str(db)) == (
        2,
        "",
        f"Error: Cannot write {target}: No such file or directory. Choose another file with "
        "--out.\n",
    )
    code, out, err = hakaru(capsys, "runs", "export", run_id, "--format", "xml", "--store", str(db))
    assert (code, out) == (2, "")
    assert err == (
        "Error: Invalid value for '--format': 'xml' is not one of 'jsonl', 'csv', 'otlp-json'. "
        "See 'hakaru --help' or the command's --help for valid options.\n"
    )
    assert hakaru(capsys, "runs", "export", "nope", "--store", str(db))[2] == (
        f"Error: No run 'nope' in {db}. List runs with 'hakaru runs list'.\n"
    )


def test_the_installed_script(db: Path) -> None:
    done = subprocess.run(
        [HAKARU, "runs", "show", "0", "--store", str(db)], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"Error: No run '0' in {db}. List runs with 'hakaru runs list'.\n"


def test_export_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    with RunStore(path) as store:
        run_id = store.new_run("workload", "big")
        store.add_calls(run_id, [CallRecord(i, (), "r", "m", error="e" * 500) for i in range(500)])
    reader = subprocess.Popen(
        [HAKARU, "runs", "export", run_id, "--store", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    assert json.loads(reader.stdout.readline())["id"] == 0
    reader.stdout.close()  # like `| head -1`
    reader.wait()
    assert reader.stderr.read() == b""
    reader.stderr.close()
    assert reader.returncode == 0
