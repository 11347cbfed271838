"""Frontiers: the LP allocation, the difficulty policy's spend, the oracle, equal-token tests."""

from __future__ import annotations

import asyncio
import json
import random
import statistics
from pathlib import Path

import pytest

from hakaru.analysis.proportions import paired_difference, wilson
from hakaru.cli.main import main
from hakaru.errors import ConfigError
from hakaru.reasoning import (
    DifficultyBudget,
    FixedBudget,
    FrontierPoint,
    OracleBudget,
    ReasoningKind,
    allocate_levels,
    calibrate,
    equal_token_comparisons,
    expected_outcome,
    reasoning_payload,
    run_policy,
    sweep_frontier,
)
from hakaru.reasoning.allocate import assign, upper_hull
from hakaru.reasoning.phrase import BudgetPrompt
from hakaru.tasks import task_kind
from hakaru.tokenizer import count_tokens


def test_upper_hull_drops_dominated_and_concave_violating_levels() -> None:
    # level 1 is under the chord from 0 to 2; level 3 costs more for nothing
    assert upper_hull([(100, 0.5), (200, 0.55), (300, 0.9), (400, 0.9)]) == [0, 2]
    # cost estimates need not follow the level order
    assert upper_hull([(300, 0.9), (100, 0.5)]) == [1, 0]


def test_allocation_spends_the_budget_exactly_by_splitting_one_group() -> None:
    rng = random.Random(3)
    counts = {g: rng.randint(5, 50) for g in range(8)}
    table = {
        g: [(c * (1 + g / 4), 1 - 0.9 * 0.5 ** (c / (40 * (g + 1)))) for c in (50, 100, 200, 400)]
        for g in counts
    }
    total = sum(counts.values())
    cheapest = sum(n * table[g][0][0] for g, n in counts.items()) / total
    richest = sum(n * table[g][-1][0] for g, n in counts.items()) / total
    for per_task in (cheapest * 1.3, (cheapest + richest) / 2, richest * 0.9):
        plan = allocate_levels(counts, table, per_task)
        split = [g for g, (lo, hi, k) in plan.steps.items() if lo != hi]
        assert len(split) <= 1 and not plan.over_budget and not plan.saturated
        # off by at most one task moved in the split group (rounding to whole tasks)
        step = max(table[g][-1][0] - table[g][0][0] for g in counts)
        assert abs(plan.expected_tokens - per_task * total) <= step / 2 + 1e-6
    assert allocate_levels(counts, table, cheapest / 2).over_budget
    assert allocate_levels(counts, table, richest * 2).saturated


def test_assign_moves_the_hardest_of_a_split_group_up() -> None:
    plan = allocate_levels({0: 4}, {0: [(100.0, 0.5), (300.0, 0.9)]}, 200.0)
    assert plan.steps[0] == (0, 1, 2)
    assert assign(plan, [0, 0, 0, 0], [0.1, 0.4, 0.2, 0.3], [128, 512]) == [128, 512, 128, 512]


def _tasks(n: int, seed: int, noise: float) -> tuple[list[dict[str, object]], list[float]]:
    rng = random.Random(seed)
    truths = [rng.random() for _ in range(n)]
    payloads = [reasoning_payload(seed * 100_000 + i, d) for i, d in enumerate(truths)]
    return payloads, [min(1.0, max(0.0, d + rng.gauss(0, noise))) for d in truths]


@pytest.mark.parametrize("noise", [0.0, 0.25])
def test_the_difficulty_policy_spends_its_budget_within_five_percent(noise: float) -> None:
    kind = task_kind("reason")
    levels = (64, 128, 256, 512, 1024, 2048, 4096)
    cal_payloads, cal_estimates = _tasks(600, 1, noise)
    payloads, estimates = _tasks(2000, 2, noise)

    stats, _ = asyncio.run(
        calibrate(levels, kind, cal_payloads, cal_estimates, model="sim-medium", buckets=10)
    )
    for budget in (120.0, 250.0, 500.0, 800.0):
        policy = DifficultyBudget(levels, stats, budget)
        r = asyncio.run(run_policy(policy, kind, payloads, estimates, model="sim-medium"))
        assert policy.plan is not None and not policy.plan.saturated
        assert abs(r.tokens_per_task / budget - 1) < 0.05, (budget, r.tokens_per_task)


def test_oracle_expectations_match_the_simulated_backend() -> None:
    kind = task_kind("reason")
    assert isinstance(kind, ReasoningKind)
    prompt = BudgetPrompt()
    for d, budget in ((0.3, 256), (0.7, 1024)):
        payloads = [reasoning_payload(50_000 + i, d) for i in range(3000)]
        r = asyncio.run(
            run_policy(FixedBudget(budget), kind, payloads, [d] * 3000, model="sim-oracle")
        )
        tokens, acc = expected_outcome(
            kind, d, budget, cap=prompt.cap(budget), answer_tokens=count_tokens(kind.render(5))
        )
        assert abs(r.tokens_per_task / tokens - 1) < 0.03
        low, high = wilson(r.correct, r.tasks, 0.999)
        assert low <= acc <= high
    oracle = OracleBudget((128, 1024), kind, tokens_per_task=400)
    assert oracle.allocate([0.05, 0.6]) == [128, 1024]
    with pytest.raises(ConfigError, match="tokens_per_task"):
        OracleBudget((128,), kind, tokens_per_task=0)


def _point(policy: str, tokens: list[int], correct: list[bool]) -> FrontierPoint:
    mean = statistics.fmean(tokens)
    return FrontierPoint(
        family=policy.split(":")[0], knob=0, policy=policy, tasks=len(tokens), calls=len(tokens),
        tokens_per_task=mean, tokens_interval=(mean, mean), accuracy=statistics.fmean(correct),
        accuracy_interval=(0, 1), unanswered=0, task_tokens=tokens, task_correct=correct,
    )  # fmt: skip


def test_equal_token_comparison_interpolates_the_reference_and_pairs_tasks() -> None:
    lo = _point("fixed:100", [100] * 4, [True, False, False, False])
    hi = _point("fixed:300", [300] * 4, [True, True, True, False])
    mid = _point("other", [200] * 4, [True, True, False, True])
    outside = _point("far", [900] * 4, [True] * 4)
    (c,) = equal_token_comparisons([hi, lo], [mid, outside])
    assert c["reference"] == "fixed:100..fixed:300"
    assert c["reference_accuracy"] == pytest.approx(0.5)  # halfway: (0.25 + 0.75) / 2
    # per task: 1 - 1, 1 - 0.5, 0 - 0.5, 1 - 0  → mean 0.25
    assert c["difference_pts"] == pytest.approx(25.0)
    assert paired_difference([1, 1, 0, 1], [1, 0.5, 0.5, 0]).mean == pytest.approx(0.25)
    with pytest.raises(ConfigError, match="Pair every item"):
        paired_difference([1, 0], [1])


def test_sweep_frontier_gives_every_family_six_points_with_intervals(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    svg, page = tmp_path / "frontier.svg", tmp_path / "frontier.html"
    main(
        ["reasoning", "frontier", "--n", "150", "--calibration", "100", "--json",
         "--svg", str(svg), "--html", str(page)]
    )  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    families = set(payload["curves"])
    assert families == {"fixed", "difficulty@0", "difficulty@0.1", "difficulty@0.25", "oracle",
                        "ladder", "none"}  # fmt: skip
    for curve in payload["curves"].values():
        assert len(curve["points"]) >= 6
        for p in curve["points"]:
            lo, hi = p["accuracy_interval"]
            assert lo <= p["accuracy"] <= hi and hi - lo > 0
            tlo, thi = p["tokens_interval"]
            assert tlo <= p["tokens_per_task"] <= thi
    assert {c["family"] for c in payload["comparisons"]} >= {"oracle", "difficulty@0.1"}
    assert all(0 <= c["p_value"] <= 1 for c in payload["comparisons"])
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    assert "Reasoning-budget frontier" in page.read_text()
    # the deprecated spelling still works
    main(
        ["budget", "frontier", "--n", "30", "--calibration", "20", "--budgets", "150,300",
         "--noise", "0.1", "--levels", "64,256,1024", "--ladder-starts", "64", "--caps", "512"]
    )  # fmt: skip
    out = capsys.readouterr()
    assert "deprecated" in out.err and "At equal tokens" in out.out
    with pytest.raises(SystemExit):
        main(["reasoning", "frontier", "--budgets", "a,b"])
    assert "--budgets 'a,b' is not a comma-separated list" in capsys.readouterr().err


def test_sweep_frontier_refuses_bad_settings() -> None:
    with pytest.raises(ConfigError):
        sweep_frontier(n=1)
    with pytest.raises(ConfigError):
        sweep_frontier(n=10, budgets=(0.0,))
