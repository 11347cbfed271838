"""What a gate sweep measured, and the check of the model's g* against it.

A :class:`GateSweepPoint` is one strength's measurement (tasks completed, rework, worker-hours,
dollars) with the throughputs derived from it; a :class:`GateSweepResult` gathers the points,
the fit, the optimum and the :class:`PredictionCheck`. :func:`check_prediction` asks whether the
strength with the highest *measured* throughput is the swept strength nearest the predicted g*,
and if not, says why: measurement noise, g* near a midpoint, or a model that does not fit this
gate. Running the sweep is :mod:`hakaru.gates.sweep`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

from hakaru.gates.data import GateObservation, Per
from hakaru.gates.fit import GateFit
from hakaru.gates.mechanisms import GateConfig
from hakaru.gates.model import throughput
from hakaru.gates.optimum import Case, GateOptimum

__all__ = ["GateSweepPoint", "GateSweepResult", "PredictionCheck", "check_prediction"]


@dataclass(frozen=True)
class GateSweepPoint:
    """What one strength measured. Throughputs are tasks per ``per`` (hour or USD)."""

    g: float  # gate strength in [0, 1]
    setting: str  # the mechanism's knob in words, e.g. "k = 3"
    tasks: int  # tasks started
    completed: int  # tasks shipped
    rework: int  # shipped tasks whose answer ground truth finds wrong
    hours: float  # simulated worker-hours (sum of call latencies / 3600)
    cost: float  # USD
    calls: int  # LLM calls (every attempt)
    flagged: int  # calls rejected by a validator (format flags, red flags)
    per: Per
    c_rework: float

    @property
    def failed(self) -> int:
        """Tasks the gate gave up on."""
        return self.tasks - self.completed

    @property
    def exposure(self) -> float:
        """Hours or dollars, as ``per`` says."""
        return self.hours if self.per == "hour" else self.cost

    @property
    def rework_rate(self) -> float:
        """R: reworked over completed tasks."""
        return self.rework / self.completed if self.completed else math.nan

    @property
    def raw(self) -> float:
        """F_short: completed tasks per unit."""
        return self.completed / self.exposure

    @property
    def effective(self) -> float:
        """T: tasks completed and right, per unit."""
        return (self.completed - self.rework) / self.exposure

    @property
    def net(self) -> float:
        """T_net = (completed − (1 + c)·rework)/exposure: the objective the check uses."""
        return (self.completed - (1.0 + self.c_rework) * self.rework) / self.exposure

    @property
    def net_se(self) -> float:
        """Standard error of :attr:`net` from binomial rework (exposure taken as fixed)."""
        if not self.completed:
            return math.inf
        r = self.rework / self.completed
        return (1.0 + self.c_rework) * math.sqrt(self.completed * r * (1.0 - r)) / self.exposure

    def observation(self) -> GateObservation:
        """The row :func:`~hakaru.gates.fit_gate_model` takes."""
        return GateObservation(
            self.g, self.completed, self.rework, hours=self.hours, cost=self.cost
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, derived throughputs included."""
        return {
            "g": self.g,
            "setting": self.setting,
            "tasks": self.tasks,
            "completed": self.completed,
            "failed": self.failed,
            "rework": self.rework,
            "rework_rate": self.rework_rate,
            "hours": self.hours,
            "cost": self.cost,
            "calls": self.calls,
            "flagged_calls": self.flagged,
            "raw": self.raw,
            "effective": self.effective,
            "net": self.net,
            "net_se": self.net_se,
        }


@dataclass(frozen=True)
class PredictionCheck:
    """Is the measured best strength the swept one nearest the predicted g*? And why (not)."""

    g_star: float | None  # None: no prediction (the fit failed)
    case: Case | None
    nearest: list[float]  # swept strengths nearest g* (two on an exact tie)
    measured_best: float
    ok: bool
    reason: str
    predicted: list[float | None]  # the fitted model's objective at each swept strength

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "g_star": self.g_star,
            "case": self.case,
            "nearest": self.nearest,
            "measured_best": self.measured_best,
            "ok": self.ok,
            "reason": self.reason,
            "predicted": self.predicted,
        }


@dataclass(frozen=True)
class GateSweepResult:
    """A gate sweep: the points, the fit, the optimum and the prediction check."""

    workload: str
    mechanism: str
    per: Per
    c_rework: float
    seed: int
    tasks: int
    level: float  # confidence level of the fit's intervals
    worker_error: float  # the worker's wrong-answer rate per call
    points: list[GateSweepPoint]
    fit: GateFit | None
    fit_error: str | None
    optimum: GateOptimum | None
    check: PredictionCheck
    config: GateConfig = field(repr=False, default_factory=GateConfig)

    @property
    def strengths(self) -> list[float]:
        return [p.g for p in self.points]

    @property
    def observations(self) -> list[GateObservation]:
        return [p.observation() for p in self.points]

    def command(self) -> str:
        """The ``hakaru gate sweep`` command line that reproduces this result."""
        strengths = ",".join(f"{g:g}" for g in self.strengths)
        parts = [
            f"hakaru gate sweep {self.workload} --mechanism {self.mechanism}",
            f"--strengths {strengths} --tasks {self.tasks} --seed {self.seed} --per {self.per}",
        ]
        if self.c_rework:
            parts.append(f"--c-rework {self.c_rework:g}")
        if self.worker_error != self.config.worker.base_error:
            parts.append(f"--sim-error {self.worker_error:g}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` object of ``hakaru gate sweep``."""
        return {
            "workload": self.workload,
            "mechanism": self.mechanism,
            "per": self.per,
            "c_rework": self.c_rework,
            "objective": "net" if self.c_rework > 0 else "effective",
            "seed": self.seed,
            "tasks": self.tasks,
            "worker_error": self.worker_error,
            "strengths": self.strengths,
            "settings": [p.setting for p in self.points],
            "observations": [o.to_dict() for o in self.observations],
            "points": [p.to_dict() for p in self.points],
            "fit": None if self.fit is None else self.fit.to_dict(),
            "fit_error": self.fit_error,
            "optimum": None if self.optimum is None else self.optimum.to_dict(),
            "g_star": self.check.g_star,
            "case": self.check.case,
            "nearest": self.check.nearest,
            "measured_best": self.check.measured_best,
            "prediction_ok": self.check.ok,
            "reason": self.check.reason,
            "predicted": self.check.predicted,
            "command": self.command(),
        }


# --- the prediction check ---------------------------------------------------------------------


def check_prediction(
    points: Sequence[GateSweepPoint],
    fit: GateFit | None,
    optimum: GateOptimum | None,
    problem: str | None = None,
    *,
    level: float = 0.95,
) -> PredictionCheck:
    """Compare the measured best strength with the swept strength nearest the predicted g*.

    ``ok`` when they coincide (on an exact tie of distances either nearest strength counts).
    Otherwise ``reason`` names every cause that applies: no prediction (the fit failed), the
    two measured throughputs are within ``level`` noise of each other, g* lies near the midpoint
    between them, or the fitted model ranks them the other way round (it does not fit).
    """
    values = [p.net for p in points]
    best_i = max(range(len(points)), key=lambda i: values[i])
    best = points[best_i]
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    if optimum is None or fit is None:
        seen = ", ".join(f"{p.g:g}" for p in points if p.rework > 0) or "none"
        return PredictionCheck(
            None,
            None,
            [],
            best.g,
            False,
            f"no prediction: {problem or 'the fit failed'} (rework seen at g = {seen}); "
            f"measured best g = {best.g:g}",
            [None] * len(points),
        )
    params = fit.params(points[0].c_rework)
    predicted: list[float | None] = [throughput(params, p.g, "net") for p in points]
    g_star = optimum.g_star
    gap = min(abs(p.g - g_star) for p in points)
    nearest_i = [i for i, p in enumerate(points) if abs(p.g - g_star) <= gap + 1e-9]
    nearest = [points[i].g for i in nearest_i]
    unit = f"tasks/{points[0].per}"
    head = f"predicted g* = {g_star:.3f} ({optimum.case})"
    if best_i in nearest_i:
        others = [i for i in range(len(points)) if i != best_i]
        tail = ""
        if others:
            second = max(others, key=lambda i: values[i])
            diff = values[best_i] - values[second]
            noise = z * math.hypot(best.net_se, points[second].net_se)
            tail = (
                f"; it beats the runner-up g = {points[second].g:g} by {diff:.4g} {unit} "
                f"({diff / values[best_i]:.1%}; noise ±{noise:.3g} at {level:.0%})"
            )
            if diff <= noise:
                tail += ", within the noise: more tasks would make the agreement firm"
        return PredictionCheck(
            g_star,
            optimum.case,
            nearest,
            best.g,
            True,
            f"{head}: the measured best strength g = {best.g:g} is the swept strength "
            f"nearest it{tail}",
            predicted,
        )
    near = points[nearest_i[0]]
    causes: list[str] = []
    diff = values[best_i] - near.net
    noise = z * math.hypot(best.net_se, near.net_se)
    if diff <= noise:
        causes.append(
            f"the measured throughputs at g = {best.g:g} and g = {near.g:g} differ by "
            f"{diff:.4g} {unit}, within the measurement noise (±{noise:.3g} at {level:.0%}): "
            "run more tasks"
        )
    midpoint = (best.g + near.g) / 2.0
    if abs(g_star - midpoint) <= 0.1 * abs(best.g - near.g):
        p_best, p_near = predicted[best_i], predicted[nearest_i[0]]
        assert p_best is not None and p_near is not None
        causes.append(
            f"g* lies almost midway between g = {near.g:g} and g = {best.g:g}, where the fitted "
            f"model's throughputs differ by only {abs(p_near - p_best) / max(p_near, p_best):.1%}"
        )
    p_best, p_near = predicted[best_i], predicted[nearest_i[0]]
    assert p_best is not None and p_near is not None
    if p_near > p_best:
        causes.append(
            f"the model does not fit this gate: it ranks g = {near.g:g} above g = {best.g:g}, "
            f"the measurements the other way round (R² rework {_r2(fit.r2_rework)}, "
            f"completion {_r2(fit.r2_completion)}); {_shape(points, fit)}"
        )
    if not causes:
        causes.append("no single cause stands out")
    return PredictionCheck(
        g_star,
        optimum.case,
        nearest,
        best.g,
        False,
        f"{head}, nearest swept g = {near.g:g}, but the measured best is g = {best.g:g}: "
        + "; ".join(causes),
        predicted,
    )


def _r2(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _shape(points: Sequence[GateSweepPoint], fit: GateFit) -> str:
    """Where the measured raw throughput leaves the fitted line F0·(1 − αg) the most."""
    f0, alpha = fit.f0.value, fit.alpha.value
    worst = max(points, key=lambda p: abs(p.raw / (f0 * (1.0 - alpha * p.g)) - 1.0))
    dev = worst.raw / (f0 * (1.0 - alpha * worst.g)) - 1.0
    return (
        f"raw completion departs most from the fitted linear overhead at g = {worst.g:g} "
        f"({dev:+.1%})"
    )
