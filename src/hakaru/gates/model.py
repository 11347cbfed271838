"""The effective-throughput model of a quality gate (seed 003, §2–§6), with its derivatives.

A gate of strength g ∈ [0, 1] slows raw completion and removes rework:

- raw completion (seed §4)      F_short(g) = F0·h(g), h(g) = 1 − α·g   (tasks per unit time)
- rework rate (seed §3)         R(g) = R0·e^(−β·g)                      (fraction of completed)
- effective throughput (§2, §5) T(g) = F_short(g)·(1 − R(g))
- net throughput (§2)           T_net(g) = F_short(g)·(1 − (1 + c)·R(g))

Both objectives are F0·h(g)·q(g) with q(g) = 1 − K·e^(−β·g), K = R0 (effective) or (1 + c)·R0
(net), so one pair of helpers gives every derivative. The seed mentions, without a formula, that
overhead "becomes superlinear" beyond g ≈ 0.9; we offer that as an opt-in quadratic term,
h(g) = 1 − α·g − γ·max(0, g − g_k)², with ``knee`` g_k and ``curvature`` γ (our assumption, not
the seed's).

Design choice: the functions here are scalar and use :mod:`math` — they run inside root finders,
where numpy's per-call overhead would dominate. F0 carries the unit (tasks per hour, tasks per
dollar …); every throughput here is in that unit, R and g are dimensionless.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from hakaru.errors import ConfigError

__all__ = [
    "GateParams",
    "Objective",
    "effective_throughput",
    "net_throughput",
    "overhead",
    "quality",
    "raw_completion",
    "rework_rate",
    "throughput",
    "throughput_derivatives",
]

#: Which throughput to maximise: ``effective`` is T(g) (seed §5), ``net`` is T_net(g) (seed §2,
#: with the rework cost multiplier c). With c = 0 they coincide.
Objective = Literal["effective", "net"]


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number, got {value!r}. Give a decimal number")
    return float(value)


@dataclass(frozen=True)
class GateParams:
    """Parameters of the gate model (seed §3 and §4), validated on construction.

    >>> p = GateParams(r0=0.258, beta=3.16, alpha=0.30)
    >>> round(effective_throughput(p, 0.0), 3)   # F0·(1 − R0), seed §8 row g = 0
    0.742

    Invalid values raise :class:`hakaru.errors.ConfigError` naming the valid range.
    """

    r0: float  # R0: fraction of completed tasks needing rework with no gate, in [0, 1)
    beta: float  # β: rework decay per unit gate strength, > 0
    alpha: float  # α: fraction of raw throughput lost per unit gate strength, in [0, 1)
    c_rework: float = 0.0  # c: extra effort of one rework item, in original-task units, >= 0
    f0: float = 1.0  # F0: completion rate with no gate, tasks per unit time, > 0
    knee: float | None = None  # g_k: superlinear overhead starts here, in (0, 1); None = linear
    curvature: float = 0.0  # γ: coefficient of the superlinear term γ·max(0, g − g_k)², >= 0

    def __post_init__(self) -> None:
        r0 = _number("r0", self.r0)
        beta = _number("beta", self.beta)
        alpha = _number("alpha", self.alpha)
        c = _number("c_rework", self.c_rework)
        f0 = _number("f0", self.f0)
        gamma = _number("curvature", self.curvature)
        if not 0.0 <= r0 < 1.0:
            raise ConfigError(
                f"r0 (R0, the rework rate with no gate) must be in [0, 1), got {r0:g}. "
                "Give the fraction of completed tasks that later need rework, e.g. 0.258"
            )
        if not (beta > 0.0 and math.isfinite(beta)):
            raise ConfigError(
                f"beta (β, the rework decay per unit gate strength) must be > 0, got {beta:g}. "
                "Give a positive finite number, e.g. 3.16"
            )
        if not 0.0 <= alpha < 1.0:
            raise ConfigError(
                f"alpha (α, the throughput lost per unit gate strength) must be in [0, 1), "
                f"got {alpha:g}. Give a fraction, e.g. 0.30"
            )
        if not (c >= 0.0 and math.isfinite(c)):
            raise ConfigError(
                f"c_rework (c, the extra effort of one rework item) must be >= 0, got {c:g}. "
                "Use 0 for the simple model or e.g. 1.4"
            )
        if not (f0 > 0.0 and math.isfinite(f0)):
            raise ConfigError(
                f"f0 (F0, the completion rate with no gate) must be > 0, got {f0:g}. "
                "Give tasks per unit time, e.g. 100"
            )
        if not (gamma >= 0.0 and math.isfinite(gamma)):
            raise ConfigError(
                f"curvature (γ, the superlinear overhead coefficient) must be >= 0, got {gamma:g}. "
                "Use 0 for linear overhead"
            )
        knee: float | None = None
        if self.knee is not None:
            knee = _number("knee", self.knee)
            if not 0.0 < knee < 1.0:
                raise ConfigError(
                    f"knee (where gate overhead turns superlinear) must be in (0, 1), "
                    f"got {knee:g}. Use e.g. 0.9, or no knee for linear overhead"
                )
            if alpha + gamma * (1.0 - knee) ** 2 >= 1.0:
                raise ConfigError(
                    f"the superlinear overhead leaves no throughput at full strength: "
                    f"alpha + curvature·(1 − knee)² = {alpha + gamma * (1.0 - knee) ** 2:g} "
                    "must be < 1. Lower alpha or curvature, or move the knee right"
                )
        elif gamma > 0.0:
            raise ConfigError(
                "curvature was given without a knee. Give the knee (e.g. 0.9) where the "
                "superlinear overhead starts, or leave curvature at 0"
            )
        for name, value in (("r0", r0), ("beta", beta), ("alpha", alpha), ("c_rework", c)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "f0", f0)
        object.__setattr__(self, "curvature", gamma)
        object.__setattr__(self, "knee", knee)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-ready dict."""
        return asdict(self)

    def k(self, objective: Objective) -> float:
        """K in q(g) = 1 − K·e^(−βg): R0 for ``effective``, (1 + c)·R0 for ``net``."""
        if objective == "effective":
            return self.r0
        if objective == "net":
            return (1.0 + self.c_rework) * self.r0
        raise ConfigError(f"Unknown objective {objective!r}. Use 'effective' or 'net'")


def overhead(p: GateParams, g: float) -> tuple[float, float, float]:
    """h(g) = F_short(g)/F0 and its first two derivatives in g (seed §4, plus the opt-in knee)."""
    if p.knee is None or g <= p.knee:
        return 1.0 - p.alpha * g, -p.alpha, 0.0
    s = g - p.knee
    gamma = p.curvature
    return 1.0 - p.alpha * g - gamma * s * s, -p.alpha - 2.0 * gamma * s, -2.0 * gamma


def quality(k: float, beta: float, g: float) -> tuple[float, float, float]:
    """q(g) = 1 − K·e^(−βg) and its first two derivatives in g (seed §3 inside §2's formulas)."""
    ke = k * math.exp(-beta * g)
    return 1.0 - ke, beta * ke, -beta * beta * ke


def raw_completion(p: GateParams, g: float) -> float:
    """F_short(g) = F0·(1 − α·g) (seed §4), in F0's unit (tasks per unit time).

    >>> raw_completion(GateParams(r0=0.258, beta=3.16, alpha=0.30, f0=100.0), 0.5)
    85.0
    """
    return p.f0 * overhead(p, g)[0]


def rework_rate(p: GateParams, g: float) -> float:
    """R(g) = R0·e^(−β·g) (seed §3): the fraction of completed tasks that later need rework.

    >>> round(rework_rate(GateParams(r0=0.258, beta=3.16, alpha=0.30), 1.0), 4)
    0.0109
    """
    return p.r0 * math.exp(-p.beta * g)


def effective_throughput(p: GateParams, g: float) -> float:
    """T(g) = F0·(1 − α·g)·(1 − R(g)) (seed §5, "Net Throughput Function"), in F0's unit."""
    return throughput(p, g, "effective")


def net_throughput(p: GateParams, g: float) -> float:
    """T_net(g) = F0·(1 − α·g)·(1 − (1 + c)·R(g)) (seed §2 "Extended model"), in F0's unit.

    It is negative when rework costs more than the work completed.
    """
    return throughput(p, g, "net")


def throughput(p: GateParams, g: float, objective: Objective = "net") -> float:
    """T(g) for ``effective`` or T_net(g) for ``net`` (identical when c = 0), in F0's unit."""
    h = overhead(p, g)[0]
    q = quality(p.k(objective), p.beta, g)[0]
    return p.f0 * h * q


def throughput_derivatives(
    p: GateParams, g: float, objective: Objective = "net"
) -> tuple[float, float, float]:
    """(T, dT/dg, d²T/dg²) at g, for T = F0·h·q (units: F0's unit per unit strength^k).

    With linear overhead these are the seed's §5 derivative, corrected in §6:
    dT/dg = F0·[K·e^(−βg)·(α + β − αβg) − α] and
    d²T/dg² = −F0·K·β·e^(−βg)·(2α + β·(1 − αg)), where K = R0 or (1 + c)·R0.
    """
    h, h1, h2 = overhead(p, g)
    q, q1, q2 = quality(p.k(objective), p.beta, g)
    return p.f0 * h * q, p.f0 * (h1 * q + h * q1), p.f0 * (h2 * q + 2.0 * h1 * q1 + h * q2)
