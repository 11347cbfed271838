"""Compare budget policies on the same tasks: tokens saved against accuracy lost.

:func:`run_policy` answers a batch of tasks under one policy in its own
:class:`~hakaru.session.Session` (so its ledger counts exactly that policy's calls): each task
gets its first budget from :meth:`~hakaru.reasoning.policies.BudgetPolicy.allocate`; when an
answer does not come back (cut off by the cap, or rejected by the task's strict parser) the
policy may retry with :meth:`~hakaru.reasoning.policies.BudgetPolicy.escalate`, and every attempt
is paid for. :func:`compare_policies` runs the standard set — no budget, a fixed budget, the
ladder, and the difficulty allocation learned from a separate calibration batch — on the
simulated ``reason`` task and reports each against the no-budget baseline.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from hakaru.errors import ConfigError, RedFlag
from hakaru.reasoning.kind import ReasoningKind, reasoning_payload
from hakaru.reasoning.phrase import BudgetPrompt, with_budget
from hakaru.reasoning.policies import (
    BudgetPolicy,
    DifficultyBudget,
    FixedBudget,
    LadderBudget,
    NoBudget,
    check_levels,
)
from hakaru.reasoning.stats import BudgetStats
from hakaru.session import Session
from hakaru.tasks import TaskKind, task_kind

__all__ = ["PolicyComparison", "PolicyResult", "calibrate", "compare_policies", "run_policy"]


@dataclass
class PolicyResult:
    """What one policy spent and got on a batch of tasks."""

    policy: str
    tasks: int
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0  # reasoning included
    reasoning_tokens: int = 0
    correct: int = 0
    unanswered: int = 0  # tasks whose last attempt gave no parsable answer
    budgets: dict[str, int] = field(default_factory=dict)  # first budget -> tasks
    outcomes: dict[int, tuple[float, bool]] = field(default_factory=dict, repr=False)
    # per task, in task order: output tokens of all its attempts, and whether it ended right
    task_tokens: list[int] = field(default_factory=list, repr=False)
    task_correct: list[bool] = field(default_factory=list, repr=False)

    @property
    def accuracy(self) -> float:
        return self.correct / self.tasks if self.tasks else 0.0

    @property
    def tokens_per_task(self) -> float:
        """Output tokens per task (the budget a policy controls)."""
        return self.output_tokens / self.tasks if self.tasks else 0.0


async def run_policy(
    policy: BudgetPolicy,
    kind: TaskKind,
    payloads: Sequence[Mapping[str, Any]],
    estimates: Sequence[float],
    *,
    model: str,
    backend: str = "sim",
    seed: int = 0,
    prompt: BudgetPrompt | None = None,
    session: Session | None = None,
) -> PolicyResult:
    """Answer every task under ``policy``; ``estimates`` are the difficulties it may use.

    ``outcomes`` of the result map each call id to (estimated difficulty, correct), ready for
    :meth:`BudgetStats.from_records` over the session's records.
    """
    if len(payloads) != len(estimates):
        raise ConfigError(
            f"{len(payloads)} tasks but {len(estimates)} difficulty estimates. Give one each."
        )
    first = policy.allocate(list(estimates))
    result = PolicyResult(policy=policy.name, tasks=len(payloads))
    result.budgets = dict(Counter("none" if b is None else str(b) for b in first))
    result.task_tokens = [0] * len(payloads)
    result.task_correct = [False] * len(payloads)
    own = session is None
    s = session or Session(backend, store=False, seed=seed, run_kind="reasoning")

    async def solve(i: int) -> None:
        payload, budget = payloads[i], first[i]
        truth = kind.solve(payload)
        while True:
            request = kind.request(model, payload, seed=seed)
            if budget is None and policy.max_tokens is not None:
                request = replace(request, max_tokens=policy.max_tokens)
            request = with_budget(request, budget, prompt)
            response = await s.call(request)
            try:
                answer: Any = kind.parse(response.text)
            except RedFlag:
                answer = None
            ok = answer is not None and answer == truth
            result.outcomes[response.call_id] = (estimates[i], ok)
            result.task_tokens[i] += response.usage.output_tokens
            if answer is not None:
                result.correct += ok
                result.task_correct[i] = ok
                return
            nxt = policy.escalate(budget)
            if nxt is None:
                result.unanswered += 1
                return
            budget = nxt

    try:
        if own:
            s.open()
        await s.map(solve, range(len(payloads)))
        totals = s.totals()
        result.calls = int(totals["calls"])
        result.input_tokens = int(totals["input_tokens"])
        result.output_tokens = int(totals["output_tokens"])
        result.reasoning_tokens = int(totals["reasoning_tokens"])
    finally:
        if own:
            await s.aclose()
    return result


async def calibrate(
    levels: Sequence[int],
    kind: TaskKind,
    payloads: Sequence[Mapping[str, Any]],
    estimates: Sequence[float],
    *,
    model: str,
    backend: str = "sim",
    seed: int = 0,
    prompt: BudgetPrompt | None = None,
    buckets: int = 5,
) -> tuple[BudgetStats, dict[str, int]]:
    """Answer every calibration task once at every level in one session and learn
    :class:`BudgetStats` from its records; also the calls and output tokens it cost."""
    async with Session(backend, store=False, seed=seed, run_kind="budget-calibration") as cal:
        outcomes: dict[int, tuple[float, bool]] = {}
        for level in levels:
            r = await run_policy(
                FixedBudget(level), kind, payloads, estimates, model=model, seed=seed,
                prompt=prompt, session=cal,
            )  # fmt: skip
            outcomes.update(r.outcomes)
        totals = cal.totals()
        stats = BudgetStats.from_records(cal.records, outcomes, buckets)
    return stats, {"calls": int(totals["calls"]), "output_tokens": int(totals["output_tokens"])}


@dataclass
class PolicyComparison:
    """Policies on the same tasks, each against the baseline (the first result)."""

    results: list[PolicyResult]
    calibration: dict[str, Any]
    settings: dict[str, Any]

    def rows(self) -> list[dict[str, Any]]:
        """One row per policy: its figures, tokens saved (fraction) and accuracy lost (points)."""
        base = self.results[0]
        rows = []
        for r in self.results:
            saved = 1 - r.output_tokens / base.output_tokens if base.output_tokens else 0.0
            rows.append(
                {
                    "policy": r.policy,
                    "tasks": r.tasks,
                    "calls": r.calls,
                    "output_tokens": r.output_tokens,
                    "reasoning_tokens": r.reasoning_tokens,
                    "tokens_per_task": round(r.tokens_per_task, 1),
                    "accuracy": round(r.accuracy, 4),
                    "unanswered": r.unanswered,
                    "tokens_saved": round(saved, 4),
                    "accuracy_lost_pts": round(100 * (base.accuracy - r.accuracy), 2),
                    "budgets": r.budgets,
                }
            )
        return rows

    def as_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.results[0].policy,
            "policies": self.rows(),
            "calibration": self.calibration,
            "settings": self.settings,
        }


def _tasks(
    n: int, seed: int, noise: float, offset: int
) -> tuple[list[dict[str, Any]], list[float]]:
    rng = random.Random(seed)
    payloads, estimates = [], []
    for i in range(n):
        d = rng.random()
        payloads.append(reasoning_payload(offset + i, d))
        estimates.append(min(1.0, max(0.0, d + rng.gauss(0.0, noise))))
    return payloads, estimates


def compare_policies(
    *,
    n: int = 300,
    model: str = "sim-medium",
    levels: Sequence[int] = (256, 512, 1024, 2048, 4096),
    fixed: int | None = None,
    tokens_per_task: float | None = None,
    calibration: int = 100,
    buckets: int = 5,
    noise: float = 0.1,
    seed: int = 0,
    prompt: BudgetPrompt | None = None,
    backend: str = "sim",
) -> PolicyComparison:
    """Run none / fixed / ladder / difficulty on ``n`` simulated ``reason`` tasks.

    ``fixed`` defaults to the middle level and ``tokens_per_task`` (the difficulty policy's
    average budget) to the fixed budget, so those two spend comparable amounts. The difficulty
    policy learns from ``calibration`` separate tasks answered once at every level — their
    calls are reported, not hidden. Difficulty estimates are the true difficulty plus Gaussian
    ``noise`` (clipped to [0, 1]).
    """
    levels = check_levels(levels)
    if n < 1 or calibration < 1:
        raise ConfigError(f"n is {n} and calibration {calibration}. Give at least 1 task each.")
    fixed = levels[len(levels) // 2] if fixed is None else fixed
    per_task = float(tokens_per_task if tokens_per_task is not None else fixed)
    kind = task_kind(ReasoningKind.name)
    payloads, estimates = _tasks(n, seed, noise, offset=0)
    cal_payloads, cal_estimates = _tasks(calibration, seed + 1, noise, offset=10_000_000)

    async def main() -> PolicyComparison:
        stats, cal_totals = await calibrate(
            levels, kind, cal_payloads, cal_estimates, model=model, backend=backend, seed=seed,
            prompt=prompt, buckets=buckets,
        )  # fmt: skip
        policies: list[BudgetPolicy] = [
            NoBudget(),
            FixedBudget(fixed),
            LadderBudget(levels),
            DifficultyBudget(levels, stats, per_task),
        ]
        results = [
            await run_policy(
                p, kind, payloads, estimates, model=model, backend=backend, seed=seed, prompt=prompt
            )
            for p in policies
        ]
        return PolicyComparison(
            results=results,
            calibration={
                "tasks": calibration,
                "calls": cal_totals["calls"],
                "output_tokens": cal_totals["output_tokens"],
                "stats": stats.to_dict(),
            },
            settings={
                "n": n,
                "model": model,
                "levels": list(levels),
                "fixed": fixed,
                "tokens_per_task": per_task,
                "buckets": buckets,
                "noise": noise,
                "seed": seed,
                "prompt": asdict(prompt or BudgetPrompt()),
            },
        )

    return asyncio.run(main())
