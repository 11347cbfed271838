"""evolution: expected counts within a stated tolerance, exact per-call costs, determinism.

The number of mutations is random (drawn by the simulated mutator, seeded by the run). Over R
seeds the mean count must lie within 4 standard errors of the analytic expectation:
|mean − E| ≤ 4·sd/√R, with sd the analytic ``calls_sd`` (a geometric count for global
mutation, a sum of k geometric counts for local mutation). 4σ keeps the false-alarm rate of
each check below 10⁻⁴ — and the runs are deterministic, so a check that passes once always does.
"""

from __future__ import annotations

import asyncio
import math
import statistics
from pathlib import Path

import pytest

from hakaru.runner import RunOutcome, run_workload
from hakaru.tasks import task_kind
from hakaru.workloads._kinds_common import digest_rng
from hakaru.workloads._kinds_evolution import MUTATE_FIXED, incorrect_block
from hakaru.workloads.evolution import Evolution

SEEDS = 100
GLOBAL_K = (1, 2, 3, 4, 5)
LOCAL_K = (1, 2, 4, 8, 16)


async def _runs(variant: str, k: int, length: int = 4) -> list[RunOutcome]:
    return [
        await run_workload(
            "evolution", variant=variant, params={"k": k, "l": length}, sim_error=0, seed=seed
        )
        for seed in range(SEEDS)
    ]


@pytest.fixture(scope="module")
def samples() -> dict[tuple[str, int], list[RunOutcome]]:
    async def collect() -> dict[tuple[str, int], list[RunOutcome]]:
        out = {("global", k): await _runs("global", k) for k in GLOBAL_K}
        out.update({("local", k): await _runs("local", k) for k in LOCAL_K})
        return out

    return asyncio.run(collect())


def _mean_calls(runs: list[RunOutcome]) -> float:
    return statistics.fmean(r.totals["calls"] for r in runs)


@pytest.mark.parametrize(
    ("variant", "k"), [("global", k) for k in GLOBAL_K] + [("local", k) for k in LOCAL_K]
)
def test_mean_counts_match_the_expectation(
    samples: dict[tuple[str, int], list[RunOutcome]], variant: str, k: int
) -> None:
    runs = samples[variant, k]
    a = runs[0].analytic
    assert a["calls"] == (2.0**k if variant == "global" else 2.0 * k)
    tolerance = 4 * a["calls_sd"] / math.sqrt(len(runs))
    mean = _mean_calls(runs)
    assert abs(mean - a["calls"]) <= tolerance, (mean, a["calls"], tolerance)
    for key in ("input_tokens", "output_tokens", "aalp_cost", "depth"):
        measured = statistics.fmean(r.totals[key] for r in runs)
        assert abs(measured - a[key]) <= tolerance * a[key] / a["calls"]
    assert all(r.result.correct and r.result.answer == k for r in runs)


def test_every_mutation_costs_exactly_one_call_shape(
    samples: dict[tuple[str, int], list[RunOutcome]],
) -> None:
    # The count is random, each call's cost is not: tokens and AALP cost are the count times
    # one call's figures, and the loop is sequential (depth = calls).
    for (variant, k), runs in samples.items():
        width = k * 4 if variant == "global" else 4  # tokens one call rewrites
        one_in = MUTATE_FIXED + width
        for r in runs:
            t = r.totals
            calls = t["calls"]
            assert t["depth"] == calls
            assert (t["input_tokens"], t["output_tokens"]) == (calls * one_in, calls * width)
            assert t["aalp_cost"] == calls * (width * one_in + width * (width - 1) / 2)


def test_global_grows_exponentially_and_local_linearly(
    samples: dict[tuple[str, int], list[RunOutcome]],
) -> None:
    # Least-squares slope of log2(mean calls) against k: 1 for 2^k (global mutation).
    ks = list(GLOBAL_K)
    logs = [math.log2(_mean_calls(samples["global", k])) for k in ks]
    kbar, lbar = statistics.fmean(ks), statistics.fmean(logs)
    slope = sum((k - kbar) * (y - lbar) for k, y in zip(ks, logs, strict=True)) / sum(
        (k - kbar) ** 2 for k in ks
    )
    assert 0.85 < slope < 1.15
    # Local mutation: about 2 calls per block at every k (Θ(k)); far below 2^k at k = 16.
    per_block = [_mean_calls(samples["local", k]) / k for k in LOCAL_K]
    assert all(1.5 < x < 2.6 for x in per_block)
    assert _mean_calls(samples["local", 16]) < 40


def test_paper_f10_figures() -> None:
    w = Evolution()
    cases = [(5, 478_400, 5_900), (10, 61_337_600, 11_800), (20, 251_448_524_800, 23_600)]
    for k, glob, loc in cases:
        params = {"k": k, "l": 20, "m_u": 1, "max_calls": 1}
        assert w.analytic("global", params)["paper_aalp"] == glob
        assert w.analytic("local", params)["paper_aalp"] == loc


def test_runs_are_deterministic_for_a_seed() -> None:
    def totals(seed: int) -> dict[str, object]:
        return asyncio.run(
            run_workload("evolution", params={"k": 4}, sim_error=0, seed=seed)
        ).totals

    assert totals(3) == totals(3)
    assert len({totals(s)["calls"] for s in range(8)}) > 1


def test_the_mutator_makes_each_block_correct_with_probability_one_half() -> None:
    kind = task_kind("mutate")
    rng = digest_rng("test")
    targets = ["lake moon star", "tree road ship", "fish bird frog", "gold iron salt"]
    blocks = [incorrect_block(t, rng) for t in targets]
    hits = trials = 0
    for nonce in range(500):
        out = kind.solve({"blocks": blocks, "targets": targets, "nonce": str(nonce)})
        hits += sum(o == t for o, t in zip(out, targets, strict=True))
        trials += len(targets)
    # Binomial(2000, 1/2): sd ≈ 22.4; 4 sd either side of 1000.
    assert abs(hits - trials / 2) <= 4 * math.sqrt(trials) / 2


def test_max_calls_stops_a_hopeless_run() -> None:
    out = asyncio.run(
        run_workload("evolution", params={"k": 12, "l": 2, "max_calls": 5}, sim_error=0, seed=0)
    )
    assert (out.totals["calls"], out.result.correct) == (5, False)
    assert out.result.details == {"mutations": 5}


def test_capability_sets() -> None:
    w = Evolution()
    params = w.resolve(None, {})[1]
    assert w.sim_models("global", params)[0].capabilities == {"mutate"}
    assert w.sim_models("local", params)[0].capabilities == {"mutate:1"}


# -- the other reading of Table 1's local loop: mutate block i mod k on every pass ---------------


def _mod_k_distribution(k: int) -> tuple[float, float]:
    """Exact mean and sd of the calls of the i-mod-k loop.

    Block i needs a geometric number G_i of its own passes (success 1/2), and the run ends at
    the last fix: T = max_i (G_i − 1)·k + i + 1.
    """
    mean = second = 0.0
    t = 0
    while True:
        p_le = 1.0
        for i in range(k):
            p_le *= 1.0 - 2.0 ** -((t - i - 1) // k + 1) if t >= i + 1 else 0.0
        tail = 1.0 - p_le  # P(T > t)
        if tail < 1e-16:
            return mean, math.sqrt(second - mean * mean)
        mean += tail
        second += (2 * t + 1) * tail  # E[T²] = Σ (2t + 1)·P(T > t)
        t += 1


async def _mod_k_calls(k: int, length: int, seed: int) -> int:
    """Run the i-mod-k loop on the simulated mutator (no errors) and count its calls."""
    import dataclasses

    from hakaru import Session
    from hakaru.backends.sim import SimBackend
    from hakaru.patterns.redflag import sample_valid
    from hakaru.workloads._kinds_evolution import MUTATE, check_blocks

    w = Evolution()
    _, params = w.resolve("local", {"k": k, "l": length})
    (model,) = [
        dataclasses.replace(m, base_error=0.0, max_error=0.0, malformed_rate=0.0)
        for m in w.sim_models("local", params)
    ]
    kind = task_kind(MUTATE)
    x, targets = w.instance(params, seed)

    def fitness(blocks: list[str]) -> int:
        return sum(b == t for b, t in zip(blocks, targets, strict=True))

    async with Session(SimBackend(seed=seed, models=[model])) as s:
        i = 0
        while fitness(x) < k:  # Table 1: i ← i + 1 on every pass, read as i mod k
            payload = {
                "blocks": [x[i]],
                "targets": [targets[i]],
                "nonce": f"{seed}:{i}:{s.totals()['calls']}",
            }
            request = kind.request(model.name, payload, role="mutator", max_tokens=length + 16)
            response = await sample_valid(
                s, request, lambda text: check_blocks(kind.parse(text), 1, length)
            )
            mutant = [*x[:i], *response.parsed, *x[i + 1 :]]
            if fitness(mutant) > fitness(x):
                x = mutant
            i = (i + 1) % k
        return int(s.totals()["calls"])


def test_mutating_block_i_mod_k_costs_k_log_k_calls() -> None:
    # Re-mutating blocks that are already correct wastes calls: Θ(k log k), not 2k.
    k = 16
    mean, sd = _mod_k_distribution(k)
    assert round(mean, 1) == 79.5 and mean > 2.4 * (2 * k)
    assert [round(_mod_k_distribution(n)[0] / (n * math.log2(n)), 2) for n in (8, 32, 128)] == [
        1.35,
        1.19,
        1.13,
    ]  # E[calls] / (k log₂ k) settles: Θ(k log k)
    calls = asyncio.run(_gather_mod_k(k, SEEDS))
    measured = statistics.fmean(calls)
    assert abs(measured - mean) <= 4 * sd / math.sqrt(SEEDS), (measured, mean, sd)
    # docs/workloads.md states these figures
    text = (Path(__file__).parents[2] / "docs" / "workloads.md").read_text(encoding="utf-8")
    assert "Θ(k log k)" in text and f"{mean:.1f} at k = 16" in text
    assert f"{measured:.1f} over {SEEDS} seeds" in text


async def _gather_mod_k(k: int, seeds: int) -> list[int]:
    return [await _mod_k_calls(k, 4, seed) for seed in range(seeds)]
