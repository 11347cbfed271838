"""Calibration on random steps: p̂ with a Wilson interval, v̂, tokens, cost per call, model choice."""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from hakaru.backends.sim import SimBackend, SimModel
from hakaru.cli.main import main
from hakaru.errors import ConfigError
from hakaru.mdap.calibrate import Calibration, calibrate, choose, wilson
from hakaru.mdap.hanoi import HANOI_MODELS, HanoiTask
from hakaru.session import Session

TASK = HanoiTask(12)


def calibrated(models: list[SimModel], **kw: object) -> tuple[list[Calibration], Session]:
    async def go() -> tuple[list[Calibration], Session]:
        async with Session(SimBackend(seed=5, models=models)) as s:
            cals = [await calibrate(s, TASK, m.name, **kw) for m in models]  # type: ignore[arg-type]
            return cals, s

    return asyncio.run(go())


def test_wilson_interval() -> None:
    low, high = wilson(90, 100)
    assert (round(low, 4), round(high, 4)) == (0.8256, 0.9448)  # the textbook values
    assert wilson(0, 50)[0] == 0.0 and 0.0 < wilson(0, 50)[1] < 0.08
    assert wilson(50, 50)[1] == 1.0
    assert wilson(0, 0) == (0.0, 1.0)
    narrow, wide = wilson(90, 100, 0.5), wilson(90, 100, 0.999)
    assert wide[0] < low < narrow[0] < 0.9 < narrow[1] < high < wide[1]
    with pytest.raises(ConfigError, match="confidence is 1. Give a level in"):
        wilson(1, 2, 1)


def test_measures_p_v_tokens_and_cost_exactly() -> None:
    model = replace(HANOI_MODELS["sim-hanoi-nano"], base_error=0.1, max_error=0.1)
    (cal,), s = calibrated([model], samples=600, per_step=2, seed=3, confidence=0.999)
    records = s.records
    assert cal.samples == len(records) == 600 and cal.steps_sampled == 300
    assert cal.valid == sum(r.status == "ok" for r in records)
    assert len({r.step for r in records}) == 300  # distinct random steps
    assert cal.p_hat is not None and cal.p_interval[0] < 0.9 < cal.p_interval[1]
    assert cal.p_interval[0] < cal.p_hat < cal.p_interval[1]
    assert cal.v_hat == pytest.approx(cal.valid / 600)
    assert cal.v_interval[0] < 1 - model.malformed_rate < cal.v_interval[1]
    assert cal.in_tokens == pytest.approx(sum(r.input_tokens for r in records) / 600)
    assert cal.out_tokens == pytest.approx(sum(r.output_tokens for r in records) / 600)
    dollars = sum((r.input_tokens * 0.10 + r.output_tokens * 0.40) / 1e6 for r in records)
    assert cal.cost_per_call == pytest.approx(dollars / 600)
    assert cal.out_tokens_median <= cal.out_tokens_p95 <= cal.out_tokens_max
    # two samples per step measure collisions, against the independent-errors prediction
    col = cal.diagnostics.collision_summary()
    assert col["steps"] > 250 and col["predicted_independent"] > 0


def test_calibration_is_reproducible_and_samples_are_random_steps() -> None:
    model = HANOI_MODELS["sim-hanoi-oss"]
    (a,), _ = calibrated([model], samples=100, seed=1)
    (b,), s = calibrated([model], samples=100, seed=1)
    assert a.to_json() == b.to_json()
    steps = sorted({r.step for r in s.records})
    assert len(steps) == 100 and steps[-1] - steps[0] > TASK.steps // 2


def test_repairing_parser_lets_malformed_answers_vote() -> None:
    sloppy = replace(HANOI_MODELS["sim-hanoi-mini"], name="sloppy", malformed_rate=0.3)
    (strict_cal,), _ = calibrated([sloppy], samples=400, parser="flag")
    (repair_cal,), _ = calibrated([sloppy], samples=400, parser="repair", max_tokens=2048)
    assert strict_cal.v_hat < 0.8 < repair_cal.v_hat
    assert repair_cal.p_hat is not None and strict_cal.p_hat is not None
    assert repair_cal.p_hat < strict_cal.p_hat  # the repaired ones are mostly wrong


def test_choose_the_cheapest_model_that_reaches_the_target() -> None:
    cals, _ = calibrated(list(HANOI_MODELS.values()), samples=400)
    choice = choose(cals, 1_048_575, 0.95)
    assert choice.best is not None
    costs = {o.candidate.name: o.plan.expected_cost for o in choice.options if o.plan}
    assert choice.best.candidate.name == min(costs, key=lambda n: costs[n] or math.inf)
    cons = choose(cals, 1_048_575, 0.95, conservative=True)
    for plain, safe in zip(choice.options, cons.options, strict=True):
        assert plain.plan is not None and safe.plan is not None
        assert safe.plan.k_min >= plain.plan.k_min


def test_a_model_at_or_below_one_half_is_infeasible() -> None:
    bad = replace(HANOI_MODELS["sim-hanoi-nano"], name="bad", base_error=0.6, max_error=0.6)
    cals, _ = calibrated([bad, HANOI_MODELS["sim-hanoi-mini"]], samples=200)
    choice = choose(cals, 1_048_575, 0.95)
    assert [o.feasible for o in choice.options] == [False, True]
    assert "is not above 0.5" in choice.options[0].reason
    assert choice.best is not None and choice.best.candidate.name == "sim-hanoi-mini"


def test_cli_calibrate_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    try:
        main(
            ["maker", "calibrate", "--disks", "20", "--samples", "300", "--per-step", "2",
             "--store", str(tmp_path / "c.db"), "--json"]
        )  # fmt: skip
    except SystemExit as exc:
        assert exc.code in (0, None)
    out, err = capsys.readouterr()
    assert err == ""
    data = json.loads(out)
    assert data["steps"] == 1_048_575 and len(data["models"]) == len(HANOI_MODELS)
    row = data["models"][0]
    for key in ("p_hat", "p_low", "p_high", "v_hat", "in_tokens", "out_tokens", "cost_per_call"):
        assert key in row
    nano = next(r for r in data["models"] if r["model"] == "sim-hanoi-nano")
    assert row["plan"]["k_min"] >= 1 and nano["plan"]["k_min"] >= 4  # nano errs ~6 % per sample
    assert data["cheapest"] in HANOI_MODELS
