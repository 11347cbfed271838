"""Whether a fitted class stands on its evidence: the runner-up inside the band, one size decisive.

A fit can win clearly by its criterion (``ambiguous`` is False) and still rest on little: a few
sizes, each one run of a heavy-tailed cost (one long answer among forty calls moves a token total
by a third). :func:`class_doubts` asks two questions of a :class:`~hakaru.analysis.FitResult`
with the fitter's own machinery, and says in words what it found:

- **the runner-up inside the band**: the runner-up's fitted curve lies inside the chosen class's
  prediction interval (:meth:`~hakaru.analysis.ClassFit.predict_interval`, 90 %) at every
  measured size — a new run could not tell the two classes apart at the sizes measured;
- **one size decisive** (a jackknife over sizes): leaving out the runs of one size (when at least
  three other sizes remain) and fitting again gives another class — the choice hangs on one point;
- **another class within the noise**: given each point's own noise σᵢ on log scale (for a total
  of m calls, cv/√m with cv the calls' coefficient of variation: the relative standard error of
  a sum of independent calls, which one run per size already shows), another class's fitted
  curve leaves residuals whose χ² = Σ(rᵢ/σᵢ)² is not significant at 5 % on N − p degrees of
  freedom — the data cannot reject it. This is what catches a wrong class that wins clearly on
  a few heavy-tailed totals (the residual spread of the fit says nothing of the runs' scatter
  when each size ran once).

Neither is a test with a guaranteed error rate; both are cheap (a fit is milliseconds) and name
what to do: more repeats or a wider range of sizes. Only numpy (and scipy for the t quantile).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from hakaru.analysis.fit import fit_series
from hakaru.analysis.result import FitResult
from hakaru.errors import ConfigError

__all__ = ["class_doubts"]


def class_doubts(
    fit: FitResult, level: float = 0.9, noise: Sequence[float] | None = None
) -> list[str]:
    """What makes ``fit``'s class uncertain, one sentence each (empty: nothing found).

    ``noise`` is σᵢ of each row of ``fit.x`` (log scale, e.g. a total's relative standard
    error); without it, or with a zero in it, the χ² question is not asked.

    >>> sizes = [4, 8, 16, 32]
    >>> class_doubts(fit_series(sizes, [3 * n for n in sizes]))
    []
    >>> aalp = [24930, 103433, 425856, 575461, 1224753]  # a linear loop, long-tailed answers
    >>> fit = fit_series([4, 8, 16, 32, 64], aalp)
    >>> fit.complexity, fit.ambiguous
    ('n log n', False)
    >>> for doubt in class_doubts(fit):
    ...     print(doubt)
    the runner-up 'n' stays inside the 90% prediction band at every measured size
    without the runs at n=4 the class is 'n'
    """
    doubts = []
    sizes = sorted(set(fit.x))
    runner = fit.runner_up
    if runner is not None and fit.best.points > fit.best.params:
        inside = True
        for n in sizes:
            low, high = fit.best.predict_interval(n, level)
            value = runner.predict(n)
            if not (math.isfinite(low) and low <= value <= high):
                inside = False
                break
        if inside:
            doubts.append(
                f"the runner-up '{runner.complexity}' stays inside the {level:.0%} prediction "
                "band at every measured size"
            )
    within = _within_noise(fit, noise) if noise is not None else []
    if within:
        names = ", ".join(f"'{name}'" for name in within)
        verb = "fits" if len(within) == 1 else "fit"
        doubts.append(f"{names} also {verb} the totals within their noise (the calls' scatter)")
    if len(sizes) >= 4:
        classes = [c.complexity for c in fit.candidates]
        for left_out in sizes:
            keep = [i for i, x in enumerate(fit.x) if x != left_out]
            try:
                other = fit_series(
                    [fit.x[i] for i in keep],
                    [fit.y[i] for i in keep],
                    classes=classes,
                    criterion=fit.criterion,
                )
            except ConfigError:
                continue
            if other.complexity != fit.complexity:
                doubts.append(
                    f"without the runs at n={left_out:g} the class is '{other.complexity}'"
                )
                break
    return doubts


def _within_noise(fit: FitResult, noise: Sequence[float], alpha: float = 0.05) -> list[str]:
    """Other classes whose curves the rows' noise σᵢ does not reject (χ² test at ``alpha``)."""
    sigma = np.asarray(noise, dtype=np.float64)
    if sigma.shape != (len(fit.x),) or not (sigma > 0).all() or not np.isfinite(sigma).all():
        return []
    from scipy.stats import chi2

    ly = np.log(np.asarray(fit.y))
    out = []
    for c in fit.candidates[1:]:
        df = c.points - c.params
        if not math.isfinite(c.score) or df < 1:
            continue
        stat = float(np.sum(((ly - c.predict_log(np.asarray(fit.x))) / sigma) ** 2))
        if chi2.sf(stat, df) > alpha:
            out.append(c.complexity)
    return out
