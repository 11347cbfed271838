"""Agent frameworks captured in-process, unchanged programs run against the simulated server:
LangGraph (a fan-out and a conditional edge), the OpenAI Agents SDK and pydantic-ai. Calls and
tokens per class equal what the server billed; LangGraph's call DAG is the graph's."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from capture_sim import Sim, captured

import hakaru
from hakaru.store import RunStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PROGRAMS = Path(__file__).parent / "programs"


def run_program(
    sim: Sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, program: str, *args: str
) -> tuple[dict[str, object], list[hakaru.CallRecord]]:
    """Run a program file as ``__main__`` inside a capture; its totals and records."""
    monkeypatch.setenv("OPENAI_BASE_URL", sim.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr("sys.argv", [program, *args])
    db = tmp_path / "h.db"
    with hakaru.capture(db, name=program) as run:
        runpy.run_path(str(PROGRAMS / program), run_name="__main__")
    assert run.problems == []
    with RunStore(db, readonly=True) as store:
        return run.totals(), list(store.calls(run.run_id))


@pytest.mark.parametrize("threshold, reviewed", [("0", True), ("100000", False)])
def test_langgraph_fan_out_and_conditional_edge(
    slow_sim: Sim,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    threshold: str,
    reviewed: bool,
) -> None:
    totals, rows = run_program(slow_sim, tmp_path, monkeypatch, "langgraph_fanout.py", threshold)
    assert capsys.readouterr().out.strip() == ("reviewed" if reviewed else "not reviewed")
    assert captured(totals) == slow_sim.billed()
    assert totals["calls"] == (6 if reviewed else 5)
    # plan → three workers at once (siblings, each after plan) → combine (joins them) → review
    assert rows[0].role == "plan" and rows[0].parents == ()
    assert {r.role for r in rows[1:4]} == {"worker_a", "worker_b", "worker_c"}
    assert [r.parents for r in rows[1:4]] == [(1,), (1,), (1,)]
    assert rows[4].role == "combine" and rows[4].parents == (2, 3, 4)
    if reviewed:
        assert rows[5].role == "review" and rows[5].parents == (5,)
    assert totals["depth"] == (4 if reviewed else 3)
    assert totals["by_role"]["plan"]["calls"] == 1


def test_openai_agents_sdk(sim: Sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    totals, rows = run_program(sim, tmp_path, monkeypatch, "openai_agents_triage.py")
    assert captured(totals) == sim.billed()
    assert totals["calls"] == 2 and [r.parents for r in rows] == [(), (1,)]
    assert {r.model for r in rows} == {"gpt-4.1-mini"}


def test_pydantic_ai(sim: Sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    totals, rows = run_program(sim, tmp_path, monkeypatch, "pydantic_ai_agent.py")
    assert captured(totals) == sim.billed()
    assert totals["calls"] == 2 and {r.usage_source for r in rows} == {"reported"}
    assert totals["dollars_complete"]  # gpt-4.1-mini is in the genai-prices snapshot
