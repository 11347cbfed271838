"""Choose the complexity class of a measured series: y ≈ c·g(n), or c·g(n) + d.

**Model.** Costs of LLM systems vary multiplicatively (a call is 10 % longer, not 10 tokens
longer), so every fit is made on log scale: log y = log c + log g(n) + ε, ε ~ N(0, σ²). With the
leading term alone, log c is the mean of log y − log g(n) (closed form). Each class (except ``1``)
is also fitted with a **constant lower-order term**, y ≈ c·g(n) + d with d ≥ 0: the fixed overhead
of real systems (a system prompt, a final aggregation call) that bends small sizes. d is chosen by
a grid over d/c refined by golden-section search; for each d/c, log c is again closed form. The
leading term must dominate: d ≤ c·g(n_max)/2 (the constant is at most a third of the cost at
the largest size), else the data cannot say which class leads.

**Selection.** The criterion compares models on their log residuals (lower is better):

- ``aicc`` (default) — AIC with the small-sample correction (Hurvich & Tsai 1989):
  N·ln(RSS/N) + 2K + 2K(K+1)/(N−K−1), K = parameters + 1 (σ). The noise model is explicit and
  sweeps are short (6–12 sizes), which is where AICc is meant to be used; its differences have a
  calibrated reading (Δ < 2: both models have substantial support).
- ``bic`` — N·ln(RSS/N) + K·ln N; penalises the lower-order term more as N grows.
- ``loo`` — mean squared leave-one-out error of log y (the lower-order term re-chosen in every
  fold); assumes nothing about the noise, but is noisier on a handful of points.

Every class with the leading term alone has one parameter, so all criteria rank those by RSS;
they differ only in what the lower-order term has to buy. Each class scores its better variant;
the best class wins and the next one is the **runner-up**. The fit is **ambiguous** when the
runner-up is within Δ < 2 (``aicc``, ``bic``) or a LOO error ratio < 1.1 (``loo``).

**Intervals.** :meth:`ClassFit.predict_interval` is the t-based prediction interval of a new
observation in log space, log ŷ ± t_{N−p}·s·√(1 + j₀ᵀ(JᵀJ)⁻¹j₀), with J the Jacobian of log y in
(log c, log(d/c)) — exact for the leading term alone (j₀ᵀ(JᵀJ)⁻¹j₀ = 1/N), the usual
linearisation with the lower-order term. It is conditional on the class; when the fit is
ambiguous, :meth:`FitResult.predict_interval` widens it to the hull of the intervals of every
class within the ambiguity threshold.

The results are :class:`~hakaru.analysis.result.FitResult` records. Only numpy is imported here;
docs/fit.md has the design and the benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from hakaru.analysis.classes import CLASSES, log_growth, parse_class, parse_classes
from hakaru.analysis.result import AMBIGUITY, CRITERIA, ClassFit, Criterion, FitResult
from hakaru.errors import ConfigError

__all__ = ["fit_series"]

Array = NDArray[np.float64]

_NAMES: Final[dict[str, str]] = {"aicc": "AICc", "bic": "BIC", "loo": "LOO"}
_GRID = 41  # points of the d/c grid, log-spaced
_GOLDEN_STEPS = 32  # golden-section refinements of the grid's best point
_DOMINANCE = 2.0  # the leading term must be >= this times d at the largest size
_REL_FLOOR = 1e-9  # residuals below this (relative to |log y|) are rounding, not signal
_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0


def fit_series(
    x: Iterable[float],
    y: Iterable[float],
    *,
    classes: Iterable[str] = CLASSES,
    criterion: str = "aicc",
    offset: bool = True,
) -> FitResult:
    """Choose the complexity class of y as a function of the size x (module docstring).

    ``x`` and ``y`` are paired values; repeats at the same size are welcome. Rows with x <= 0 or
    y <= 0 are ignored with a warning (a log-scale fit needs positive values); fewer than three
    distinct sizes is a :class:`~hakaru.errors.ConfigError`. ``classes`` restricts the candidates
    (any spelling :func:`~hakaru.analysis.parse_class` accepts); ``offset=False`` fits the
    leading term alone.

    >>> n = [8, 16, 32, 64, 128, 256]
    >>> fit = fit_series(n, [2 * k * math.log(k) + 40 for k in n])
    >>> fit.complexity, round(fit.constant, 3), round(fit.offset or 0, 1)
    ('n log n', 2.0, 40.0)
    """
    if criterion not in CRITERIA:
        raise ConfigError(f"unknown criterion {criterion!r}. Use one of: {', '.join(CRITERIA)}")
    crit: Criterion = criterion  # type: ignore[assignment]
    names = parse_classes(classes) if not isinstance(classes, str) else (parse_class(classes),)
    xs, ys, dropped = _clean(x, y)
    warnings: list[str] = []
    if dropped:
        warnings.append(
            f"Ignored {dropped} of {len(xs) + dropped} rows with n <= 0 or y <= 0 "
            "(a log-scale fit needs positive values)."
        )
    ly = np.log(ys)
    floor = len(ly) * (_REL_FLOOR * max(1.0, float(np.max(np.abs(ly))))) ** 2
    tss = float(np.sum((ly - ly.mean()) ** 2))
    small = crit == "aicc" and len(ly) <= 3
    if small:
        warnings.append(
            f"Only {len(ly)} points: AICc is undefined, so classes are ranked by AIC and no "
            "lower-order term is tried. Measure more sizes."
        )
    growth = {name: log_growth(name, xs) for name in names}
    skipped = [name for name in names if np.isnan(growth[name]).any()]
    fits = {name: _infeasible(name, len(ly)) for name in skipped}
    for name in names:
        if name not in skipped:
            fits[name] = _fit_pure(name, growth[name], ly, floor, tss, crit, small)
    with_offset = (
        [n for n in names if n not in skipped and n != "1"] if offset and not small else []
    )
    if with_offset:
        lgs = np.vstack([growth[name] for name in with_offset])  # (C, N)
        for fit in _fit_offsets(with_offset, xs, lgs, ly, floor, tss, crit):
            if (fit.score, fit.params) < (fits[fit.complexity].score, 1):
                fits[fit.complexity] = fit
    if skipped:
        warnings.append(
            f"Classes {', '.join(skipped)} need n >= 1 (they have a log factor) and were skipped."
        )
    ranked = tuple(sorted(fits.values(), key=lambda f: (f.score, CLASSES.index(f.complexity))))
    best = ranked[0]
    if not math.isfinite(best.score):
        raise ConfigError(
            f"none of the classes {', '.join(names)} can be fitted to these sizes. "
            "Sizes below 1 rule out the classes with a log factor; add others"
        )
    delta: float | None = None
    ambiguous = False
    if len(ranked) > 1 and math.isfinite(ranked[1].score):
        second = ranked[1]
        delta = second.score / best.score if crit == "loo" else second.score - best.score
        ambiguous = delta < AMBIGUITY[crit]
        if ambiguous:
            if crit == "loo":
                closeness = f"LOO error ratio {delta:.3g} < {AMBIGUITY[crit]:g}"
            else:
                closeness = f"Δ{_NAMES[crit]} = {delta:.3g} < {AMBIGUITY[crit]:g}"
            warnings.append(
                f"Ambiguous: '{best.complexity}' and '{second.complexity}' fit nearly equally "
                f"well ({closeness}). Measure a wider range of sizes (largest/smallest is "
                f"{max(xs) / min(xs):.3g}x now) or more repeats to tell them apart."
            )
    if best.log_ratio is not None:
        bound = float(log_growth(best.complexity, max(xs))) - math.log(_DOMINANCE)
        if best.log_ratio >= bound - 1e-3:
            warnings.append(
                f"The constant term is at its limit (half the leading term at the largest "
                f"size), so '{best.complexity}' may not dominate yet. Measure larger sizes."
            )
    return FitResult(
        best=best,
        candidates=ranked,
        criterion=crit,
        delta=delta,
        ambiguous=ambiguous,
        warnings=tuple(warnings),
        x=tuple(float(v) for v in xs),
        y=tuple(float(v) for v in ys),
        dropped=dropped,
    )


def _clean(x: Iterable[float], y: Iterable[float]) -> tuple[Array, Array, int]:
    try:
        xs = np.asarray(list(x), dtype=np.float64)
        ys = np.asarray(list(y), dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError("x and y must be numbers. Convert them before fitting") from None
    if xs.ndim != 1 or ys.ndim != 1 or xs.shape != ys.shape:
        raise ConfigError(
            f"x and y must be flat sequences of the same length, got {xs.size} and {ys.size} "
            "values. Pass one y per x (repeat an x for repeated measurements)"
        )
    bad = np.flatnonzero(~(np.isfinite(xs) & np.isfinite(ys)))
    if bad.size:
        i = int(bad[0])
        raise ConfigError(
            f"point {i + 1} is not finite (n={xs[i]:g}, y={ys[i]:g}). "
            "Remove it or replace it with a measured value"
        )
    keep = (xs > 0) & (ys > 0)
    distinct = np.unique(xs[keep]).size
    if distinct < 3:
        found = f"{distinct} distinct size" + ("" if distinct == 1 else "s")
        extra = "" if keep.all() else f" with n > 0 and y > 0 (of {xs.size} rows)"
        raise ConfigError(
            f"too few points to fit a complexity class: {found}{extra}. "
            "Measure at least 3 different sizes (6 or more, spread over 10x or more, "
            "to tell classes apart)"
        )
    return xs[keep], ys[keep], int(xs.size - keep.sum())


def _score(rss: float, n: int, params: int, crit: Criterion, small: bool = False) -> float:
    """The information criteria; loo scores are computed by the callers."""
    k = params + 1  # + σ
    fit_term = n * math.log(rss / n)
    if crit == "bic":
        return fit_term + k * math.log(n)
    if small or n - k - 1 <= 0:
        return fit_term + 2 * k if small else math.inf
    return fit_term + 2 * k + 2 * k * (k + 1) / (n - k - 1)


def _r2(rss: float, tss: float, floor: float) -> float | None:
    return None if tss <= floor else 1.0 - rss / tss


def _infeasible(name: str, n: int) -> ClassFit:
    nan = math.nan
    return ClassFit(name, nan, None, math.inf, nan, 1, n, nan, None)


def _fit_pure(
    name: str, lg: Array, ly: Array, floor: float, tss: float, crit: Criterion, small: bool
) -> ClassFit:
    n = ly.size
    if not np.isfinite(lg).all():  # g(n) = 0 somewhere (log n at n = 1)
        return _infeasible(name, n)
    z = ly - lg
    log_c = float(z.mean())
    rss = float(np.sum((z - log_c) ** 2))
    if crit == "loo":
        score = max(rss * n / (n - 1) ** 2, floor / n)  # mean of (e_i / (1 − 1/N))²
    else:
        score = _score(max(rss, floor), n, 1, crit, small)
    return ClassFit(
        complexity=name,
        constant=math.exp(log_c),
        offset=None,
        score=score,
        rss=rss,
        params=1,
        points=n,
        spread=math.sqrt(rss / (n - 1)),
        r2=_r2(rss, tss, floor),
        log_constant=log_c,
        log_ratio=None,
        unscaled_cov=((1.0 / n,),),
    )


def _rss_rows(z: Array) -> Array:
    """Per row of z (K, N): the sum of squares about the row mean."""
    return np.asarray(np.sum((z - z.mean(axis=1, keepdims=True)) ** 2, axis=1))


def _fit_offsets(
    names: Sequence[str],
    xs: Array,
    lgs: Array,
    ly: Array,
    floor: float,
    tss: float,
    crit: Criterion,
) -> list[ClassFit]:
    """y ≈ c·(g(n) + r), r = d/c in (0, g(n_max)/κ], for C classes at once.

    A grid over log r, then golden-section search around each class's best grid point; for
    each r, log c is the mean log residual (closed form). ``lgs`` is log g per class, (C, N).
    """
    n = ly.size
    top = int(np.argmax(xs))
    hi = lgs[:, top] - math.log(_DOMINANCE)  # (C,) dominance: d <= c·g(n_max)/κ
    lo = np.where(np.isfinite(lgs), lgs, np.inf).min(axis=1) - 7.0  # (C,) offset negligible
    lo = np.minimum(lo, hi - 1.0)
    steps = np.linspace(0.0, 1.0, _GRID)
    u = lo[:, None] + (hi - lo)[:, None] * steps[None, :]  # (C, K) grid of log r
    z = ly[None, None, :] - np.logaddexp(lgs[:, None, :], u[:, :, None])  # (C, K, N)
    rss_grid = np.sum((z - z.mean(axis=2, keepdims=True)) ** 2, axis=2)  # (C, K)
    j = np.argmin(rss_grid, axis=1)  # (C,)
    rows = np.arange(len(names))

    def rss_at(v: Array) -> Array:  # (C,) -> (C,)
        zz = ly[None, :] - np.logaddexp(lgs, v[:, None])
        zz -= zz.sum(axis=1, keepdims=True) / n
        return np.asarray((zz * zz).sum(axis=1))

    a = u[rows, np.maximum(j - 1, 0)]
    b = u[rows, np.minimum(j + 1, _GRID - 1)]
    c1, c2 = b - _INV_PHI * (b - a), a + _INV_PHI * (b - a)
    f1, f2 = rss_at(c1), rss_at(c2)
    for _ in range(_GOLDEN_STEPS):
        left = f1 <= f2  # the minimum is in [a, c2]
        b = np.where(left, c2, b)
        a = np.where(left, a, c1)
        keep_c, keep_f = np.where(left, c1, c2), np.where(left, f1, f2)
        new = np.where(left, b - _INV_PHI * (b - a), a + _INV_PHI * (b - a))
        f_new = rss_at(new)
        c1, f1 = np.where(left, new, keep_c), np.where(left, f_new, keep_f)
        c2, f2 = np.where(left, keep_c, new), np.where(left, keep_f, f_new)
    cand_u = np.stack([u[rows, j], c1, c2], axis=1)  # (C, 3)
    cand_f = np.stack([rss_grid[rows, j], f1, f2], axis=1)
    pick = np.argmin(cand_f, axis=1)
    fits = []
    for i, name in enumerate(names):
        log_r = float(cand_u[i, pick[i]])
        rss = float(cand_f[i, pick[i]])
        lm = np.logaddexp(lgs[i], log_r)  # (N,) log(g + r)
        log_c = float(np.mean(ly - lm))
        w = np.exp(log_r - lm)  # ∂ log(g + r)/∂ log r, (N,)
        sw, sww = float(w.sum()), float(w @ w)
        det = n * sww - sw * sw  # JᵀJ = [[N, Σw], [Σw, Σw²]]
        cov = (
            [[sww / det, -sw / det], [-sw / det, n / det]]
            if det > 1e-12 * n * sww
            else [
                [1.0 / n, 0.0],
                [0.0, 0.0],
            ]
        )
        if crit == "loo":
            score = _loo_offset(z[i], lgs[i], ly, floor)
        else:
            score = _score(max(rss, floor), n, 2, crit)
        fits.append(
            ClassFit(
                complexity=name,
                constant=math.exp(log_c),
                offset=math.exp(log_c + log_r),
                score=score,
                rss=rss,
                params=2,
                points=n,
                spread=math.sqrt(rss / (n - 2)) if n > 2 else math.nan,
                r2=_r2(rss, tss, floor),
                log_constant=log_c,
                log_ratio=log_r,
                unscaled_cov=tuple(tuple(float(v) for v in row) for row in cov),
            )
        )
    return fits


def _loo_offset(z: Array, lg: Array, ly: Array, floor: float) -> float:
    """Leave-one-out MSE with r re-chosen on the grid (plus r = 0) in every fold."""
    n = ly.size
    if np.isfinite(lg).all():
        z = np.vstack([z, (ly - lg)[None, :]])  # r = 0: the leading term alone
    s1 = z.sum(axis=1, keepdims=True)  # (K, 1)
    s2 = (z**2).sum(axis=1, keepdims=True)
    mean_wo = (s1 - z) / (n - 1)  # (K, N): log c fitted without point i
    rss_wo = (s2 - z**2) - (n - 1) * mean_wo**2  # (K, N): in-sample RSS without point i
    k = np.argmin(rss_wo, axis=0)  # (N,) best r per fold
    cols = np.arange(n)
    err = z[k, cols] - mean_wo[k, cols]
    return max(float(np.mean(err**2)), floor / n)
