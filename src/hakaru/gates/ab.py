"""A/B comparison of two gate configurations (seed §9), each difference with a confidence interval.

Each arm is totalled over its rows: completed tasks n, rework y, exposure E (hours, or dollars
with ``per="usd"``) and optionally cost C (USD). The metrics are those of the seed's §9 table:

    raw throughput            n/E                 tasks per hour (or per dollar)
    rework rate               y/n                 fraction of completed tasks
    effective throughput      (n − y)/E           tasks per hour (seed §2: F_short·(1 − R))
    net throughput            (n − (1 + c)·y)/E   tasks per hour (seed §2: F_short·(1 − (1 + c)R))
    cost per effective task   C/(n − y)           USD per task

Intervals use the **delta method** (normal approximation; no resampling, hence no seed) under a
Poisson model for completions: rework-free and reworked completions are then independent Poisson
counts, so Var[(n − y)/E] = (n − y)/E², Var[net] = ((n − y) + (1 + c)²·y)/E², and the cost C is
taken as fixed, so Var[C/(n − y)] ≈ C²/(n − y)³. The difference of rework rates uses the
Agresti–Caffo interval (one success and one failure added to each arm), which keeps its coverage
when rework counts are small. Relative changes B/A − 1 get intervals from the delta method on
log(B/A); a relative change is ``None`` when A's value is not positive, and its interval is
``None`` when either value is not positive (or a rework count is 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

from hakaru.errors import ConfigError
from hakaru.gates.data import GateObservation, Per, exposure, resolve_per

__all__ = ["ABMetric", "ABResult", "ArmTotals", "arm_totals", "compare_ab"]


@dataclass(frozen=True)
class ArmTotals:
    """One configuration's totals: tasks completed and reworked over an exposure."""

    name: str
    completed: int
    rework: int
    exposure: float  # hours (per="hour") or USD (per="usd")
    per: Per
    cost: float | None = None  # USD, for cost per effective task

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def arm_totals(name: str, rows: Sequence[GateObservation], per: Per | None = None) -> ArmTotals:
    """Sum an arm's observation rows (e.g. one row per day) into :class:`ArmTotals`."""
    if not rows:
        raise ConfigError(f"arm {name} has no observations. Give at least one row")
    unit = resolve_per(rows, per)
    completed = sum(r.completed for r in rows)
    if completed == 0:
        raise ConfigError(f"arm {name} completed no tasks, so it has no rates to compare")
    costs = [r.cost for r in rows]
    return ArmTotals(
        name=name,
        completed=completed,
        rework=sum(r.rework for r in rows),
        exposure=sum(exposure(r, unit) for r in rows),
        per=unit,
        cost=sum(c for c in costs if c is not None) if all(c is not None for c in costs) else None,
    )


@dataclass(frozen=True)
class ABMetric:
    """One metric in both arms, B − A with its interval, and B/A − 1 with its interval."""

    name: str
    unit: str
    a: float
    b: float
    difference: float  # b − a
    low: float  # interval for b − a
    high: float
    relative: float | None  # b/a − 1
    relative_low: float | None
    relative_high: float | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class ABResult:
    """The comparison of arm B against arm A."""

    a: ArmTotals
    b: ArmTotals
    c_rework: float
    level: float
    metrics: list[ABMetric]
    method: str = (
        "delta method (Poisson completions, binomial rework); Agresti–Caffo for the rework-rate "
        "difference; log-ratio delta method for relative changes"
    )

    def metric(self, name: str) -> ABMetric:
        """The metric called ``name``."""
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the output of ``hakaru gate ab --json``)."""
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "c_rework": self.c_rework,
            "level": self.level,
            "method": self.method,
            "metrics": {m.name: m.to_dict() for m in self.metrics},
        }


def _metric(
    name: str,
    unit: str,
    values: tuple[float, float],
    variances: tuple[float, float],
    log_variances: tuple[float | None, float | None],
    z: float,
    center: float | None = None,
) -> ABMetric:
    a, b = values
    diff = b - a
    mid = diff if center is None else center
    half = z * math.sqrt(variances[0] + variances[1])
    rel = rel_low = rel_high = None
    la, lb = log_variances
    if a > 0.0:
        rel = b / a - 1.0
        if b > 0.0 and la is not None and lb is not None:
            spread = z * math.sqrt(la + lb)
            rel_low = (b / a) * math.exp(-spread) - 1.0
            rel_high = (b / a) * math.exp(spread) - 1.0
    return ABMetric(name, unit, a, b, diff, mid - half, mid + half, rel, rel_low, rel_high)


def compare_ab(
    a: ArmTotals, b: ArmTotals, *, c_rework: float = 0.0, level: float = 0.95
) -> ABResult:
    """Compare configuration B against A (seed §9's metrics; method in the module docstring).

    >>> a = ArmTotals("A", completed=872, rework=245, exposure=10.0, per="hour")
    >>> b = ArmTotals("B", completed=796, rework=50, exposure=10.0, per="hour")
    >>> m = compare_ab(a, b).metric("effective_throughput")
    >>> round(m.a, 1), round(m.b, 1), round(m.relative, 3)
    (62.7, 74.6, 0.19)
    """
    if not 0.0 < level < 1.0:
        raise ConfigError(f"level must be in (0, 1), got {level:g}. Use e.g. 0.95")
    if not (c_rework >= 0.0 and math.isfinite(c_rework)):
        raise ConfigError(
            f"c_rework (c, the extra effort of one rework item) must be >= 0, got {c_rework:g}. "
            "Use 0 for the simple model or e.g. 1.4"
        )
    if a.per != b.per:
        raise ConfigError(
            f"arm A is measured per {a.per} and arm B per {b.per}. Give both arms hours "
            "(or both cost)"
        )
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    unit = f"tasks/{a.per}"
    arms = (a, b)
    metrics = []

    def pair(fn: Any) -> tuple[Any, Any]:
        return fn(a), fn(b)

    metrics.append(
        _metric(
            "raw_throughput",
            unit,
            pair(lambda x: x.completed / x.exposure),
            pair(lambda x: x.completed / x.exposure**2),
            pair(lambda x: 1.0 / x.completed),
            z,
        )
    )
    # Agresti–Caffo: add one rework and one clean task to each arm for the interval
    tilde = [(x.rework + 1.0) / (x.completed + 2.0) for x in arms]
    metrics.append(
        _metric(
            "rework_rate",
            "fraction",
            pair(lambda x: x.rework / x.completed),
            (
                tilde[0] * (1 - tilde[0]) / (a.completed + 2.0),
                tilde[1] * (1 - tilde[1]) / (b.completed + 2.0),
            ),
            pair(lambda x: (1.0 / x.rework - 1.0 / x.completed) if x.rework > 0 else None),
            z,
            center=tilde[1] - tilde[0],
        )
    )
    good = [x.completed - x.rework for x in arms]
    metrics.append(
        _metric(
            "effective_throughput",
            unit,
            (good[0] / a.exposure, good[1] / b.exposure),
            (good[0] / a.exposure**2, good[1] / b.exposure**2),
            (1.0 / good[0] if good[0] else None, 1.0 / good[1] if good[1] else None),
            z,
        )
    )
    k = 1.0 + c_rework
    net = [(x.completed - k * x.rework) / x.exposure for x in arms]
    net_var = [(g + k * k * x.rework) / x.exposure**2 for g, x in zip(good, arms, strict=True)]
    metrics.append(
        _metric(
            "net_throughput",
            unit,
            (net[0], net[1]),
            (net_var[0], net_var[1]),
            (
                net_var[0] / net[0] ** 2 if net[0] > 0 else None,
                net_var[1] / net[1] ** 2 if net[1] > 0 else None,
            ),
            z,
        )
    )
    if a.cost is not None and b.cost is not None and good[0] > 0 and good[1] > 0:
        metrics.append(
            _metric(
                "cost_per_effective_task",
                "USD/task",
                (a.cost / good[0], b.cost / good[1]),
                (a.cost**2 / good[0] ** 3, b.cost**2 / good[1] ** 3),
                (1.0 / good[0], 1.0 / good[1]),
                z,
            )
        )
    return ABResult(a=a, b=b, c_rework=c_rework, level=level, metrics=metrics)
