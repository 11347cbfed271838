"""What a fit says: :class:`ClassFit` (one class fitted) and :class:`FitResult` (the choice).

Both are frozen records. The numbers live in natural-log space (``log_constant``,
``log_ratio``), so predictions at any size — ``2ⁿ`` at n = 10⁶ included — are computed without
overflow and only the final ``exp`` may reach ``inf``. How the fits are found, and the interval
method, are in :mod:`hakaru.analysis.fit`. Only numpy is imported here; the t quantile of
:meth:`ClassFit.predict_interval` comes from scipy inside that method.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hakaru.analysis.classes import CLASSES, log_growth
from hakaru.errors import ConfigError

__all__ = ["AMBIGUITY", "CRITERIA", "ClassFit", "Criterion", "FitResult"]

Array = NDArray[np.float64]
Criterion = Literal["aicc", "bic", "loo"]

#: criterion -> what it is (shown by the CLI and in JSON).
CRITERIA: Final[dict[str, str]] = {
    "aicc": "AICc of log residuals (Gaussian on log scale, small-sample corrected)",
    "bic": "BIC of log residuals",
    "loo": "leave-one-out mean squared error of log residuals",
}
#: criterion -> the runner-up closeness below which a fit is ambiguous (Δscore, or ratio for loo).
AMBIGUITY: Final[dict[str, float]] = {"aicc": 2.0, "bic": 2.0, "loo": 1.1}


@dataclass(frozen=True)
class ClassFit:
    """One class fitted to the data: y ≈ constant·g(n) (+ offset), on log scale.

    ``score`` is the criterion's value (lower is better; ``inf`` if the class cannot be fitted,
    e.g. ``log n`` with n < 1); ``spread`` is the residual standard deviation of log y.
    """

    complexity: str  # canonical class name, e.g. "n²"
    constant: float  # c, leading coefficient (natural logs inside log classes)
    offset: float | None  # d, the constant lower-order term; None: leading term alone
    score: float  # criterion value, lower is better
    rss: float  # sum of squared residuals of log y (natural log)
    params: int  # 1 (c) or 2 (c, d)
    points: int  # N, rows fitted
    spread: float  # √(rss / (N − params)), natural-log units
    r2: float | None  # 1 − RSS/TSS on log scale; None when log y is constant
    log_constant: float = field(repr=False, default=0.0)
    log_ratio: float | None = field(repr=False, default=None)  # log(d/c)
    unscaled_cov: tuple[tuple[float, ...], ...] = field(repr=False, default=())  # (JᵀJ)⁻¹

    def predict_log(self, n: ArrayLike) -> Array:
        """Natural log of the fitted median cost at size(s) ``n``; never overflows."""
        lg = log_growth(self.complexity, n)
        if self.log_ratio is not None:
            lg = np.logaddexp(lg, self.log_ratio)
        return self.log_constant + lg

    @overload
    def predict(self, n: float) -> float: ...
    @overload
    def predict(self, n: Sequence[float] | Array) -> Array: ...
    def predict(self, n: float | Sequence[float] | Array) -> float | Array:
        """The fitted median cost at size(s) ``n`` (``inf`` past the float range)."""
        with np.errstate(over="ignore"):
            out = np.exp(self.predict_log(n))
        return float(out) if np.ndim(out) == 0 else out

    @overload
    def predict_interval(self, n: float, level: float = 0.9) -> tuple[float, float]: ...
    @overload
    def predict_interval(
        self, n: Sequence[float] | Array, level: float = 0.9
    ) -> tuple[Array, Array]: ...
    def predict_interval(
        self, n: float | Sequence[float] | Array, level: float = 0.9
    ) -> tuple[float, float] | tuple[Array, Array]:
        """Prediction interval [low, high] of a new observation at size(s) ``n``.

        A new run at size ``n`` shows a cost inside it with probability ``level``, if the class
        is right (method in the module docstring). Arrays give arrays: an extrapolation band.
        """
        if not 0.0 < level < 1.0:
            raise ConfigError(f"level must be between 0 and 1 (e.g. 0.9), got {level:g}")
        from scipy.special import stdtrit

        center = self.predict_log(n)
        df = self.points - self.params
        cov = np.array(self.unscaled_cov)  # (p, p)
        if self.log_ratio is None:
            quad = np.full_like(center, cov[0, 0])
        else:  # j0 = [1, w], w = ∂ log(g + r)/∂ log r = r / (g + r)
            w = np.exp(
                self.log_ratio - np.logaddexp(log_growth(self.complexity, n), self.log_ratio)
            )
            quad = cov[0, 0] + 2.0 * cov[0, 1] * w + cov[1, 1] * w * w
        if df > 0:
            half = float(stdtrit(df, 0.5 + level / 2.0)) * self.spread * np.sqrt(1.0 + quad)
        else:
            half = np.full_like(center, np.nan)
        with np.errstate(over="ignore"):
            low, high = np.exp(center - half), np.exp(center + half)
        if np.ndim(low) == 0:
            return float(low), float(high)
        return low, high

    def formula(self) -> str:
        """The fitted curve as text, e.g. ``3.02·n² + 41.7``."""
        lead = f"{self.constant:.4g}" if self.complexity == "1" else f"{self.constant:.4g}·"
        lead += "" if self.complexity == "1" else self.complexity
        return lead if self.offset is None else f"{lead} + {self.offset:.4g}"


@dataclass(frozen=True)
class FitResult:
    """The chosen class of a series, its runner-up, and every class's score.

    ``candidates`` holds every class tried, best first. The properties read the best one.

    >>> from hakaru.analysis import fit_series
    >>> fit = fit_series([8, 16, 32, 64, 128], [3 * n * n for n in (8, 16, 32, 64, 128)])
    >>> fit.complexity, round(fit.constant, 6), fit.runner_up is not None, fit.ambiguous
    ('n²', 3.0, True, False)
    """

    best: ClassFit
    candidates: tuple[ClassFit, ...]
    criterion: Criterion
    delta: float | None  # runner-up's score − best score (loo: ratio of LOO errors)
    ambiguous: bool
    warnings: tuple[str, ...]
    x: tuple[float, ...]  # sizes fitted (rows with n <= 0 or y <= 0 removed)
    y: tuple[float, ...]
    dropped: int  # rows removed because n <= 0 or y <= 0

    @property
    def complexity(self) -> str:
        """The chosen class, e.g. ``"n log n"``."""
        return self.best.complexity

    @property
    def constant(self) -> float:
        """c in y ≈ c·g(n) (+ d)."""
        return self.best.constant

    @property
    def offset(self) -> float | None:
        """d, the constant lower-order term, or None when the leading term alone won."""
        return self.best.offset

    @property
    def r2(self) -> float | None:
        """R² of log y (on log scale); None when log y is constant. Can be negative."""
        return self.best.r2

    @property
    def spread(self) -> float:
        """Residual standard deviation of log y (0.1 ≈ a typical ±10 % scatter)."""
        return self.best.spread

    @property
    def runner_up(self) -> ClassFit | None:
        """The best-scoring other class, or None when no other class could be fitted."""
        if len(self.candidates) < 2 or not math.isfinite(self.candidates[1].score):
            return None
        return self.candidates[1]

    @property
    def scores(self) -> dict[str, float | None]:
        """Criterion value per class tried (None: the class could not be fitted)."""
        return {
            c.complexity: (c.score if math.isfinite(c.score) else None)
            for c in sorted(self.candidates, key=lambda c: CLASSES.index(c.complexity))
        }

    @property
    def n_range(self) -> tuple[float, float]:
        """Smallest and largest size fitted."""
        return min(self.x), max(self.x)

    @property
    def warning(self) -> str | None:
        """All warnings as one text, or None."""
        return " ".join(self.warnings) if self.warnings else None

    def predict(self, n: float) -> float:
        """Fitted median cost at size ``n`` (``inf`` past the float range; see predict_log).

        >>> from hakaru.analysis import fit_series
        >>> round(fit_series([1, 2, 3, 4], [5, 10, 15, 20]).predict(1e6))
        5000000
        """
        return self.best.predict(n)

    def predict_log(self, n: float) -> float:
        """Natural log of the fitted median cost at size ``n``; finite for any n >= 1."""
        return float(self.best.predict_log(n))

    def predict_interval(self, n: float, level: float = 0.9) -> tuple[float, float]:
        """Prediction interval for a new observation at size ``n``.

        The chosen class's interval; when the fit is ambiguous, the hull of the intervals of
        every class within the ambiguity threshold, so that the extrapolation does not hide
        the doubt about the class.

        >>> from hakaru.analysis import fit_series
        >>> fit = fit_series([8, 16, 32, 64, 128], [16, 33, 62, 130, 255])
        >>> low, high = fit.predict_interval(1e4, level=0.9)
        >>> fit.complexity, bool(low < fit.predict(1e4) < high)
        ('n', True)
        """
        low, high = self.best.predict_interval(n, level)
        for other in self.close_candidates:
            lo, hi = other.predict_interval(n, level)
            low, high = min(low, lo), max(high, hi)
        return low, high

    @property
    def close_candidates(self) -> tuple[ClassFit, ...]:
        """Other classes within the ambiguity threshold of the best one (empty if unambiguous)."""
        out = []
        for c in self.candidates[1:]:
            if not math.isfinite(c.score):
                break
            closeness = (
                c.score / self.best.score if self.criterion == "loo" else c.score - self.best.score
            )
            if closeness < AMBIGUITY[self.criterion]:
                out.append(c)
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (keys in docs/fit.md)."""
        runner = self.runner_up
        lo, hi = self.n_range
        return {
            "class": self.complexity,
            "constant": self.constant,
            "offset": self.offset,
            "formula": self.best.formula(),
            "r2": self.r2,
            "r2_scale": "log",
            "criterion": self.criterion,
            "score": _finite(self.best.score),
            "runner_up": runner.complexity if runner else None,
            "runner_up_score": _finite(runner.score) if runner else None,
            "delta": _finite(self.delta) if self.delta is not None else None,
            "ambiguous": self.ambiguous,
            "warning": self.warning,
            "scores": self.scores,
            "spread": self.spread,
            "points": len(self.x),
            "distinct_n": len(set(self.x)),
            "n_min": lo,
            "n_max": hi,
            "dropped": self.dropped,
        }


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None
