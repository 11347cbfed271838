"""Each benchmark script runs end to end at a tiny size (the real runs are `make bench`).

These check that the scripts still work and print their figures — never the figures themselves,
which depend on the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(script: str, *args: str, timeout: float = 240) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_engine_overhead() -> None:
    pytest.importorskip("langgraph")
    out = json.loads(run("engine_overhead.py", "--calls", "300", "--repeats", "1", "--json"))
    assert set(out["calls_per_second"]) >= {"bare", "session", "langgraph"}
    assert out["bare_over_session"] > 0 and out["session_over_langgraph"] > 0


def test_sim_throughput() -> None:
    assert "calls/s" in run("sim_throughput.py", "--calls", "2000")


def test_ray_scaling() -> None:
    pytest.importorskip("ray")
    out = json.loads(
        run("ray_scaling.py", "--calls", "200", "--actors", "1", "--lone", "20",
            "--latency", "0.01", "--json")
    )  # fmt: skip
    executors = [r["executor"] for r in out["runs"]]
    assert executors == ["in-process", "ray"]
    assert all(r["calls_per_s"] > 0 for r in out["runs"])
    assert set(out["targets"]) == {
        "efficiency_min",
        "efficiency_target",
        "added_ms_max",
        "added_ms_target",
        "met",
    }


def test_capture_overhead() -> None:
    pytest.importorskip("openinference.instrumentation.openai")
    out = json.loads(
        run("capture_overhead.py", "--calls", "5", "--rounds", "1", "--warmup", "2", "--json")
    )
    assert set(out["median_wall_ms"]) == {"plain", "spans", "capture"}
    assert out["recorded"] == 7 and "met" in out["target"]


def test_otel_import() -> None:
    out = json.loads(run("otel_import.py", "--spans", "3000", "--json"))
    assert out["import"]["spans"] == out["json"]["spans"] == 3000
    assert out["import_over_json"] > 0 and out["import"]["peak_rss_mib"] > 0


def test_report_scale() -> None:
    out = json.loads(run("report_scale.py", "--disks", "4", "--json"))
    (size,) = out["sizes"]
    assert size["disks"] == 4 and size["calls"] >= 15
    assert set(size["reports"]) == {"terminal", "json", "html"}
    for cost in (size["run"], *size["reports"].values()):
        assert cost["seconds"] > 0 and cost["peak_mb"] > 0
    assert size["html_mb"] > 0 and set(size["met"]) == {"peak", "time", "cpu", "html"}


def test_mdap_scale() -> None:
    out = json.loads(run("mdap_scale.py", "--disks", "4", "--floor", "--json"))
    assert out["solved"] and out["steps"] == 15
    assert out["floor_calls"] == out["direct_calls"] == out["calls"]
    assert out["floor_dollars"] == out["dollars"]
    for name in ("engine", "engine_no_store", "floor", "floor_no_store"):
        assert out[f"{name}_over_direct_cpu"] > 0
    for name in ("engine", "engine_no_store"):
        assert len(out[f"{name}_over_floor_cpu_rounds"]) == 1
    assert out["store_bytes_per_call"] > 0


def test_the_floor_records_what_the_engine_records(tmp_path: Path) -> None:
    """The floor of ``mdap_scale.py --floor`` records each call as the engine does — the
    same ids, parents (redraws after a flag and votes' later rounds included), tokens,
    dollars and simulated times — or it would not be a floor under the engine."""
    import asyncio
    import dataclasses
    import importlib.util

    from hakaru.store import RunStore

    spec = importlib.util.spec_from_file_location(
        "mdap_scale", ROOT / "benchmarks" / "mdap_scale.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    engine, floor = tmp_path / "engine.db", tmp_path / "floor.db"
    asyncio.run(bench.engine(8, 3, 10_000, str(engine)))
    asyncio.run(bench.direct(8, 3, bench.Floor(str(floor))))

    def records(path: Path) -> list[dict[str, object]]:
        store = RunStore(path)
        (run,) = store.runs()
        clocks = ("started", "ended", "run_id")  # wall-clock times and the run's own id
        found = [
            {k: v for k, v in dataclasses.asdict(r).items() if k not in clocks}
            for r in store.calls(run.id)
        ]
        store.close()
        return found

    mine, its = records(floor), records(engine)
    assert mine == its
    assert any(r["status"] == "flagged" for r in its)  # the redraw path is exercised
    assert max(r["vote"] for r in its) >= 3  # so are later rounds (k = 3)
