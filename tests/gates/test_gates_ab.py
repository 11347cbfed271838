"""A/B comparison: the seed's §9 arithmetic, interval coverage, and errors."""

from __future__ import annotations

import numpy as np
import pytest

from hakaru.errors import ConfigError
from hakaru.gates import ArmTotals, GateObservation, arm_totals, compare_ab


def test_metrics_follow_the_definitions() -> None:
    a = ArmTotals("A", completed=872, rework=245, exposure=10.0, per="hour", cost=12381.0)
    b = ArmTotals("B", completed=796, rework=50, exposure=10.0, per="hour", cost=7982.0)
    result = compare_ab(a, b, c_rework=1.4)
    raw = result.metric("raw_throughput")
    assert (raw.a, raw.b) == (87.2, 79.6)
    assert raw.relative == pytest.approx(79.6 / 87.2 - 1)  # seed §9: −8.7 %
    eff = result.metric("effective_throughput")
    assert (eff.a, eff.b) == pytest.approx((62.7, 74.6))
    net = result.metric("net_throughput")
    assert net.a == pytest.approx((872 - 2.4 * 245) / 10)
    assert net.b == pytest.approx((796 - 2.4 * 50) / 10)
    cost = result.metric("cost_per_effective_task")
    assert (cost.a, cost.b) == pytest.approx((12381 / 627, 7982 / 746))
    rework = result.metric("rework_rate")
    assert rework.difference == pytest.approx(50 / 796 - 245 / 872)
    for m in result.metrics:
        assert m.low < m.high
        assert m.unit
    assert set(result.to_dict()["metrics"]) == {
        "raw_throughput",
        "rework_rate",
        "effective_throughput",
        "net_throughput",
        "cost_per_effective_task",
    }


def test_difference_intervals_cover_at_about_the_nominal_rate() -> None:
    """400 simulated A/B tests (Poisson completions, binomial rework), 95 % intervals."""
    rng = np.random.default_rng(3)
    hours = 5.0
    rate = {"A": 40.0, "B": 34.0}  # tasks per hour
    rework = {"A": 0.25, "B": 0.06}
    c = 1.4
    truth = {
        "raw_throughput": rate["B"] - rate["A"],
        "rework_rate": rework["B"] - rework["A"],
        "effective_throughput": rate["B"] * (1 - rework["B"]) - rate["A"] * (1 - rework["A"]),
        "net_throughput": rate["B"] * (1 - (1 + c) * rework["B"])
        - rate["A"] * (1 - (1 + c) * rework["A"]),
    }
    covered = dict.fromkeys(truth, 0)
    reps = 400
    for _ in range(reps):
        arms = {}
        for name in ("A", "B"):
            n = int(rng.poisson(rate[name] * hours))
            arms[name] = ArmTotals(name, n, int(rng.binomial(n, rework[name])), hours, "hour")
        result = compare_ab(arms["A"], arms["B"], c_rework=c)
        for metric, value in truth.items():
            m = result.metric(metric)
            covered[metric] += m.low <= value <= m.high
    for metric in truth:
        assert 0.90 * reps <= covered[metric] <= 0.99 * reps, covered


def test_arm_totals_sum_rows() -> None:
    rows = [
        GateObservation(0.5, 100, 10, hours=1.0, cost=5.0),
        GateObservation(0.5, 120, 12, hours=1.5, cost=6.0),
    ]
    arm = arm_totals("A", rows)
    assert (arm.completed, arm.rework, arm.exposure, arm.cost, arm.per) == (
        220,
        22,
        2.5,
        11.0,
        "hour",
    )
    assert arm_totals("A", rows, "usd").exposure == 11.0


def test_zero_rework_gives_no_relative_interval_but_a_difference_interval() -> None:
    a = ArmTotals("A", 100, 10, 1.0, "hour")
    b = ArmTotals("B", 100, 0, 1.0, "hour")
    m = compare_ab(a, b).metric("rework_rate")
    assert m.relative == -1.0
    assert m.relative_low is None
    assert m.low < m.difference < m.high


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: arm_totals("B", [GateObservation(0.0, 0, 0, hours=1.0)]),
            "arm B completed no tasks, so it has no rates to compare",
        ),
        (
            lambda: compare_ab(
                ArmTotals("A", 10, 1, 1.0, "hour"), ArmTotals("B", 10, 1, 1.0, "usd")
            ),
            "arm A is measured per hour and arm B per usd. Give both arms hours (or both cost)",
        ),
        (
            lambda: compare_ab(
                ArmTotals("A", 10, 1, 1.0, "hour"), ArmTotals("B", 10, 1, 1.0, "hour"), level=1.0
            ),
            "level must be in (0, 1), got 1. Use e.g. 0.95",
        ),
        (
            lambda: compare_ab(
                ArmTotals("A", 10, 1, 1.0, "hour"),
                ArmTotals("B", 10, 1, 1.0, "hour"),
                c_rework=-1.0,
            ),
            "c_rework (c, the extra effort of one rework item) must be >= 0, got -1. "
            "Use 0 for the simple model or e.g. 1.4",
        ),
    ],
)
def test_ab_errors(call: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        call()  # type: ignore[operator]
    assert str(info.value) == message
