"""Fit the gate model to observations: R0 and β from rework counts, F0 and α from completions.

- **R0, β** — binomial maximum likelihood: rework_i ~ Binomial(completed_i, R0·e^(−β·g_i))
  (seed §3), i.e. a binomial model with log link, log p = log R0 − β·g. Its log-likelihood is
  concave in (log R0, β), so a damped Newton ascent finds the maximum. Intervals are **profile
  likelihood** intervals: every value whose profile log-likelihood lies within χ²₁(level)/2 of
  the maximum (better than Wald intervals when rework counts are small).
- **F0, α** — weighted least squares of the completion rate completed_i/exposure_i on
  F0·(1 − α·g_i) (seed §4), iteratively reweighted with Poisson weights exposure_i/μ_i, which
  makes it the Poisson maximum-likelihood fit. Intervals are Wald intervals from the inverse
  Fisher information, scaled by the Pearson dispersion when it exceeds 1 (quasi-Poisson); α's
  interval uses the delta method for α = −slope/intercept.
- **R²** — weighted: rework fractions weighted by completed tasks, completion rates by the final
  least-squares weights. ``None`` when every observation has the same value.

The input is a sequence of :class:`~hakaru.gates.data.GateObservation` — one per measured strength
(replicates allowed) — so a sweep can feed it directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hakaru.errors import ConfigError
from hakaru.gates.data import GateObservation, Per, exposure, resolve_per
from hakaru.gates.model import GateParams

__all__ = ["Estimate", "GateFit", "fit_gate_model"]

Array = NDArray[np.float64]

METHODS = {
    "r0_beta": "binomial maximum likelihood (log link); profile-likelihood intervals",
    "f0_alpha": (
        "Poisson-weighted least squares (IRLS); Wald intervals from the Fisher information "
        "scaled by the Pearson dispersion when > 1; alpha by the delta method"
    ),
    "r2": "weighted: rework fractions by completed tasks, rates by the least-squares weights",
}


@dataclass(frozen=True)
class Estimate:
    """A fitted value with its confidence interval [low, high] and standard error."""

    value: float
    low: float
    high: float
    se: float  # Wald standard error (for profile intervals: from the observed information)

    def to_dict(self) -> dict[str, float | None]:
        """A JSON-ready dict; an unbounded interval end is ``None``."""
        return {k: (v if math.isfinite(v) else None) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class GateFit:
    """The fitted gate model (see the module docstring for the methods).

    ``f0`` is in tasks per hour (``per == "hour"``) or tasks per dollar (``per == "usd"``).
    """

    r0: Estimate  # fraction of completed tasks needing rework at g = 0
    beta: Estimate  # rework decay per unit gate strength
    f0: Estimate  # completion rate at g = 0, tasks per ``per``
    alpha: Estimate  # fraction of completion rate lost per unit gate strength
    level: float  # confidence level of the intervals, e.g. 0.95
    per: Per
    r2_rework: float | None
    r2_completion: float | None
    deviance: float  # binomial deviance of the rework fit against the saturated model
    dispersion: float  # Pearson X²/(rows − 2) of the completion fit (1 when rows <= 2)
    rows: int
    strengths: list[float]
    methods: dict[str, str] = field(default_factory=lambda: dict(METHODS))

    def params(self, c_rework: float = 0.0) -> GateParams:
        """The point estimates as :class:`GateParams`, ready for :func:`~hakaru.gates.optimize`.

        Raises :class:`~hakaru.errors.ConfigError` when an estimate lies outside the model's
        range (e.g. β ≤ 0: rework does not fall with gate strength in these data).
        """
        try:
            return GateParams(
                r0=self.r0.value,
                beta=self.beta.value,
                alpha=self.alpha.value,
                c_rework=c_rework,
                f0=self.f0.value,
            )
        except ConfigError as exc:
            raise ConfigError(
                f"the fitted parameters are outside the model's range: {exc}"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "r0": self.r0.to_dict(),
            "beta": self.beta.to_dict(),
            "f0": self.f0.to_dict(),
            "alpha": self.alpha.to_dict(),
            "level": self.level,
            "per": self.per,
            "r2_rework": self.r2_rework,
            "r2_completion": self.r2_completion,
            "deviance": self.deviance,
            "dispersion": self.dispersion,
            "rows": self.rows,
            "strengths": list(self.strengths),
            "methods": dict(self.methods),
        }


def fit_gate_model(
    observations: Sequence[GateObservation], *, per: Per | None = None, level: float = 0.95
) -> GateFit:
    """Fit R0, β, F0 and α to per-strength observations (seed §3 and §4).

    >>> from hakaru.gates.data import GateObservation as O
    >>> obs = [O(0.0, 400, 103, hours=4.0), O(0.5, 340, 18, hours=4.0), O(1.0, 280, 3, hours=4.0)]
    >>> fit = fit_gate_model(obs)
    >>> round(fit.r0.value, 3), round(fit.beta.value, 2), round(fit.f0.value, 1)
    (0.258, 3.17, 100.0)
    """
    if not 0.0 < level < 1.0:
        raise ConfigError(f"level must be in (0, 1), got {level:g}. Use e.g. 0.95")
    if not observations:
        raise ConfigError("no observations to fit. Give at least two gate strengths")
    per = resolve_per(observations, per)
    g = np.array([o.g for o in observations], dtype=float)
    n = np.array([o.completed for o in observations], dtype=float)
    y = np.array([o.rework for o in observations], dtype=float)
    e = np.array([exposure(o, per) for o in observations], dtype=float)
    z = NormalDist().inv_cdf(0.5 + level / 2.0)

    if len(set(g[n > 0].tolist())) < 2:
        raise ConfigError(
            "tasks were completed at fewer than two distinct gate strengths, so F0 and alpha "
            "cannot both be estimated. Add observations at another strength"
        )
    if np.all(y == n):
        raise ConfigError(
            "every completed task needed rework, so R0 cannot be below 1. Check the rework "
            "column: it counts completed tasks later found to need rework"
        )
    if len(set(g[y > 0].tolist())) < 2:
        raise ConfigError(
            "rework was observed at fewer than two distinct gate strengths, so R0 and beta "
            "cannot both be estimated. Add observations (with rework > 0) at another strength"
        )
    r0, beta, r2_rework, deviance = _fit_rework(g, n, y, z)
    f0, alpha, r2_completion, dispersion = _fit_completion(g, n, e, z)
    return GateFit(
        r0=r0,
        beta=beta,
        f0=f0,
        alpha=alpha,
        level=level,
        per=per,
        r2_rework=r2_rework,
        r2_completion=r2_completion,
        deviance=deviance,
        dispersion=dispersion,
        rows=len(observations),
        strengths=sorted(set(g.tolist())),
    )


# --- R0 and β: binomial likelihood with log link ------------------------------------------------


class _Binomial:
    """log L(a, b) = Σ y·log p + (n − y)·log(1 − p) with log p = a − b·g (a = log R0, b = β)."""

    def __init__(self, g: Array, n: Array, y: Array) -> None:
        keep = n > 0
        self.g, self.n, self.y = g[keep], n[keep], y[keep]
        self.f = self.n - self.y  # tasks without rework

    def loglik(self, a: float, b: float) -> float:
        eta = a - b * self.g
        if np.any(eta >= 0.0):
            return -math.inf
        p = np.exp(eta)
        fail = np.where(self.f > 0, self.f * np.log1p(-p), 0.0)
        return float(np.sum(self.y * eta + fail))

    def score_terms(self, a: float, b: float) -> tuple[Array, Array]:
        """dlogL/dη and d²logL/dη² per row (η = log p)."""
        p = np.exp(a - b * self.g)
        odds = p / (1.0 - p)
        return self.y - self.f * odds, -self.f * odds / (1.0 - p)

    def a_max(self, b: float) -> float:
        """Largest log R0 keeping every p < 1 for this β."""
        return float(np.min(b * self.g))

    def b_min(self, a: float) -> float:
        """Smallest β keeping every p < 1 for this log R0 (rows with g = 0 need only a < 0)."""
        pos = self.g > 0
        return float(np.max(a / self.g[pos])) if np.any(pos) else -math.inf


def _newton_max(model: _Binomial, a: float, b: float) -> tuple[float, float, Array]:
    """Damped Newton ascent to the joint maximum; returns (a, b, observed information)."""
    ll = model.loglik(a, b)
    for _ in range(200):
        d1, d2 = model.score_terms(a, b)
        grad = np.array([np.sum(d1), -np.sum(model.g * d1)])
        hess = np.array(
            [
                [np.sum(d2), -np.sum(model.g * d2)],
                [-np.sum(model.g * d2), np.sum(model.g**2 * d2)],
            ]
        )
        try:
            step = -np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        while t > 1e-12:
            a2, b2 = a + t * step[0], b + t * step[1]
            ll2 = model.loglik(a2, b2)
            if ll2 >= ll:
                break
            t /= 2.0
        else:
            break
        a, b, gain, ll = a2, b2, ll2 - ll, ll2
        if abs(b) > 1e4:
            break
        if gain < 1e-13 and float(np.max(np.abs(t * step))) < 1e-10:
            break
    if not (math.isfinite(a) and math.isfinite(b) and abs(b) <= 1e4):
        raise ConfigError(
            "the rework fit did not converge: the data do not determine beta. Add observations "
            "at more gate strengths"
        )
    d1, d2 = model.score_terms(a, b)
    info = -np.array(
        [[np.sum(d2), -np.sum(model.g * d2)], [-np.sum(model.g * d2), np.sum(model.g**2 * d2)]]
    )
    return a, b, info


def _argmax_decreasing(f: Callable[[float], float], lo: float, hi: float) -> float:
    """The root of a decreasing f on the open interval (lo, hi), either end possibly infinite:
    the maximiser of a concave function whose derivative is f (clamped to the ends)."""
    from scipy.optimize import brentq  # lazy

    def inside(x: float, toward: float) -> float:
        return x + toward * 1e-12 * max(1.0, abs(x))

    left = (
        inside(lo, 1.0)
        if math.isfinite(lo)
        else (inside(hi, -1.0) - 1.0 if math.isfinite(hi) else -1.0)
    )
    right = inside(hi, -1.0) if math.isfinite(hi) else max(left, 0.0) + 1.0
    step = 1.0
    while f(left) <= 0.0:
        if math.isfinite(lo) or step > 1e9:
            return left
        left, step = left - step, step * 2.0
    step = 1.0
    while f(right) >= 0.0:
        if math.isfinite(hi) or step > 1e9:
            return right
        right, step = right + step, step * 2.0
    return float(brentq(f, left, right, xtol=1e-13, rtol=1e-13, maxiter=300))


def _profile_interval(
    deficit: Callable[[float], float],
    center: float,
    step: float,
    limit_low: float,
    limit_high: float,
) -> tuple[float, float]:
    """Where the likelihood deficit (l_max − l_profile − χ²/2) crosses 0 on each side of center."""
    from scipy.optimize import brentq  # lazy

    ends: list[float] = []
    for direction, limit in ((-1.0, limit_low), (1.0, limit_high)):
        inner, width, outer = center, step, center
        found = False
        for _ in range(45):
            outer = center + direction * width
            if (direction < 0 and outer <= limit) or (direction > 0 and outer >= limit):
                outer = limit - direction * 1e-12 * max(1.0, abs(limit))
                found = deficit(outer) > 0.0
                break
            if deficit(outer) > 0.0:
                found = True
                break
            inner, width = outer, width * 2.0
        if not found:
            ends.append(limit)
            continue
        lo, hi = sorted((inner, outer))
        ends.append(float(brentq(deficit, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=300)))
    return ends[0], ends[1]


def _step(se: float) -> float:
    """First step of the interval search: the standard error, kept within [1e-3, 1]."""
    return min(max(se, 1e-3), 1.0) if math.isfinite(se) else 1.0


def _fit_rework(
    g: Array, n: Array, y: Array, z: float
) -> tuple[Estimate, Estimate, float | None, float]:
    model = _Binomial(g, n, y)
    # start: weighted least squares on log((y + ½)/(n + 1)), moved inside the feasible set
    frac = (model.y + 0.5) / (model.n + 1.0)
    slope, intercept = np.polyfit(model.g, np.log(frac), 1, w=np.sqrt(model.n))
    a0, b0 = float(min(intercept, -1e-3)), float(-slope)
    a0 = min(a0, model.a_max(b0) - 1e-3)
    a, b, info = _newton_max(model, a0, b0)
    a, b = float(a), float(b)
    ll_max = model.loglik(a, b)
    crit = z * z / 2.0
    try:
        cov = np.linalg.inv(info)
        se_a, se_b = math.sqrt(max(cov[0, 0], 0.0)), math.sqrt(max(cov[1, 1], 0.0))
    except np.linalg.LinAlgError:  # the maximum sits on p = 1: no curvature to invert
        se_a = se_b = math.inf

    def profile_b(bv: float) -> float:
        def d(av: float) -> float:
            return float(np.sum(model.score_terms(av, bv)[0]))

        av = _argmax_decreasing(d, -math.inf, model.a_max(bv))
        return model.loglik(av, bv)

    def profile_a(av: float) -> float:
        def d(bv: float) -> float:
            return float(-np.sum(model.g * model.score_terms(av, bv)[0]))

        bv = _argmax_decreasing(d, model.b_min(av), math.inf)
        return model.loglik(av, bv)

    b_low, b_high = _profile_interval(
        lambda bv: ll_max - profile_b(bv) - crit, b, _step(se_b), -math.inf, math.inf
    )
    # R0 < 1 in the model: cap the upper end at R0 = 1 (a = 0) unless the MLE itself lies beyond
    a_low, a_high = _profile_interval(
        lambda av: ll_max - profile_a(av) - crit,
        a,
        _step(se_a),
        -745.0,
        0.0 if a < 0.0 else math.inf,
    )
    r0 = math.exp(a)
    p = np.exp(a - b * model.g)
    frac_obs = model.y / model.n
    mean = float(np.sum(model.y) / np.sum(model.n))
    ss_tot = float(np.sum(model.n * (frac_obs - mean) ** 2))
    ss_res = float(np.sum(model.n * (frac_obs - p) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0.0 else None
    with np.errstate(divide="ignore", invalid="ignore"):
        dev_y = np.where(model.y > 0, model.y * np.log(model.y / (model.n * p)), 0.0)
        dev_f = np.where(model.f > 0, model.f * np.log(model.f / (model.n * (1.0 - p))), 0.0)
    deviance = float(2.0 * np.sum(dev_y + dev_f))
    return (
        Estimate(r0, math.exp(a_low), math.exp(a_high), r0 * se_a),
        Estimate(b, b_low, b_high, se_b),
        r2,
        max(deviance, 0.0),
    )


# --- F0 and α: Poisson-weighted least squares ---------------------------------------------------


def _fit_completion(
    g: Array, n: Array, e: Array, z: float
) -> tuple[Estimate, Estimate, float | None, float]:
    rate = n / e  # tasks per hour (or per USD)
    x = np.column_stack([np.ones_like(g), g])
    w: NDArray[np.floating[Any]] = e.copy()  # first pass: Poisson weights, constant mean
    coef = np.zeros(2)
    for _ in range(50):
        xtw = x.T * w
        new = np.linalg.solve(xtw @ x, xtw @ rate)
        floor = 1e-12 * max(float(np.max(rate)), 1e-300)
        w = e / np.maximum(x @ new, floor)
        done = bool(np.allclose(new, coef, rtol=1e-12, atol=0.0))
        coef = new
        if done:
            break
    mu = x @ coef
    xtw = x.T * w
    cov = np.linalg.inv(xtw @ x)
    rows = len(g)
    pearson = float(np.sum(w * (rate - mu) ** 2))
    dispersion = pearson / (rows - 2) if rows > 2 else 1.0
    cov = cov * max(dispersion, 1.0)
    intercept, slope = float(coef[0]), float(coef[1])
    if intercept <= 0.0:
        raise ConfigError(
            f"the fitted completion rate at g = 0 is {intercept:g} <= 0. Check the completed "
            "and hours/cost columns"
        )
    alpha = -slope / intercept
    grad = np.array([slope / intercept**2, -1.0 / intercept])
    se_f0 = math.sqrt(max(float(cov[0, 0]), 0.0))
    se_alpha = math.sqrt(max(float(grad @ cov @ grad), 0.0))
    mean = float(np.sum(w * rate) / np.sum(w))
    ss_tot = float(np.sum(w * (rate - mean) ** 2))
    r2 = 1.0 - pearson / ss_tot if ss_tot > 0.0 else None
    return (
        Estimate(intercept, intercept - z * se_f0, intercept + z * se_f0, se_f0),
        Estimate(alpha, alpha - z * se_alpha, alpha + z * se_alpha, se_alpha),
        r2,
        dispersion,
    )
