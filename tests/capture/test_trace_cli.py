"""``hakaru trace``: real programs in their own processes, against the simulated server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from capture_sim import Sim, captured

from hakaru.store import RunStore

PROGRAMS = Path(__file__).parent / "programs"


def hakaru_trace(
    sim: Sim, store: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    child = {
        **os.environ,
        "OPENAI_BASE_URL": sim.url,
        "OPENAI_API_KEY": "sk-test",
        "PYTHONPATH": str(PROGRAMS),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "hakaru.cli.main", "trace", "--store", str(store), *args],
        capture_output=True,
        text=True,
        env=child,
        timeout=240,
    )


def test_json_totals_equal_what_the_server_billed(sim: Sim, tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    out = hakaru_trace(sim, db, "--json", "--", "python", str(PROGRAMS / "openai_chain.py"), "4")
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout)  # the program's own output went to stderr
    assert "total 6" in out.stderr
    assert captured(result) == sim.billed() and result["calls"] == 4
    assert {"run_id", "calls", "dollars", "depth", "by_role", "dollars_complete"} <= set(result)
    assert result["depth"] == 4  # a chain
    [line] = [x for x in out.stderr.splitlines() if x.startswith("hakaru trace: instrumented")]
    assert "openai" in line.split(", ") or line.endswith(" openai")
    with RunStore(db, readonly=True) as store:
        info = store.run(result["run_id"])
        assert info.status == "done" and info.kind == "capture"
        assert len(list(store.calls(info.id))) == 4


def test_a_crashing_program_keeps_its_calls_and_its_exit_code(sim: Sim, tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    program = str(PROGRAMS / "openai_chain.py")
    out = hakaru_trace(
        sim, db, "--name", "crash", "--size", "5", "--", "python", program, "{n}",
        env={"CRASH_AFTER": "3"},
    )  # fmt: skip
    assert out.returncode == 1, out.stderr  # Python's status for an uncaught exception
    assert "crashed on purpose after 3 calls" in out.stderr
    assert "exited with status 1; its 3 captured calls" in out.stderr
    with RunStore(db, readonly=True) as store:
        [info] = store.runs()
        assert info.status == "failed" and info.name == "crash" and info.params["n"] == 5
        assert [r.status for r in store.calls(info.id)] == ["ok"] * 3
    assert sim.billed()["calls"] == 3


def test_a_program_killed_with_sigkill_keeps_every_call_it_finished(
    sim: Sim, tmp_path: Path
) -> None:
    db = tmp_path / "h.db"
    program = str(PROGRAMS / "openai_chain.py")
    out = hakaru_trace(sim, db, "--", "python", program, "6", env={"KILL_AFTER": "4"})
    assert out.returncode == 128 + 9, out.stderr  # as a shell reports SIGKILL
    assert "killed by signal 9; its 4 captured calls" in out.stderr
    with RunStore(db, readonly=True) as store:
        [info] = store.runs()
        assert info.status == "failed" and len(list(store.calls(info.id))) == 4
    assert sim.billed()["calls"] == 4


def test_a_failed_instrumentor_is_named_and_capture_goes_on(sim: Sim, tmp_path: Path) -> None:
    out = hakaru_trace(
        sim,
        tmp_path / "h.db",
        "--instrumentor",
        "broken_instrumentor:BrokenInstrumentor",
        "--instrumentor",
        "no_such_instrumentor_module:Instrumentor",
        "--json",
        "--",
        "python",
        str(PROGRAMS / "openai_chain.py"),
        "2",
    )
    assert out.returncode == 0, out.stderr
    assert (
        "could not load the broken_instrumentor:BrokenInstrumentor instrumentor: RuntimeError: "
        "this instrumentor is broken on purpose" in out.stderr
    )
    assert "could not load the no_such_instrumentor_module:Instrumentor instrumentor" in out.stderr
    result = json.loads(out.stdout)
    assert result["calls"] == 2 and captured(result) == sim.billed()
    assert set(result["instrumentors"]["failed"]) == {
        "broken_instrumentor:BrokenInstrumentor",
        "no_such_instrumentor_module:Instrumentor",
    }


def test_a_program_without_llm_calls_says_so(sim: Sim, tmp_path: Path) -> None:
    out = hakaru_trace(sim, tmp_path / "h.db", "--", "python", str(PROGRAMS / "no_llm.py"))
    assert out.returncode == 3
    assert "no LLM call captured" in out.stderr
    assert "45" in out.stdout and "total" not in out.stdout  # no table of zeros


def test_a_program_where_capture_cannot_start_says_so(sim: Sim, tmp_path: Path) -> None:
    out = hakaru_trace(sim, tmp_path / "h.db", "--", "true")  # not a Python program
    assert out.returncode == 3
    assert "capture did not start inside the program" in out.stderr
