"""The MAKER report section: the diagnostics rebuilt from the stored call records equal the step
driver's own (collisions, undecided steps per round, error against length, worst steps), across
resumed segments and concurrent draws with flags; the section renders them, escaped."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fakes import ScriptedBackend
from hakaru import Session
from hakaru.backends.sim import SimBackend
from hakaru.cli.main import cli
from hakaru.errors import ConfigError
from hakaru.mdap.driver import DriverConfig, run_mdap
from hakaru.mdap.hanoi import HANOI_MODELS, HanoiTask
from hakaru.patterns.vote import vote
from hakaru.report.html import render_html, report_data
from hakaru.report.maker_section import (
    EXTRAS_KEY,
    add_maker_reports,
    fit_decay,
    load_maker,
    maker_run_sections,
    rebuild_step,
)
from hakaru.report.sections import ReportData, build_sections
from hakaru.store import RunStore
from hakaru.types import Request

# An error-prone simulated model: 6 disks at 15 % wrong answers give collisions, steps that need
# up to four sampling rounds, and a few flagged (malformed, overlong) draws.
NOISY = ("--disks", "6", "--k", "3", "--model", "sim-hanoi-nano", "--sim-error", "0.15")


def maker(db: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    """``hakaru maker run --json``: (exit code, its JSON, its error)."""
    result = CliRunner().invoke(cli, ["maker", "run", "--store", str(db), "--json", *args])
    out = json.loads(result.stdout) if result.stdout.strip() else {}
    error = "" if result.exception is None else str(result.exception)
    return result.exit_code, out, error


def same_diagnostics(store: RunStore, ref: str, out: dict[str, Any]) -> Any:
    report = load_maker(store, ref)
    assert report.diagnostics.summary() == out["diagnostics"]
    for key in ("calls", "flagged", "input_tokens", "output_tokens"):
        want = out[key]
        got = report.totals["flagged_calls" if key == "flagged" else key]
        assert got == want, key
    assert report.totals["dollars"] == pytest.approx(out["dollars"])
    return report


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    db = tmp_path_factory.mktemp("maker") / "h.db"
    code, out, err = maker(db, *NOISY, "--seed", "0")
    assert code == 0, err
    return db, out


def test_rebuilt_diagnostics_equal_the_drivers(noisy: tuple[Path, dict[str, Any]]) -> None:
    db, out = noisy
    with RunStore(db) as store:
        r = same_diagnostics(store, out["run_id"], out)
    d = out["diagnostics"]
    # the run exercises what the section is about
    assert d["collisions"]["observed"] >= 1 and d["flagged"] >= 1
    assert len(d["undecided_by_round"]) >= 3
    assert r.outcome == "solved" and r.steps == 63 == r.steps_done and r.segments == (r.run_id,)
    assert [w.step for w in r.worst] == [w["step"] for w in d["worst_steps"]]
    assert all(w.winner_right for w in r.worst)
    # the planner's prediction is the one 'maker run' prints
    pred = r.prediction()
    assert pred is not None
    for key in ("expected_calls", "p_full", "k_min"):
        mine = pred["calls_all_steps" if key == "expected_calls" else key]
        assert mine == pytest.approx(out["predicted"][key])
    # the fitted decay of the undecided steps per round
    decay = r.decay()
    rounds = [row["undecided"] for row in d["undecided_by_round"]]
    assert decay is not None and decay.start == rounds[0]
    assert decay.q == pytest.approx(sum(rounds[1:]) / sum(rounds[:-1]))
    assert 0 < decay.q < 1 and decay.rate == pytest.approx(-math.log(decay.q))


def test_flagged_draws_are_redrawn_in_their_slot_under_concurrency(tmp_path: Path) -> None:
    # 30 % malformed answers; the simulated model sleeps its latency, so the draws of a round
    # finish out of order and a redraw's vote index says nothing of the slot it refills.
    nano = HANOI_MODELS["sim-hanoi-nano"]
    flaky = dataclasses.replace(
        nano, name="flaky", base_error=0.2, max_error=0.2, malformed_rate=0.3
    )
    reordered = 0
    with RunStore(tmp_path / "h.db") as store:
        for real_time in (False, True):

            async def go(rt: bool = real_time) -> Any:
                backend = SimBackend(seed=0, models=[flaky], real_time=rt, time_scale=0.0003)
                params = {"task": "hanoi", "disks": 5, "k": 3}
                async with Session(
                    backend, store=store, run_kind="maker", run_name="hanoi", run_params=params
                ) as s:
                    return await run_mdap(s, HanoiTask(5), DriverConfig("flaky", k=3))

            result = asyncio.run(go())
            report = load_maker(store, result.run_id)
            assert report.diagnostics.summary() == result.diagnostics.summary()
            assert result.diagnostics.flagged > 10
            steps: dict[int, list[Any]] = {}
            for rec in store.calls(result.run_id):
                assert rec.step is not None
                steps.setdefault(rec.step, []).append(rec)
            for step, recs in steps.items():
                ranked = sorted(recs, key=lambda r: r.vote)
                by_index = tuple(r.candidate for r in ranked if r.status == "ok")
                reordered += by_index != rebuild_step(step, recs, 3).sequence
    assert reordered > 0  # the slot order mattered somewhere


def test_a_resumed_run_counts_every_segment_and_redone_steps_once(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    # A cap of 5 samples stops the run in a step after its fourth-step checkpoint.
    code, _, err = maker(db, *NOISY, "--seed", "3", "--max-samples", "5", "--checkpoint-every", "4")
    assert code != 0
    found = re.search(r"Step (\d+) .*--resume (\w+)", err)
    assert found is not None, err
    stuck, first = int(found.group(1)), found.group(2)
    assert stuck > 4
    with RunStore(db) as store:
        stopped = load_maker(store, first)
    assert stopped.outcome == "stopped" and stopped.status == "failed"
    assert stopped.open_step is not None and stopped.open_step.step == stuck
    assert stopped.open_step.winner is None and stopped.diagnostics.steps == stuck - 1
    code, out, err = maker(db, "--resume", first, "--max-samples", "100")
    assert code == 0, err
    assert out["resumed_at"] < stuck - 1  # steps after the checkpoint were redone
    with RunStore(db) as store:
        for ref in out["segments"]:  # the same summary, whichever segment is named
            r = same_diagnostics(store, ref, out)
            assert r.segments == tuple(out["segments"]) and r.run_id == out["run_id"]
            assert r.redone_calls > 0 and r.outcome == "solved"
        data = ReportData(extras={EXTRAS_KEY: [r]})
        page = render_html(build_sections(data), title="t")
    assert "resumed 1×" in page and "redid after its checkpoint" in page


def test_a_wrong_winner_is_scored_against_the_ground_truth(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    code, out, _ = maker(
        db, "--disks", "6", "--k", "1", "--model", "sim-hanoi-nano", "--sim-error", "0.05",
        "--seed", "1",
    )  # fmt: skip
    assert code == 1 and not out["solved"] and out["failed_step"] > 10
    with RunStore(db) as store:
        r = same_diagnostics(store, out["run_id"], out)
    assert r.outcome == "failed" and r.diagnostics.wrong_steps == 1
    assert r.reason == out["reason"]
    assert r.worst[0].step == out["failed_step"] and not r.worst[0].winner_right
    assert r.prediction() is not None


def test_hakaru_report_json_holds_the_maker_summary(
    noisy: tuple[Path, dict[str, Any]],
) -> None:
    db, out = noisy
    result = CliRunner().invoke(cli, ["report", out["run_id"], "--store", str(db), "--json"])
    assert result.exit_code == 0, result.output
    (maker,) = json.loads(result.output)["maker"]
    assert maker["run_id"] == out["run_id"]
    assert maker["diagnostics"]["collisions"] == out["diagnostics"]["collisions"]
    assert maker["totals"]["calls"] == out["calls"]


def test_hakaru_report_in_the_terminal_summarises_the_maker_run(
    noisy: tuple[Path, dict[str, Any]],
) -> None:
    db, out = noisy
    result = CliRunner().invoke(cli, ["report", out["run_id"], "--store", str(db)])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("MAKER run "))
    c = out["diagnostics"]["collisions"]
    assert line.startswith(f"MAKER run {out['run_id']} (hanoi, k = 3): solved, ")
    assert f"{out['calls']:,} calls, {out['flagged']:,} flagged" in line
    assert f"{c['observed']:,} seen, {c['predicted_independent']:.2f} if errors" in line


def test_the_section_in_hakaru_report_html(
    noisy: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    db, out = noisy
    html = tmp_path / "r.html"
    result = CliRunner().invoke(
        cli, ["report", out["run_id"], "--store", str(db), "--html", str(html)]
    )
    assert result.exit_code == 0, result.output
    page = html.read_text(encoding="utf-8")
    run = out["run_id"]
    titles = re.findall(r"<h2>([^<]*)</h2>", page)
    assert titles == [
        f"Run {run}: maker hanoi",
        f"MAKER run {run}: hanoi, 6 disks, k = 3, sim-hanoi-nano",
        f"Undecided steps per sampling round (run {run})",
        f"Where errors came from (run {run})",
        f"Call DAG of run {run}",
        f"Calls of run {run}",
    ]
    c = out["diagnostics"]["collisions"]
    assert f"{c['observed']} collisions against {c['predicted_independent']:.2f} predicted" in page
    assert page.count("<svg") == 2 + 3  # undecided and length; the run's own six but the
    # three of one category (share per role, per model, critical path by role: one role)
    assert "exponential decay at rate" in page
    worst = out["diagnostics"]["worst_steps"][0]
    assert f'<td class="num ">{worst["step"]}</td>' in page


def test_hostile_candidates_are_text(tmp_path: Path, payload: str) -> None:
    # A hand-made voting run (no task, no k in its parameters) whose answers carry markup.
    def answer(request: Any, n: int) -> str:
        return f"{payload} wrong {n}" if n % 6 == 1 else f"{payload} right {request.step}"

    async def go(store: RunStore) -> str:
        async with Session(
            ScriptedBackend(answer), store=store, run_kind="maker", run_name="<b>votes</b>"
        ) as s:
            for step in range(1, 6):
                request = Request.chat("m", f"step {step}", step=step)
                result = await vote(s, request, lambda r: r.text, k=2)
                assert result.winner.endswith(f"right {step}")
            return s.run_id

    with RunStore(tmp_path / "h.db") as store:
        run_id = asyncio.run(go(store))
        data = report_data(store, [run_id])
        add_maker_reports(store, data)
        add_maker_reports(store, data)  # idempotent
    (r,) = data.extras[EXTRAS_KEY]
    assert r.k == 2 and any("k = 2 is read from its votes" in n for n in r.notes)
    assert r.diagnostics.wrong_votes >= 3 and r.outcome == "done" and r.steps is None
    assert r.worst and payload in r.worst[0].wrong_answer
    page = render_html(maker_run_sections(r), title="t")
    assert "<script" not in page and "<img" not in page and "<b>votes" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert "&lt;b&gt;votes&lt;/b&gt;" in page


def test_records_are_streamed(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    code, out, err = maker(db, "--disks", "12", "--k", "2", "--seed", "0")
    assert code == 0, err
    with RunStore(db) as store:
        load_maker(store, out["run_id"])  # imports and caches out of the measurement
        tracemalloc.start()
        records = list(store.calls(out["run_id"]))
        held = tracemalloc.get_traced_memory()[1]
        del records
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        report = load_maker(store, out["run_id"])
        streamed = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    assert report.diagnostics.summary() == out["diagnostics"]
    assert out["calls"] > 8000
    assert streamed < held / 3, (streamed, held)


def test_fit_decay() -> None:
    exact = fit_decay([1000, 250, 62, 16, 4, 1, 0])
    assert exact is not None and exact.q == pytest.approx(333 / 1333)
    assert exact.r2 is not None and exact.r2 > 0.99
    assert exact.predict(1) == 1000
    once = fit_decay([7, 0])
    assert once is not None and once.q == 0 and once.predict(2) == 0
    assert fit_decay([0]) is None and fit_decay([]) is None


def test_only_maker_runs(noisy: tuple[Path, dict[str, Any]], report_store: Any) -> None:
    path, run_id, _ = report_store
    with RunStore(path) as store, pytest.raises(ConfigError, match="not a MAKER run"):
        load_maker(store, run_id)
    with RunStore(path) as store:
        data = report_data(store, [run_id])
        add_maker_reports(store, data)
    assert data.extras[EXTRAS_KEY] == []
    assert not [s for s in build_sections(data) if s.key.startswith("maker")]
