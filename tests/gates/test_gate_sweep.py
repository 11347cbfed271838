"""Gate sweeps on the simulated LLM: measured rework, the fit, and the prediction check.

Acceptance (issue 5, item 4): on ``tree-sum`` with the default red-flag gate, seed 0 and 2,000
tasks per strength, the predicted g* is interior and the measured best of the swept strengths
0, 0.25, 0.5, 0.75, 1 is the one nearest it. Tolerance: |g* − measured best| ≤ 0.125 (half the
grid spacing: that is what "nearest" means), and the best must beat each neighbour by more than
the 95 % measurement noise, so the result is not a coin flip of this seed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hakaru.cli.main import main
from hakaru.errors import ConfigError
from hakaru.gates import fit_gate_model, optimize
from hakaru.gates.sweep import run_gate_sweep
from hakaru.gates.sweep_result import GateSweepPoint, GateSweepResult, check_prediction
from hakaru.report.gates_section import EXTRAS_KEY, gate_sweep, gate_sweep_sections
from hakaru.report.html import render_html
from hakaru.report.sections import ReportData

STRENGTHS = [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.fixture(scope="module")
def redflag() -> GateSweepResult:
    return run_gate_sweep("tree-sum", mechanism="redflag", tasks=2000, seed=0)


def neighbours_beaten(result: GateSweepResult) -> None:
    points = result.points
    i = result.strengths.index(result.check.measured_best)
    for j in (i - 1, i + 1):
        if 0 <= j < len(points):
            gap = points[i].net - points[j].net
            noise = 1.96 * (points[i].net_se ** 2 + points[j].net_se ** 2) ** 0.5
            assert gap > noise, (points[i].g, points[j].g, gap, noise)


def test_acceptance_predicted_optimum_is_the_measured_best(redflag: GateSweepResult) -> None:
    check = redflag.check
    assert redflag.strengths == STRENGTHS
    assert check.case == "interior"
    assert check.g_star is not None
    assert check.ok, check.reason
    assert check.measured_best == 0.25
    assert abs(check.g_star - check.measured_best) <= 0.125
    neighbours_beaten(redflag)
    assert check.reason.startswith(f"predicted g* = {check.g_star:.3f} (interior): the measured")


def test_rework_is_measured_and_falls_with_strength(redflag: GateSweepResult) -> None:
    points = redflag.points
    assert all(p.tasks == 2000 for p in points)
    rework = [p.rework for p in points]
    raw = [p.raw for p in points]
    assert rework == sorted(rework, reverse=True) and rework[0] > 400 and rework[-1] <= 5
    assert raw == sorted(raw, reverse=True)  # a stronger gate completes fewer tasks per hour
    # no gate: a task is wrong when any of its 5 calls is (worker error 6 % per call)
    assert points[0].rework_rate == pytest.approx(1 - 0.94**5, abs=0.03)
    # no gate: exactly one worker call per step, plus resamples of malformed answers (1 %)
    assert 5 * 2000 <= points[0].calls <= 5 * 2000 * 1.03
    fit = redflag.fit
    assert fit is not None
    assert fit.r2_rework is not None and fit.r2_rework > 0.95
    assert fit.r0.low <= points[0].rework_rate <= fit.r0.high
    assert 4.0 < fit.beta.value < 7.0 and 0.2 < fit.alpha.value < 0.6


def test_verifier_gate_prediction_also_holds() -> None:
    result = run_gate_sweep("tree-sum", mechanism="verifier", tasks=1000, seed=0)
    assert result.check.case == "interior"
    assert result.check.ok, result.check.reason
    assert result.check.measured_best == 0.25
    assert result.check.g_star is not None and abs(result.check.g_star - 0.25) <= 0.125


def test_gates_do_not_pay_on_single_call_tasks() -> None:
    # One call per task: a caught error costs a retry, i.e. what it costs when shipped, so the
    # checks' overhead is never repaid. Both the fit and the measurements say g* = 0.
    result = run_gate_sweep("sum", mechanism="redflag", tasks=1500, seed=0)
    assert result.check.case == "zero"
    assert result.check.g_star == 0.0
    assert result.check.measured_best == 0.0
    assert result.check.ok, result.check.reason
    neighbours_beaten(result)
    assert result.fit is not None
    r0, beta, alpha = result.fit.r0.value, result.fit.beta.value, result.fit.alpha.value
    assert r0 * (alpha + beta) <= alpha  # the closed-form condition of the zero case


def test_same_seed_same_measurements() -> None:
    a = run_gate_sweep("sum", strengths=[0, 1], tasks=150, seed=3)
    b = run_gate_sweep("sum", strengths=[1, 0], tasks=150, seed=3)
    assert a.points == b.points
    c = run_gate_sweep("sum", strengths=[0, 1], tasks=150, seed=4)
    assert c.points != a.points


def test_vote_without_rework_beyond_k_1_says_why_there_is_no_prediction() -> None:
    result = run_gate_sweep("sum", mechanism="vote", strengths=[0, 0.5, 1], tasks=300, seed=0)
    assert [p.setting for p in result.points] == ["k = 1", "k = 3", "k = 5"]
    assert [p.rework for p in result.points][1:] == [0, 0]
    assert result.fit is None and not result.check.ok
    assert result.check.reason == (
        "no prediction: rework was observed at fewer than two distinct gate strengths, so R0 "
        "and beta cannot both be estimated. Add observations (with rework > 0) at another "
        "strength (rework seen at g = 0); measured best g = 0"
    )


def test_invalid_options_give_clear_errors() -> None:
    with pytest.raises(ConfigError, match=r"^Unknown gate workload 'x'. Choose one of: tree-sum"):
        run_gate_sweep("x")
    with pytest.raises(ConfigError, match="at least two distinct strengths"):
        run_gate_sweep("sum", strengths=[0.5, 0.5])
    with pytest.raises(ConfigError, match=r"gate strength 2 is outside \[0, 1\]"):
        run_gate_sweep("sum", strengths=[0, 2])
    with pytest.raises(ConfigError, match="Unknown gate mechanism 'k'"):
        run_gate_sweep("sum", mechanism="k")
    with pytest.raises(ConfigError, match="tasks must be a whole number >= 1"):
        run_gate_sweep("sum", tasks=0)


# --- the check on synthetic points ---------------------------------------------------------------


def _points(rows: list[tuple[float, int, int, float]], c: float = 0.0) -> list[GateSweepPoint]:
    return [
        GateSweepPoint(g, "", n, n, y, hours, hours * 10.0, 0, 0, "hour", c)
        for g, n, y, hours in rows
    ]


def _check(points: list[GateSweepPoint]) -> tuple[str, bool, float | None]:
    fit = fit_gate_model([p.observation() for p in points])
    optimum = optimize(fit.params(points[0].c_rework), "net")
    result = check_prediction(points, fit, optimum)
    return result.reason, result.ok, result.g_star


def test_check_reports_noise_when_the_measured_best_is_within_it() -> None:
    # the model's optimum is nearest 0.25; the measured 0.5 edges it out by less than noise
    points = _points(
        [(0.0, 400, 110, 4.0), (0.25, 400, 40, 4.3), (0.5, 400, 12, 4.55), (0.75, 400, 4, 5.0)]
    )
    reason, ok, g_star = _check(points)
    assert g_star is not None and abs(g_star - 0.25) < 0.125
    assert not ok
    assert reason.startswith(
        f"predicted g* = {g_star:.3f} (interior), nearest swept g = 0.25, but the measured best "
        "is g = 0.5: the measured throughputs at g = 0.5 and g = 0.25 differ by "
    )
    assert "within the measurement noise (±" in reason and "at 95%): run more tasks" in reason


def test_check_reports_a_model_that_does_not_fit() -> None:
    # raw throughput collapses at the first step of the gate, then stays flat: far from linear
    points = _points(
        [
            (0.0, 10_000, 1000, 10.0),
            (0.25, 10_000, 300, 14.0),
            (0.5, 10_000, 80, 14.1),
            (0.75, 10_000, 20, 14.2),
            (1.0, 10_000, 5, 14.3),
        ]
    )
    reason, ok, _ = _check(points)
    assert not ok
    assert "the model does not fit this gate" in reason
    assert "raw completion departs most from the fitted linear overhead" in reason


# --- the command and the report ------------------------------------------------------------------


def test_cli_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code = 0
    try:
        main(["gate", "sweep", "tree-sum", "--tasks", "200", "--strengths", "0,0.25,0.5", "--json"])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    assert (code, out.err) == (0, "")
    payload = json.loads(out.out)
    assert {
        "strengths",
        "observations",
        "fit",
        "g_star",
        "case",
        "measured_best",
        "prediction_ok",
        "reason",
    } <= set(payload)
    assert payload["strengths"] == [0.0, 0.25, 0.5]
    assert payload["observations"][0] == {
        "g": 0.0,
        "completed": payload["points"][0]["completed"],
        "rework": payload["points"][0]["rework"],
        "hours": payload["points"][0]["hours"],
        "cost": payload["points"][0]["cost"],
    }
    for name in ("r0", "beta", "f0", "alpha"):
        assert {"value", "low", "high"} <= set(payload["fit"][name])
    assert payload["command"] == (
        "hakaru gate sweep tree-sum --mechanism redflag --strengths 0,0.25,0.5 --tasks 200 "
        "--seed 0 --per hour"
    )


def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["gate", "sweep", "sum", "--strengths", "0,x"])
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        "Error: --strengths must be comma-separated numbers in [0, 1], got '0,x'. "
        "Use e.g. --strengths 0,0.25,0.5,0.75,1.\n"
    )


def test_report_section_has_the_frontier_fit_and_check(redflag: GateSweepResult) -> None:
    (section,) = gate_sweep_sections(redflag)
    assert section.title == "Quality gate: redflag on tree-sum"
    assert len(section.figures) == 1 and "<svg" in section.figures[0].svg
    measured, params, verdict = section.tables
    assert [row[0] for row in measured.rows] == ["0", "0.25", "0.5", "0.75", "1"]
    assert [row[0] for row in params.rows] == ["R0", "β", "F0", "α"]
    assert verdict.cells()[0][-1].text == "ok"
    assert gate_sweep(ReportData()) == []
    (built,) = gate_sweep(ReportData(extras={EXTRAS_KEY: [redflag]}))
    assert (built.title, built.tables) == (section.title, section.tables)
    page = render_html([section], title="t")
    assert "Quality gate: redflag on tree-sum" in page and "Prediction check: predicted" in page


def test_cli_writes_an_html_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "gate.html"
    main(["gate", "sweep", "tree-sum", "--tasks", "100", "--html", str(out)])
    printed = capsys.readouterr().out
    assert "Prediction check" in printed and f"report: {out}" in printed
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page


def test_docstring_examples() -> None:
    import doctest

    import hakaru.gates.sweep as module

    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
