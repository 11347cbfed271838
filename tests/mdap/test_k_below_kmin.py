"""With k below k_min, runs fail about as often as the planner predicts (a statistical test).

The planner's model (MAKER's analysis; docs/papers.md): every vote is right with probability p,
independently, and all wrong votes agree (two candidates). The simulated model below is exactly
that — every draw at temperature 0.1 (independent samples), ``rho = 1`` (every wrong answer of a
step is the same one), nothing malformed — on Towers of Hanoi with 5 disks (31 steps) and p = 0.85,
where k_min(t = 0.95) = 4. For k = 1, 2, 3 we run R independent runs (sim seeds 0..R−1) through the
real engine and count failures.

Tolerance: the failure count must lie in the central 99.9 % of Binomial(R, 1 − p_full(p, k, s)).
The seeds are fixed, so the outcome is deterministic; the band says how far it may drift if the
simulator's random draws change. A MAKER-like model (greedy first vote, partly correlated and
varied wrong answers, malformed ones) must fail no more often than that worst case.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from scipy.stats import binom

from hakaru.backends.sim import SimBackend, SimModel
from hakaru.mdap import full_success, k_min
from hakaru.mdap.driver import DriverConfig, run_mdap
from hakaru.mdap.hanoi import HANOI_MODELS, HanoiTask
from hakaru.session import Session

P = 0.85
DISKS = 5
RUNS = 200
TASK = HanoiTask(DISKS)
IID = replace(
    HANOI_MODELS["sim-hanoi-mini"],
    name="flaky-iid",
    base_error=1 - P,
    max_error=1 - P,
    rho=1.0,
    malformed_rate=0.0,
    overlong_rate=0.0,
)
MAKER_LIKE = replace(
    HANOI_MODELS["sim-hanoi-mini"], name="flaky-maker", base_error=1 - P, max_error=1 - P
)


def failures(model: SimModel, k: int, temperatures: tuple[float, ...], runs: int) -> int:
    async def one(seed: int) -> bool:
        async with Session(SimBackend(seed=seed, models=[model]), keep_records=False) as s:
            result = await run_mdap(
                s, TASK, DriverConfig(model.name, k=k, temperatures=temperatures)
            )
        assert result.errors == (0 if result.solved else 1)
        return result.solved

    async def all_runs() -> int:
        return sum([not await one(seed) for seed in range(runs)])

    return asyncio.run(all_runs())


def test_setting_is_below_k_min() -> None:
    assert k_min(P, TASK.steps, 0.95) == 4


@pytest.mark.parametrize("k", [1, 2, 3])
def test_failure_rate_matches_the_planner(k: int) -> None:
    predicted = 1.0 - full_success(P, k, TASK.steps)  # k=1: 0.99, k=2: 0.61, k=3: 0.16
    low, high = binom.ppf(0.0005, RUNS, predicted), binom.ppf(0.9995, RUNS, predicted)
    observed = failures(IID, k, (0.1,), RUNS)
    assert low <= observed <= high, (observed / RUNS, predicted)


def test_the_planner_is_a_worst_case_for_varied_wrong_answers() -> None:
    k = 2
    predicted = 1.0 - full_success(P, k, TASK.steps)
    observed = failures(MAKER_LIKE, k, (0.0, 0.1), RUNS // 2)
    assert observed <= binom.ppf(0.9995, RUNS // 2, predicted)
    assert observed > 0  # still well below k_min: it does fail
