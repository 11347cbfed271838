"""Frontiers, not points: each budget policy family swept over its knob, compared at equal tokens.

One policy at one setting is one point (tokens per task, accuracy); whether a policy is better
than another depends on where on its curve each is read. :func:`sweep_frontier` answers the
*same* simulated ``reason`` tasks under every member of every family:

- ``fixed`` — one budget for every task, over the ``levels``;
- ``difficulty@<noise>`` — :class:`~hakaru.reasoning.policies.DifficultyBudget` over the global
  ``budgets`` (tokens per task), learned from its own calibration tasks, once per estimate
  ``noise`` (the std. dev. of the error of the difficulty estimates);
- ``oracle`` — :class:`~hakaru.reasoning.oracle.OracleBudget` over the same budgets: true
  difficulty and the model's true curve, the bound on what difficulty information is worth;
- ``ladder`` — :class:`~hakaru.reasoning.policies.LadderBudget` starting at each of
  ``ladder_starts``, doubling up to the top level after each missing answer;
- ``none`` — no budget phrase, under output caps the model is not told of (``caps``, and no cap).

Every point carries a 95 % interval for its accuracy (Wilson) and for its tokens per task
(normal), and every task's outcome, so that :func:`equal_token_comparisons` can compare a point
with a reference curve *at the same tokens*: the reference is interpolated linearly between the
two of its points that bracket the spend — which is itself a policy one could run, each task
drawing one of the two settings with the interpolation weight — and the difference is tested
task by task on the same tasks (:func:`~hakaru.analysis.proportions.paired_difference`).

Everything runs through a :class:`~hakaru.session.Session` on the simulated backend; a call costs
about 0.1 ms, so ten thousand tasks per point (intervals under one point of accuracy) take a
minute or two for the whole frontier. Results are exact for the simulator, not measured on a
model.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from hakaru.analysis.proportions import paired_difference, wilson
from hakaru.errors import ConfigError
from hakaru.reasoning.compare import PolicyResult, calibrate, run_policy
from hakaru.reasoning.kind import ReasoningKind, reasoning_payload
from hakaru.reasoning.oracle import OracleBudget
from hakaru.reasoning.phrase import BudgetPrompt
from hakaru.reasoning.policies import (
    BudgetPolicy,
    DifficultyBudget,
    FixedBudget,
    LadderBudget,
    NoBudget,
    check_levels,
)
from hakaru.reasoning.stats import BudgetStats
from hakaru.tasks import task_kind

__all__ = [
    "DEFAULT_BUDGETS",
    "DEFAULT_CAPS",
    "DEFAULT_LEVELS",
    "Frontier",
    "FrontierPoint",
    "equal_token_comparisons",
    "sweep_frontier",
]

DEFAULT_LEVELS = (32, 64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096)
DEFAULT_BUDGETS = (100.0, 150.0, 200.0, 300.0, 400.0, 550.0, 700.0, 850.0)
DEFAULT_CAPS = (256, 512, 1024, 2048, 4096, 8192)
DEFAULT_STARTS = (32, 64, 128, 256, 512, 1024)


@dataclass
class FrontierPoint:
    """One member of a family on the shared tasks."""

    family: str
    knob: float  # the family's knob: budget, tokens per task, first rung, cap (0: no cap)
    policy: str
    tasks: int
    calls: int
    tokens_per_task: float
    tokens_interval: tuple[float, float]
    accuracy: float
    accuracy_interval: tuple[float, float]
    unanswered: int
    target: float | None = None  # the tokens per task asked for (difficulty, oracle)
    task_tokens: list[int] = field(default_factory=list, repr=False)
    task_correct: list[bool] = field(default_factory=list, repr=False)

    @classmethod
    def of(
        cls, family: str, knob: float, r: PolicyResult, target: float | None = None
    ) -> FrontierPoint:
        n = r.tasks
        mean = r.tokens_per_task
        half = 1.96 * statistics.stdev(r.task_tokens) / math.sqrt(n) if n > 1 else 0.0
        return cls(
            family=family,
            knob=knob,
            policy=r.policy,
            tasks=n,
            calls=r.calls,
            tokens_per_task=mean,
            tokens_interval=(mean - half, mean + half),
            accuracy=r.accuracy,
            accuracy_interval=wilson(r.correct, n),
            unanswered=r.unanswered,
            target=target,
            task_tokens=r.task_tokens,
            task_correct=r.task_correct,
        )

    @property
    def spend_ratio(self) -> float | None:
        """Tokens spent per task over the tokens asked for."""
        return None if self.target is None else self.tokens_per_task / self.target

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("task_tokens", "task_correct")}
        d["tokens_per_task"] = round(self.tokens_per_task, 2)
        d["tokens_interval"] = [round(x, 2) for x in self.tokens_interval]
        d["accuracy"] = round(self.accuracy, 5)
        d["accuracy_interval"] = [round(x, 5) for x in self.accuracy_interval]
        ratio = self.spend_ratio
        d["spend_ratio"] = None if ratio is None else round(ratio, 4)
        return d


@dataclass
class Frontier:
    """Per family, its points in knob order; the settings and the calibration cost."""

    curves: dict[str, list[FrontierPoint]]
    settings: dict[str, Any]
    calibration: dict[str, Any]
    reference: str = "fixed"
    elapsed_s: float = 0.0

    def comparisons(self) -> list[dict[str, Any]]:
        """Every point of every other family against the reference at equal tokens."""
        ref = self.curves[self.reference]
        out = []
        for family, points in self.curves.items():
            if family != self.reference:
                out.extend(equal_token_comparisons(ref, points))
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "curves": {
                family: {"knob": _KNOBS[family.split("@")[0]], "points": [p.as_dict() for p in pts]}
                for family, pts in self.curves.items()
            },
            "reference": self.reference,
            "comparisons": self.comparisons(),
            "calibration": self.calibration,
            "settings": self.settings,
            "elapsed_s": round(self.elapsed_s, 2),
        }


_KNOBS = {
    "fixed": "budget (tokens)",
    "difficulty": "tokens per task asked for",
    "oracle": "tokens per task asked for",
    "ladder": "first rung (tokens)",
    "none": "output cap (tokens; 0: none)",
}


def equal_token_comparisons(
    reference: Sequence[FrontierPoint], points: Sequence[FrontierPoint]
) -> list[dict[str, Any]]:
    """Each point against ``reference`` interpolated at the point's tokens per task, paired on
    the same tasks (points outside the reference's token range are skipped)."""
    ref = sorted(reference, key=lambda p: p.tokens_per_task)
    out = []
    for p in points:
        t = p.tokens_per_task
        for lo, hi in itertools.pairwise(ref):
            if lo.tokens_per_task <= t <= hi.tokens_per_task:
                break
        else:
            continue
        span = hi.tokens_per_task - lo.tokens_per_task
        w = 0.0 if span == 0 else (hi.tokens_per_task - t) / span  # weight of the lower point
        mixed = [w * a + (1 - w) * b for a, b in zip(lo.task_correct, hi.task_correct, strict=True)]
        d = paired_difference([float(c) for c in p.task_correct], mixed)
        out.append(
            {
                "family": p.family,
                "policy": p.policy,
                "tokens_per_task": round(t, 2),
                "accuracy": round(p.accuracy, 5),
                "reference": f"{lo.policy}..{hi.policy}",
                "reference_accuracy": round(statistics.fmean(mixed), 5),
                "difference_pts": round(100 * d.mean, 3),
                "difference_interval_pts": [round(100 * d.low, 3), round(100 * d.high, 3)],
                "p_value": float(f"{d.p_value:.3g}"),
            }
        )
    return out


def _tasks(n: int, seed: int, offset: int) -> tuple[list[dict[str, Any]], list[float]]:
    rng = random.Random(seed)
    truths = [rng.random() for _ in range(n)]
    return [reasoning_payload(offset + i, d) for i, d in enumerate(truths)], truths


def _noisy(truths: Sequence[float], noise: float, seed: int) -> list[float]:
    rng = random.Random(f"estimates:{seed}:{noise!r}")
    return [min(1.0, max(0.0, d + rng.gauss(0.0, noise))) for d in truths]


def sweep_frontier(
    *,
    n: int = 2000,
    model: str = "sim-medium",
    levels: Sequence[int] = DEFAULT_LEVELS,
    budgets: Sequence[float] = DEFAULT_BUDGETS,
    noises: Sequence[float] = (0.0, 0.1, 0.25),
    ladder_starts: Sequence[int] = DEFAULT_STARTS,
    caps: Sequence[int] = DEFAULT_CAPS,
    calibration: int = 1000,
    buckets: int = 10,
    seed: int = 0,
    prompt: BudgetPrompt | None = None,
    backend: str = "sim",
) -> Frontier:
    """Sweep every family (see the module docstring) on ``n`` shared tasks."""
    levels = check_levels(levels)
    if n < 2 or calibration < 1:
        raise ConfigError(f"n is {n} and calibration {calibration}. Give n >= 2, calibration >= 1.")
    if any(not b > 0 for b in budgets) or any(x < 0 for x in noises):
        raise ConfigError("Give positive --budgets and --noise levels >= 0.")
    prompt = prompt or BudgetPrompt()
    kind = task_kind(ReasoningKind.name)
    if not isinstance(kind, ReasoningKind):
        raise ConfigError("The 'reason' task kind is not hakaru's ReasoningKind.")
    payloads, truths = _tasks(n, seed, offset=0)
    cal_payloads, cal_truths = _tasks(calibration, seed + 1, offset=10_000_000)

    async def run(policy: BudgetPolicy, estimates: Sequence[float]) -> PolicyResult:
        return await run_policy(
            policy,
            kind,
            payloads,
            estimates,
            model=model,
            backend=backend,
            seed=seed,
            prompt=prompt,
        )

    async def learn(noise: float) -> tuple[BudgetStats, dict[str, int]]:
        estimates = _noisy(cal_truths, noise, seed + 1)
        return await calibrate(
            levels, kind, cal_payloads, estimates, model=model, backend=backend, seed=seed,
            prompt=prompt, buckets=buckets,
        )  # fmt: skip

    async def main() -> Frontier:
        curves: dict[str, list[FrontierPoint]] = {}
        cal: dict[str, Any] = {"tasks": calibration, "per_noise": {}}
        curves["fixed"] = [
            FrontierPoint.of("fixed", b, await run(FixedBudget(b), truths)) for b in levels
        ]
        for noise in noises:
            stats, cost = await learn(noise)
            cal["per_noise"][f"{noise:g}"] = cost
            estimates = _noisy(truths, noise, seed)
            family = f"difficulty@{noise:g}"
            curves[family] = [
                FrontierPoint.of(
                    family, b, await run(DifficultyBudget(levels, stats, b), estimates), target=b
                )
                for b in budgets
            ]
        curves["oracle"] = [
            FrontierPoint.of(
                "oracle", b, await run(OracleBudget(levels, kind, b, prompt), truths), target=b
            )
            for b in budgets
        ]
        curves["ladder"] = []
        for start in ladder_starts:
            rungs = [start]
            while rungs[-1] * 2 <= levels[-1]:
                rungs.append(rungs[-1] * 2)
            curves["ladder"].append(
                FrontierPoint.of("ladder", start, await run(LadderBudget(rungs), truths))
            )
        curves["none"] = [
            FrontierPoint.of("none", c, await run(NoBudget(max_tokens=c), truths)) for c in caps
        ] + [FrontierPoint.of("none", 0, await run(NoBudget(), truths))]
        settings = {
            "n": n,
            "model": model,
            "levels": list(levels),
            "budgets": list(budgets),
            "noises": list(noises),
            "ladder_starts": list(ladder_starts),
            "caps": list(caps),
            "calibration": calibration,
            "buckets": buckets,
            "seed": seed,
            "prompt": asdict(prompt),
        }
        return Frontier(curves=curves, settings=settings, calibration=cal)

    started = time.perf_counter()
    frontier = asyncio.run(main())
    frontier.elapsed_s = time.perf_counter() - started
    return frontier
