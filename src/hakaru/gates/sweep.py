"""Measure a gate at several strengths on the simulated LLM, fit the model, check its g*.

``hakaru gate sweep WORKLOAD`` runs the same tasks (same seed, so the same numbers and the same
first answers) once per strength through the gate of :mod:`hakaru.gates.mechanisms`, each
strength in its own :class:`~hakaru.session.Session`, and records per strength:

- **completed** — tasks whose every step got past the gate (a step the gate gave up on fails
  its task: not completed, but its calls are paid for);
- **rework** — completed tasks whose shipped answer ground truth finds wrong: the errors that
  passed the gate and are caught downstream. Measured, never assumed;
- **exposure** — simulated worker-hours (the sum of every call's simulated latency: what a
  worker pool is busy for, whatever the concurrency) and dollars (the ledger's prices).

These are :class:`~hakaru.gates.data.GateObservation` s; :func:`~hakaru.gates.fit_gate_model`
fits R0, β, F0, α to them and :func:`~hakaru.gates.optimize` predicts g* (net objective with the
rework cost c; c = 0 is the plain effective throughput). The **prediction check** then asks:
is the strength with the highest *measured* throughput the swept strength nearest g*? If not,
:attr:`~hakaru.gates.sweep_result.PredictionCheck.reason` says why (measurement noise, g* near a
midpoint, or a model that does not fit this gate).

Why a multi-step workload: when a single answer is the whole task, a caught error costs a retry
— exactly what the error cost when shipped — so with c = 0 a gate can never pay (and the
linear-overhead model, which ignores that coupling, over-predicts g*). In ``tree-sum`` a gate on
each of the 5 calls stops an error for the price of one call, while a shipped error spoils the
whole task: the seed's trade-off arises without any rework multiplier.

The workloads live in :mod:`hakaru.gates.workloads`, the points, the result and the prediction
check in :mod:`hakaru.gates.sweep_result`; both are re-exported here.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

from hakaru.errors import ConfigError, StepFailed
from hakaru.gates.data import Per
from hakaru.gates.fit import GateFit, fit_gate_model
from hakaru.gates.mechanisms import MECHANISMS, GateConfig, GateSetting
from hakaru.gates.optimum import GateOptimum, optimize
from hakaru.gates.sweep_result import (
    GateSweepPoint,
    GateSweepResult,
    check_prediction,
)
from hakaru.gates.workloads import GateWorkload, get_gate_workload

__all__ = ["DEFAULT_STRENGTHS", "arun_gate_sweep", "run_gate_sweep"]

DEFAULT_STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)


async def _measure(
    workload: GateWorkload, setting: GateSetting, tasks: int, seed: int, per: Per, c: float
) -> GateSweepPoint:
    from hakaru.backends.sim import SimBackend
    from hakaru.session import Session

    backend = SimBackend(seed=seed, models=setting.config.models())
    async with Session(backend, keep_records=False) as session:

        async def one(index: int) -> bool | None:
            numbers = workload.numbers(seed, index)
            try:
                answer = await workload.run(session, numbers, setting)
            except StepFailed:
                return None
            return answer == sum(numbers)  # ground truth, downstream of the gate

        shipped = await session.map(one, range(tasks))
        totals = session.totals()
    completed = sum(s is not None for s in shipped)
    return GateSweepPoint(
        g=setting.g,
        setting=setting.describe(),
        tasks=tasks,
        completed=completed,
        rework=sum(s is False for s in shipped),
        hours=float(totals["latency"]) / 3600.0,
        cost=float(totals["dollars"]),
        calls=int(totals["calls"]),
        flagged=int(totals["flagged_calls"]),
        per=per,
        c_rework=c,
    )


def _strengths(strengths: Sequence[float]) -> list[float]:
    values = sorted({float(g) for g in strengths})
    if len(values) < 2:
        raise ConfigError(
            "a gate sweep needs at least two distinct strengths (five or more spread over "
            "[0, 1] give usable intervals). Use e.g. --strengths 0,0.25,0.5,0.75,1"
        )
    for g in values:
        if not 0.0 <= g <= 1.0:
            raise ConfigError(f"gate strength {g:g} is outside [0, 1]. Give strengths in [0, 1]")
    return values


async def arun_gate_sweep(
    workload: str = "tree-sum",
    *,
    strengths: Sequence[float] = DEFAULT_STRENGTHS,
    mechanism: str = "redflag",
    tasks: int = 3000,
    seed: int = 0,
    per: Per = "hour",
    c_rework: float = 0.0,
    sim_error: float | None = None,
    level: float = 0.95,
    config: GateConfig | None = None,
) -> GateSweepResult:
    """The async form of :func:`run_gate_sweep`."""
    spec = get_gate_workload(workload)
    if mechanism not in MECHANISMS:
        raise ConfigError(
            f"Unknown gate mechanism '{mechanism}'. Choose one of: {', '.join(MECHANISMS)}"
        )
    if isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1:
        raise ConfigError(f"tasks must be a whole number >= 1, got {tasks!r}")
    if per not in ("hour", "usd"):
        raise ConfigError(f"per must be 'hour' or 'usd', got {per!r}")
    if not (c_rework >= 0.0 and math.isfinite(c_rework)):
        raise ConfigError(f"c (rework cost multiplier) must be >= 0, got {c_rework:g}")
    config = config or GateConfig()
    if sim_error is not None:
        config = config.with_worker_error(sim_error)
    points = [
        await _measure(spec, config.setting(mechanism, g), tasks, seed, per, c_rework)
        for g in _strengths(strengths)
    ]
    fit: GateFit | None = None
    optimum: GateOptimum | None = None
    problem: str | None = None
    try:
        fit = fit_gate_model([p.observation() for p in points], per=per, level=level)
        optimum = optimize(fit.params(c_rework), "net")
    except ConfigError as exc:
        problem = str(exc)
    return GateSweepResult(
        workload=workload,
        mechanism=mechanism,
        per=per,
        c_rework=c_rework,
        seed=seed,
        tasks=tasks,
        level=level,
        worker_error=config.worker.base_error,
        points=points,
        fit=fit,
        fit_error=problem,
        optimum=optimum,
        check=check_prediction(points, fit, optimum, problem, level=level),
        config=config,
    )


def run_gate_sweep(workload: str = "tree-sum", **options: Any) -> GateSweepResult:
    """Run ``workload`` through a gate at each strength, fit the model, check the optimum.

    Options (keyword): ``strengths`` (default 0, 0.25, 0.5, 0.75, 1), ``mechanism`` (``vote``,
    ``verifier`` or ``redflag``), ``tasks`` per strength, ``seed``, ``per`` (``"hour"`` or
    ``"usd"``), ``c_rework`` (the net objective's c; 0: effective throughput), ``sim_error`` (the
    worker's error rate), ``level`` (of the fit's intervals), ``config`` (a
    :class:`~hakaru.gates.mechanisms.GateConfig`).

    >>> r = run_gate_sweep("tree-sum", strengths=[0, 0.5, 1], tasks=200)
    >>> r.check.measured_best in r.strengths, len(r.observations)
    (True, 3)
    """
    return asyncio.run(arun_gate_sweep(workload, **options))
