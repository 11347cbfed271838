"""The optimal gate strength g* (seed §5–§7): first-order condition, boundary cases, sensitivity.

Why a bracketing solver is enough (derivation in docs/gates.md): with linear overhead,
d²T/dg² = −F0·K·β·e^(−βg)·(2α + β·(1 − αg)) < 0 on [0, 1] for every valid parameter set, so T is
strictly concave and dT/dg changes sign at most once, from + to −. With the opt-in superlinear
knee, dT/dg > 0 wherever q(g) < 0 and T is strictly concave wherever q(g) ≥ 0, so the same holds.
Hence exactly one of three cases:

- ``zero``:     dT/dg(0) ≤ 0, i.e. K·(α + β) ≤ α — the first unit of gate costs more throughput
                than the rework it removes; g* = 0.
- ``one``:      dT/dg(1) ≥ 0, i.e. K·e^(−β)·(α + β·(1 − α)) ≥ α — throughput still rises at full
                strength; g* = 1.
- ``interior``: otherwise; g* is the unique root in (0, 1) of K·e^(−βg)·(α + β − αβg) = α (seed §5),
                found by :func:`scipy.optimize.brentq` on [0, 1] and polished by Newton.

(K = R0 for the effective objective, (1 + c)·R0 for the net one; the conditions shown are for
linear overhead.) Sensitivities come from implicit differentiation of G(g*, p) = T'(g*)/F0 = 0:
dg*/dp = −(∂G/∂p)/(∂G/∂g); they are 0 in the boundary cases, where g* sits on a constraint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from hakaru.gates.model import (
    GateParams,
    Objective,
    overhead,
    quality,
    rework_rate,
    throughput,
    throughput_derivatives,
)

__all__ = ["SENSITIVITY_KEYS", "Case", "GateOptimum", "grid_optimum", "optimize", "sensitivity"]

#: ``interior``: g* in (0, 1) solves the first-order condition; ``zero``/``one``: a boundary.
Case = Literal["interior", "zero", "one"]

#: The parameters whose effect on g* :func:`sensitivity` reports (F0 has none: g* is scale-free).
SENSITIVITY_KEYS = ("r0", "beta", "alpha", "c_rework")


@dataclass(frozen=True)
class GateOptimum:
    """The best gate strength for one parameter set and objective (see :func:`optimize`).

    Throughputs are in F0's unit (tasks per unit time); ``improvement`` is T(g*)/T(0) − 1, or
    ``None`` when T(0) ≤ 0 (possible for the net objective when (1 + c)·R0 ≥ 1).
    """

    params: GateParams
    objective: Objective
    g_star: float  # gate strength in [0, 1]
    case: Case
    throughput_at_optimum: float  # objective at g*, F0's unit
    throughput_at_zero: float  # objective at g = 0, F0's unit
    improvement: float | None  # T(g*)/T(0) − 1 (a fraction, 0.10 = +10 %)
    rework_at_optimum: float  # R(g*), fraction of completed tasks
    raw_completion_at_optimum: float  # F_short(g*), F0's unit
    effective_at_optimum: float  # T(g*), F0's unit
    net_at_optimum: float  # T_net(g*), F0's unit
    slope_at_zero: float  # dT/dg at 0, F0's unit per unit strength
    slope_at_one: float  # dT/dg at 1
    second_derivative: float  # d²T/dg² at g* (< 0: a maximum)
    sensitivity: dict[str, float]  # dg*/dp for p in SENSITIVITY_KEYS; 0 in boundary cases
    newton_steps: int  # Newton steps taken after the bracketing solve

    @property
    def reason(self) -> str:
        """One sentence saying why g* is where it is."""
        if self.case == "zero":
            return (
                f"dT/dg(0) = {self.slope_at_zero:.4g} <= 0: the first unit of gate strength costs "
                "more throughput than the rework it removes, so gates do not pay"
            )
        if self.case == "one":
            return (
                f"dT/dg(1) = {self.slope_at_one:.4g} >= 0: throughput still rises at full "
                "strength, so the strongest gate is best"
            )
        return (
            f"dT/dg changes sign once on [0, 1] (from {self.slope_at_zero:.4g} to "
            f"{self.slope_at_one:.4g}); g* solves the first-order condition"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the keys of ``hakaru gate optimize --json``)."""
        return {
            "g_star": self.g_star,
            "case": self.case,
            "objective": self.objective,
            "throughput_at_optimum": self.throughput_at_optimum,
            "throughput_at_zero": self.throughput_at_zero,
            "improvement": self.improvement,
            "rework_at_optimum": self.rework_at_optimum,
            "raw_completion_at_optimum": self.raw_completion_at_optimum,
            "effective_throughput_at_optimum": self.effective_at_optimum,
            "net_throughput_at_optimum": self.net_at_optimum,
            "slope_at_zero": self.slope_at_zero,
            "slope_at_one": self.slope_at_one,
            "second_derivative_at_optimum": self.second_derivative,
            "sensitivity": dict(self.sensitivity),
            "reason": self.reason,
            "params": self.params.to_dict(),
        }


def optimize(params: GateParams, objective: Objective = "net") -> GateOptimum:
    """Maximise T(g) (``effective``) or T_net(g) (``net``) over g ∈ [0, 1] (seed §5).

    >>> opt = optimize(GateParams(r0=0.258, beta=3.16, alpha=0.30), "effective")
    >>> opt.case, round(opt.g_star, 4), round(opt.improvement, 3)   # the seed claims 0.612, 0.34
    ('interior', 0.3164, 0.104)
    """
    params.k(objective)  # validates the objective
    slope0 = throughput_derivatives(params, 0.0, objective)[1]
    slope1 = throughput_derivatives(params, 1.0, objective)[1]
    steps = 0
    case: Case
    if slope0 <= 0.0:
        g, case = 0.0, "zero"
    elif slope1 >= 0.0:
        g, case = 1.0, "one"
    else:
        g, steps = _solve_interior(params, objective)
        case = "interior"
    t_star = throughput(params, g, objective)
    t_zero = throughput(params, 0.0, objective)
    sens = (
        sensitivity(params, g, objective)
        if case == "interior"
        else dict.fromkeys(SENSITIVITY_KEYS, 0.0)
    )
    return GateOptimum(
        params=params,
        objective=objective,
        g_star=g,
        case=case,
        throughput_at_optimum=t_star,
        throughput_at_zero=t_zero,
        improvement=(t_star / t_zero - 1.0) if t_zero > 0.0 else None,
        rework_at_optimum=rework_rate(params, g),
        raw_completion_at_optimum=params.f0 * overhead(params, g)[0],
        effective_at_optimum=throughput(params, g, "effective"),
        net_at_optimum=throughput(params, g, "net"),
        slope_at_zero=slope0,
        slope_at_one=slope1,
        second_derivative=throughput_derivatives(params, g, objective)[2],
        sensitivity=sens,
        newton_steps=steps,
    )


def _solve_interior(p: GateParams, objective: Objective) -> tuple[float, int]:
    """The root of dT/dg in (0, 1), given dT/dg(0) > 0 > dT/dg(1): brentq, then Newton."""
    from scipy.optimize import brentq  # lazy: scipy is heavy and only needed here

    def slope(g: float) -> float:
        return throughput_derivatives(p, g, objective)[1] / p.f0

    g = float(brentq(slope, 0.0, 1.0, xtol=1e-15, rtol=4.0 * np.finfo(float).eps, maxiter=200))
    # Newton polish: dT/dg is convex and decreasing (d³T/dg³ > 0), so a step from either side of
    # the root lands at or left of it; keep a step only while it shrinks |dT/dg| inside [0, 1].
    steps = 0
    for _ in range(4):
        _, d1, d2 = throughput_derivatives(p, g, objective)
        if d1 == 0.0 or d2 >= 0.0:
            break
        candidate = g - d1 / d2
        if not 0.0 < candidate < 1.0:
            break
        if abs(slope(candidate)) >= abs(d1 / p.f0):
            break
        g, steps = candidate, steps + 1
    return g, steps


def sensitivity(
    params: GateParams, g_star: float, objective: Objective = "net"
) -> dict[str, float]:
    """dg*/dp for p in R0, β, α, c at an interior optimum, by implicit differentiation (seed §7).

    G(g, p) = T'(g)/F0 = h'(g)·q(g) + h(g)·q'(g) vanishes at g*, so dg*/dp = −G_p/G_g with
    G_g = T''(g*)/F0 < 0. Units: strength per unit of the parameter (per unit fraction for R0 and
    α, per unit β, per unit c). With the ``effective`` objective c does not enter: dg*/dc = 0.
    Only meaningful at an interior optimum; :func:`optimize` reports 0 at a boundary.
    """
    beta, r0, c = params.beta, params.r0, params.c_rework
    k = params.k(objective)
    h, h1, _ = overhead(params, g_star)
    q, q1, _ = quality(k, beta, g_star)
    e = math.exp(-beta * g_star)
    g_g = throughput_derivatives(params, g_star, objective)[2] / params.f0
    g_k = e * (beta * h - h1)  # ∂G/∂K
    dk_dr0, dk_dc = (1.0 + c, r0) if objective == "net" else (1.0, 0.0)
    partials = {
        "r0": g_k * dk_dr0,
        "beta": h1 * k * g_star * e + h * k * e * (1.0 - beta * g_star),
        "alpha": -q - g_star * q1,  # ∂h/∂α = −g, ∂h'/∂α = −1
        "c_rework": g_k * dk_dc,
    }
    return {name: -partials[name] / g_g for name in SENSITIVITY_KEYS}


def grid_optimum(
    params: GateParams, objective: Objective = "net", points: int = 100_001, rounds: int = 3
) -> float:
    """Brute force: the best g on a grid of ``points`` over [0, 1], refined ``rounds`` times.

    Each round re-grids the two cells around the best point with 201 points (spacing ÷ 100),
    in extended precision so that flat optima still resolve. This is the check that
    :func:`optimize` and every figure in docs/gates.md are held to.
    """
    lo, hi = 0.0, 1.0
    n = points
    best = 0.0
    for _ in range(rounds + 1):
        g = np.linspace(lo, hi, n, dtype=np.longdouble)
        values = _throughput_array(params, g, objective)
        i = int(np.argmax(values))
        best = float(g[i])
        lo, hi = float(g[max(i - 1, 0)]), float(g[min(i + 1, n - 1)])
        n = 201
    return best


def _throughput_array(p: GateParams, g: Any, objective: Objective) -> Any:
    """T(g)/F0 for an array g (numpy; any float dtype)."""
    h = 1.0 - p.alpha * g
    if p.knee is not None:
        h = h - p.curvature * np.maximum(g - p.knee, 0.0) ** 2
    return h * (1.0 - p.k(objective) * np.exp(-p.beta * g))
