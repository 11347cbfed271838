"""The MDAP step driver: exact counts, checkpoints, stopping at an error, and a real SIGKILL
followed by a resume that redoes no checkpointed step."""

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
from typing import Any

import pytest

from hakaru import StepFailed
from hakaru.backends.sim import SimBackend
from hakaru.cli.main import main
from hakaru.errors import ConfigError
from hakaru.mdap.driver import DriverConfig, MdapResult, run_mdap
from hakaru.mdap.hanoi import HANOI_MODELS, HanoiTask, solution_length
from hakaru.mdap.resume import find_resume
from hakaru.session import Session
from hakaru.store import RunStore

MINI = HANOI_MODELS["sim-hanoi-mini"]


def run(
    disks: int, config: DriverConfig, *, models: Any = None, store: Any = None, seed: int = 1
) -> tuple[MdapResult, Session]:
    async def go() -> tuple[MdapResult, Session]:
        backend = SimBackend(seed=seed, models=models or HANOI_MODELS.values())
        async with Session(backend, store=store, run_kind="maker") as s:
            return await run_mdap(s, HanoiTask(disks), config), s

    return asyncio.run(go())


def test_solved_run_counts_every_draw_exactly() -> None:
    result, s = run(7, DriverConfig("sim-hanoi-mini", k=2))
    assert result.solved and result.errors == 0 and result.steps_done == 127 == result.steps
    d = result.diagnostics
    records = s.records
    assert len(records) == result.totals["calls"] == d.samples == d.votes + d.flagged
    assert (
        result.totals["flagged_calls"] == d.flagged == sum(r.status == "flagged" for r in records)
    )
    by_step: dict[int, list[Any]] = {}
    for r in records:
        by_step.setdefault(r.step, []).append(r)
    assert sorted(by_step) == list(range(1, 128))
    for recs in by_step.values():
        assert sorted(r.vote for r in recs) == list(range(len(recs)))  # draw ids 0, 1, ...
        assert all(r.candidate for r in recs if r.status == "ok")
    assert result.totals["dollars"] == pytest.approx(sum(r.dollars or 0.0 for r in records))
    assert sum(d.decided_at.values()) == 127 and min(d.decided_at) >= 2


def test_state_is_carried_only_by_the_voted_next_state() -> None:
    # Each step's prompt holds the previous voted move and state, nothing from earlier steps.
    result, s = run(4, DriverConfig("sim-hanoi-mini", k=1))
    assert result.solved
    firsts = [r for r in s.records if r.vote == 0]
    assert len(firsts) == solution_length(4)
    assert all(r.parents == ((r.id - 1,) if r.id > 1 else ()) for r in firsts if r.status == "ok")


def test_a_wrong_vote_stops_the_run_at_that_step() -> None:
    # every sample wrong, and always the same wrong answer: voting elects it at step 1
    liar = replace(MINI, name="liar", base_error=1.0, max_error=1.0, rho=1.0, malformed_rate=0.0)
    result, _ = run(5, DriverConfig("liar", k=2, temperatures=(0.1,)), models=[liar])
    assert not result.solved and result.errors == 1 and result.failed_step == 1
    assert result.steps_done == 0
    assert result.reason.startswith("step 1: the vote chose ")
    assert "the right answer is ((1, 0, 2), ((5, 4, 3, 2), (), (1,)))" in result.reason


def test_an_always_malformed_model_hits_the_flag_cap() -> None:
    broken = replace(MINI, name="broken", malformed_rate=1.0)
    with pytest.raises(StepFailed, match=r"^Step 1 \(model 'broken'\) hit the cap of 5 flagged"):
        run(3, DriverConfig("broken", k=2, max_flagged=5), models=[broken])


def test_checkpoints_are_written_every_n_steps(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    result, s = run(6, DriverConfig("sim-hanoi-mini", k=2, checkpoint_every=10), store=path)
    assert result.solved and result.checkpoints == 6  # steps 10, 20, ..., 60 of 63
    with RunStore(path) as store:
        cp = store.latest_checkpoint(s.run_id)
        assert cp is not None and cp.step == 60
        assert set(cp.state) == {"step", "input", "verifier", "diagnostics"}
        assert cp.state["verifier"]["moves"] == 60
        assert store.run(s.run_id).calls == result.totals["calls"]


def test_driver_config_errors() -> None:
    with pytest.raises(ConfigError, match="k is 0"):
        DriverConfig("m", k=0)
    with pytest.raises(ConfigError, match="Unknown parser mode 'loose'"):
        DriverConfig("m", parser="loose")  # type: ignore[arg-type]


# -- the command line -----------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(["maker", "run", *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_run_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = cli(
        capsys, "--task", "hanoi", "--disks", "6", "--k", "2", "--store", str(tmp_path / "r.db"),
        "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    data = json.loads(out)
    for key in ("steps", "solved", "errors", "calls", "flagged", "dollars", "votes", "run_id"):
        assert key in data
    assert (data["steps"], data["solved"], data["errors"]) == (63, True, 0)
    assert data["calls"] == data["votes"] + data["flagged"]
    assert data["predicted"]["p_hat"] == data["diagnostics"]["p_hat"]
    with RunStore(tmp_path / "r.db") as store:
        info = store.run(data["run_id"])
        assert (info.kind, info.status, info.calls) == ("maker", "done", data["calls"])
        assert info.summary is not None and info.summary["outcome"] == "solved"


def test_cli_run_table_and_sim_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--disks", "5", "--k", "1", "--sim-error", "0.3", "--no-store")
    assert code == 1  # not solved
    assert "MAKER hanoi 5 disks, k = 1, sim-hanoi-mini: FAILED" in out
    assert "\nFAILED: step " in out and ": the vote chose " in out


def test_cli_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "--resume", "abc", "--no-store")
    assert (code, err) == (2, "Error: --resume reads the run store; drop --no-store.\n")
    code, _, err = cli(capsys, "--disks", "3", "--sim-error", "2", "--no-store")
    assert err == "Error: --sim-error is 2.0. Give a probability in [0, 1].\n"
    code, _, err = cli(capsys, "--disks", "3", "--temperatures", "a,b", "--no-store")
    assert err == "Error: --temperatures 'a,b' is not a comma-separated list of numbers.\n"


# -- kill and resume ----------------------------------------------------------------------------


def test_sigkill_then_resume_redoes_no_checkpointed_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kill.db"
    # 9 disks: 511 steps; real sleeping at 1/1000 of the simulated latency (≈ 2 ms per round)
    child = subprocess.Popen(
        [
            sys.executable, "-m", "hakaru.cli.main", "maker", "run", "--task", "hanoi",
            "--disks", "9", "--k", "2", "--checkpoint-every", "25", "--store", str(path),
            "--sim-time-scale", "0.001", "--json",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        latest = 0
        while latest < 100:
            assert child.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
            if path.exists():
                try:
                    db = sqlite3.connect(path)
                    latest = db.execute("SELECT max(step) FROM checkpoints").fetchone()[0] or 0
                    db.close()
                except sqlite3.OperationalError:
                    continue  # the schema is being created
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    with RunStore(path) as store:
        killed = store.runs()[0]
        assert killed.status == "interrupted"  # its process is gone
        resume = find_resume(store, killed.id[:6])
        assert resume.checkpoint is not None
        checkpointed = resume.checkpoint.step
        assert checkpointed >= 100 and checkpointed % 25 == 0
        killed_calls = killed.calls
        assert resume.prior["calls"] == killed_calls

    # the options of a resumed run are its own
    code, _, err = cli(capsys, "--resume", killed.id, "--store", str(path), "--k", "5")
    assert code == 2 and "--k 5 differ from them. Drop those options (only" in err

    code, out, _ = cli(capsys, "--resume", killed.id, "--store", str(path), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["solved"] and data["steps_done"] == 511 and data["resumed_at"] == checkpointed
    assert data["segments"] == [killed.id, data["run_id"]]
    db = sqlite3.connect(path)
    steps = [
        row[0] for row in db.execute("SELECT step FROM calls WHERE run_id = ?", (data["run_id"],))
    ]
    assert min(steps) == checkpointed + 1  # no checkpointed step was redone
    assert set(steps) == set(range(checkpointed + 1, 512))
    new_calls = len(steps)
    assert data["calls"] == killed_calls + new_calls  # every call of both segments, exactly
    db.close()

    # a finished run cannot be resumed
    code, _, err = cli(capsys, "--resume", data["run_id"], "--store", str(path))
    assert code == 2 and "already finished (solved). Only a killed or failed run" in err
    # nor the killed segment whose continuation solved the task: nothing runs twice
    code, _, err = cli(capsys, "--resume", killed.id, "--store", str(path))
    assert (code, err) == (
        2,
        f"Error: Run {killed.id} was continued by run {data['run_id']}, which finished "
        f"(solved): nothing is left to resume. See 'hakaru runs show {data['run_id']}'.\n",
    )
    with RunStore(path) as store:
        assert len(store.runs(kind="maker")) == 2  # no third segment was started


def test_find_resume_follows_segments_and_refuses_other_runs(tmp_path: Path) -> None:
    with RunStore(tmp_path / "s.db") as store:
        other = store.new_run("workload", "tree_sum")
        with pytest.raises(ConfigError, match="is a 'workload' run, not a MAKER run"):
            find_resume(store, other)
        first = store.new_run("maker", "hanoi", {"task": "hanoi", "disks": 5})
        store.put_checkpoint(first, 10, {"step": 10})
        second = store.new_run(
            "maker", "hanoi", {"task": "hanoi", "disks": 5, "resumed_from": first}
        )
        r = find_resume(store, second)  # killed before its own first checkpoint
        assert r.checkpoint is not None and r.checkpoint.step == 10
        assert r.segments == (first, second) and r.params == {"task": "hanoi", "disks": 5}
        assert r.prior["calls"] == 0
        fresh = store.new_run("maker", "hanoi", {"task": "hanoi", "disks": 5})
        assert find_resume(store, fresh).checkpoint is None  # start over, nothing lost
        # a segment that was continued (by one killed in turn) is not resumed again
        third = store.new_run(
            "maker", "hanoi", {"task": "hanoi", "disks": 5, "resumed_from": second}
        )
        with pytest.raises(ConfigError) as err:
            find_resume(store, first)
        assert str(err.value) == (
            f"Run {first} was already continued by run {third}. Resume that one instead: "
            f"hakaru maker run --resume {third}"
        )
        assert find_resume(store, third).segments == (first, second, third)


def test_batched_store_commits_in_large_transactions(tmp_path: Path) -> None:
    from hakaru.mdap.batched_store import BatchedStore
    from hakaru.types import CallRecord

    def recs(a: int, b: int) -> list[CallRecord]:
        return [CallRecord(i, (), "step", "m") for i in range(a, b)]

    store = BatchedStore(tmp_path / "b.db", max_records=10, max_delay=0.05)
    run_id = store.new_run("maker", "hanoi")
    store.add_calls(run_id, recs(1, 4))  # outside an event loop: written at once
    assert store.run(run_id).calls == 3

    async def inside() -> None:
        store.add_calls(run_id, recs(4, 8))
        assert store.run(run_id).calls == 3 and store.commits == 2  # queued
        store.add_calls(run_id, recs(8, 15))  # 11 queued >= 10: one transaction
        assert store.run(run_id).calls == 14 and store.commits == 3
        store.add_calls(run_id, recs(15, 17))
        await asyncio.sleep(0.1)  # the timer commits within max_delay
        assert store.run(run_id).calls == 16
        store.add_calls(run_id, recs(17, 18))
        store.put_checkpoint(run_id, 5, {"step": 5})  # records first, then the checkpoint
        assert store.run(run_id).calls == 17

    asyncio.run(inside())
    sink = store.sink(run_id)
    sink.add(CallRecord(18, (), "step", "m"))  # queued in the sink, flushed by close()
    store.close()
    with RunStore(tmp_path / "b.db") as plain:
        assert [r.id for r in plain.calls(run_id)] == list(range(1, 19))


def test_run_maker_finishes_its_run_once_with_the_outcome(tmp_path: Path) -> None:
    from hakaru.mdap.run import run_maker

    finished: list[tuple[str, dict[str, Any]]] = []

    class Watched(RunStore):  # a real store that also notes each finish_run
        def finish_run(self, run_id: str, status: Any = "done", summary: Any = None) -> None:
            finished.append((status, dict(summary or {})))
            super().finish_run(run_id, status, summary)

    with Watched(tmp_path / "runs.db") as store:
        backend = SimBackend(seed=1, models=HANOI_MODELS.values())
        config = DriverConfig("sim-hanoi-mini", k=2)
        out = asyncio.run(run_maker(HanoiTask(4), config, backend, store=store, target=0.9))
        info = store.run(out.result.run_id)
    assert len(finished) == 1 and finished[0][0] == "done"
    assert (info.kind, info.name, info.status) == ("maker", "hanoi", "done")
    summary = info.summary or {}
    assert (summary["outcome"], summary["steps_done"], summary["solved"]) == ("solved", 15, True)
    assert summary["calls"] == out.result.totals["calls"] == out.to_json()["calls"]
    assert out.predicted["target"] == 0.9 and out.predicted["k_min"] >= 1
