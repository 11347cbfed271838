"""The demo: the paper's three examples, tree-sum and sort, swept, fitted, compared, reported.

``hakaru demo`` runs :data:`PLAN`: one stored, resumable sweep per row, both designs of each
workload (the paper's "optimistic" and "optimized", Meyerson & Qiu Table 1), on the simulated
LLM by default. Each sweep is then asked the questions of
:func:`hakaru.report.summary.default_studies` — how each design's cost grows in the swept
parameter, others fixed — so ``hakaru report`` of the same sweeps gives the demo's answers.
On the simulated LLM the verdicts are exact by construction (the simulated counts equal the
paper's cost models), so they check the implementation and the fitter against the paper's
algebra, not LLMs; the demo prints that sentence (``hakaru.analysis.claims.EXACT_ON_SIM``).

Grid choices (the whole plan is about 36,000 simulated calls, 15–25 s on one core):

- ``routing`` over k = 2…128 with n = 1024, q = 2 queries and a fixed delegator (m_d = 1): the
  paper's Θ(k) needs the delegator not to grow with k (§3.1: "put R&D effort into shrinking the
  specialists, not the delegator").
- ``debugging`` twice — over k = 2…256 with b = 2, and over b = 1…32 with k = 32 (b ≤ k) —,
  each studied on the whole system's cost and on the developer's share, whose improvement is
  the paper's Θ(b·k²) (Eq. 11). The whole system's ratio grows only as k in k: the focused QA
  engineer reads every function, Θ(m_q·k·l) by Eqs. 8 and 10 — an intrinsic cost, not an
  overhead.
- ``evolution`` over k = 1…10 with 8 repeats: global mutation needs a geometric number of calls
  with mean 2^k and a standard deviation as large, so one run per size is too noisy to fit.
- ``sort`` and ``tree-sum`` over n = 8…1024 (the paper's exercise, and the core's workload).

``quick=True`` runs 3–5 sizes per sweep (for tests and for paid servers).

:func:`run_neural_row` is the one row measured on a real model (``hakaru demo`` prints it after
the sweeps, ``hakaru demo --neural`` alone; a second or two):
tree-sum at fan-in 2 against one call on the tiny trained ``neural-sum`` (leaves 0 … 9, the
numbers it was trained on), accuracy and cost against n — measured, not exact by construction.
It needs torch (``pip install 'hakaru[train]'``); without it the demo says so and skips the row.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hakaru.errors import ConfigError

if TYPE_CHECKING:
    from hakaru.report.sections import ReportData
    from hakaru.report.summary import StudyResult
    from hakaru.store import RunStore
    from hakaru.sweeps import SweepProgress, SweepResult

__all__ = [
    "NEURAL_NS",
    "PLAN",
    "QUICK_PLAN",
    "DemoResult",
    "DemoSweep",
    "measure_tree_sum",
    "planned_points",
    "run_demo",
    "run_neural_row",
    "write_demo_report",
]


def _doubling(lo: int, hi: int) -> list[int]:
    return [2**i for i in range(int(math.log2(lo)), int(math.log2(hi)) + 1)]


@dataclass(frozen=True)
class DemoSweep:
    """One sweep of the demo: a workload, its grid (every variant) and repeats."""

    key: str  # names the sweep in --only and in the summary
    workload: str
    grid: Mapping[str, Sequence[int]]
    repeats: int = 1


#: The demo's sweeps, in the order they run and are reported.
PLAN: tuple[DemoSweep, ...] = (
    DemoSweep("routing", "routing", {"k": _doubling(2, 128), "n": [1024], "q": [2], "m_d": [1]}),
    DemoSweep("debugging-k", "debugging", {"k": _doubling(2, 256), "b": [2]}),
    DemoSweep("debugging-b", "debugging", {"k": [32], "b": _doubling(1, 32)}),
    DemoSweep("evolution", "evolution", {"k": list(range(1, 11))}, repeats=8),
    DemoSweep("sort", "sort", {"n": _doubling(8, 1024)}),
    DemoSweep("tree-sum", "tree-sum", {"n": _doubling(8, 1024)}),
)

#: Smaller grids with the same shape: for tests, and for servers that charge per token.
QUICK_PLAN: tuple[DemoSweep, ...] = (
    DemoSweep("routing", "routing", {"k": [2, 4, 8, 16], "n": [256], "q": [1], "m_d": [1]}),
    DemoSweep("debugging-k", "debugging", {"k": [2, 4, 8, 16], "b": [2]}),
    DemoSweep("debugging-b", "debugging", {"k": [8], "b": [1, 2, 4, 8]}),
    DemoSweep("evolution", "evolution", {"k": [1, 2, 3, 4, 5]}, repeats=2),
    DemoSweep("sort", "sort", {"n": [8, 16, 32, 64]}),
    DemoSweep("tree-sum", "tree-sum", {"n": [8, 16, 32, 64]}),
)


@dataclass
class DemoResult:
    """What the demo measured: its sweeps, the studies answered, and how long it took."""

    sweeps: list[tuple[DemoSweep, SweepResult]]
    studies: list[StudyResult]
    seconds: float  # wall time of the sweeps and the analysis
    store: str
    backend: str
    report: str | None = None
    failed: dict[str, int] = field(default_factory=dict)  # sweep key → points left to resume

    @property
    def runs(self) -> int:
        return sum(len(s.points) for _, s in self.sweeps)

    @property
    def calls(self) -> int:
        return sum(int(p.totals.get("calls", 0)) for _, s in self.sweeps for p in s.points)

    def report_data(self, level: float = 0.9) -> ReportData:
        """The HTML report's input."""
        from hakaru.report.sections import ReportData

        where = "the simulated LLM" if self.backend == "sim" else f"backend {self.backend}"
        return ReportData(
            title="hakaru demo: how the cost of LLM agent designs grows",
            subtitle=f"{len(self.sweeps)} sweeps, {self.runs:,} runs, {self.calls:,} LLM calls "
            f"on {where} in {self.seconds:.1f} s; run store {self.store}",
            studies=list(self.studies),
            sweeps=[s for _, s in self.sweeps],
            level=level,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``hakaru demo --json`` object."""
        return {
            "seconds": self.seconds,
            "runs": self.runs,
            "calls": self.calls,
            "backend": self.backend,
            "store": self.store,
            "report": self.report,
            "sweeps": [
                {
                    "key": d.key,
                    "sweep_id": s.sweep_id,
                    "workload": s.spec.workload,
                    "grid": s.spec.grid,
                    "variants": s.spec.variants,
                    "repeats": s.spec.repeats,
                    "points": len(s.points),
                    "correct": sum(p.correct for p in s.points),
                    "executed": s.executed,
                    "resumed": s.resumed,
                }
                for d, s in self.sweeps
            ],
            "studies": [r.to_dict() for r in self.studies],
            "failed": self.failed,
        }


def planned_points(plan: Sequence[DemoSweep]) -> int:
    """How many runs ``plan`` holds (every variant, grid point and repeat)."""
    from hakaru.workloads.base import get_workload

    total = 0
    for d in plan:
        variants = len(get_workload(d.workload).variants)
        total += variants * math.prod(len(v) for v in d.grid.values()) * d.repeats
    return total


def _select(plan: Sequence[DemoSweep], only: Sequence[str]) -> list[DemoSweep]:
    if not only:
        return list(plan)
    keys = {d.key for d in plan} | {d.workload for d in plan}
    unknown = [o for o in only if o not in keys]
    if unknown:
        raise ConfigError(
            f"The demo has no sweep {', '.join(map(repr, unknown))}. Choose from: "
            + ", ".join(dict.fromkeys([d.workload for d in plan] + [d.key for d in plan]))
        )
    return [d for d in plan if d.key in only or d.workload in only]


async def run_demo(
    store: RunStore,
    *,
    quick: bool = False,
    only: Sequence[str] = (),
    backend: str = "sim",
    backend_options: Mapping[str, Any] | None = None,
    model: str | None = None,
    sim_error: float | None = None,
    seed: int = 0,
    concurrency: int = 8,
    at: Sequence[float] = (),
    level: float = 0.9,
    progress: Callable[[str, SweepProgress], None] | None = None,
) -> DemoResult:
    """Run the demo's sweeps (resuming unfinished ones in ``store``) and answer its studies.

    ``only`` keeps the sweeps whose key or workload is listed. ``progress(key, state)`` is
    called as each sweep advances. Sweeps whose backend kept failing (rate limits, timeouts)
    are reported in ``failed``; running the demo again resumes them.
    """
    from hakaru.report.summary import analyze, default_studies
    from hakaru.sweeps import run_sweep

    plan = _select(QUICK_PLAN if quick else PLAN, only)
    started = time.perf_counter()
    done: list[tuple[DemoSweep, SweepResult]] = []
    studies: list[StudyResult] = []
    failed: dict[str, int] = {}
    for d in plan:

        def report(state: SweepProgress, key: str = d.key) -> None:
            if progress is not None:
                progress(key, state)

        sweep = await run_sweep(
            d.workload,
            d.grid,
            repeats=d.repeats,
            seed=seed,
            store=store,
            resume=True,
            concurrency=concurrency,
            backend=backend,
            backend_options=backend_options,
            model=model,
            sim_error=sim_error,
            progress=report,
        )
        if sweep.failed:
            failed[d.key] = len(sweep.failed)
        done.append((d, sweep))
        studies.extend(analyze(sweep, s, at=at, level=level) for s in default_studies(sweep))
    return DemoResult(
        sweeps=done,
        studies=studies,
        seconds=time.perf_counter() - started,
        store=os.fspath(store.path),
        backend=backend,
    )


def write_demo_report(result: DemoResult, path: str | os.PathLike[str], level: float = 0.9) -> Path:
    """Write the demo's HTML report to ``path`` and remember where."""
    from hakaru.report.html import write_report

    out = write_report(path, result.report_data(level))
    result.report = os.fspath(out)
    return out


NEURAL_NS = (2, 4, 8, 16, 32)  #: the sizes of the neural row


async def measure_tree_sum(
    backend: Any, variant: str, n: int, fan_in: int, runs: int, seed: int = 0
) -> dict[str, Any]:
    """``runs`` tree-sum runs (seeds ``seed`` …) of ``variant`` at size ``n`` on ``backend``'s
    ``neural-sum``, leaves 0 … 9: the share right, mean calls and AALP cost of the runs that
    finished, and how many failed and why (a step flagged ten times, a prompt beyond the
    context)."""
    import asyncio
    from collections import Counter

    from hakaru.errors import HakaruError
    from hakaru.runner import run_workload

    async def one(run: int) -> dict[str, Any]:
        try:
            out = await run_workload(
                "tree-sum",
                variant=variant,
                params={"n": n, "fan_in": fan_in, "leaf_max": 9},
                backend=backend,
                model="neural-sum",
                seed=seed + run,
            )
        except HakaruError as exc:
            return {"correct": False, "failed": type(exc).__name__}
        return {"correct": bool(out.result.correct), **out.totals}

    results = await asyncio.gather(*(one(r) for r in range(runs)))
    done = [r for r in results if "failed" not in r]
    failed = dict(Counter(r["failed"] for r in results if "failed" in r))
    return {
        "n": n,
        "variant": variant if variant == "single" else f"tree f={fan_in}",
        "accuracy": sum(r["correct"] for r in results) / runs,
        "calls": sum(r["calls"] for r in done) / len(done) if done else None,
        "aalp_cost": sum(r["aalp_cost"] for r in done) / len(done) if done else None,
        "failed": failed,
    }


async def run_neural_row(
    ns: Sequence[int] = NEURAL_NS, *, runs: int = 20, fan_in: int = 2, seed: int = 0
) -> list[dict[str, Any]]:
    """Tree-sum (fan-in ``fan_in``) and one call on ``neural-sum``, ``runs`` seeds per size
    (:func:`measure_tree_sum`). Raises :class:`~hakaru.errors.ConfigError` when torch or the
    weights are missing."""
    from hakaru.backends.base import create_backend

    backend = create_backend("neural", seed=seed)
    return [
        await measure_tree_sum(backend, variant, n, fan_in, runs, seed)
        for n in ns
        for variant in ("single", "tree")
    ]
