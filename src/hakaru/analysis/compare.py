"""Compare two variants: how their cost ratio grows, where they cross, and extrapolation.

Three answers, from two measured series (or their :class:`~hakaru.analysis.FitResult`):

- **ratio class** — derived from the two fitted curves, never fitted on its own
  (:mod:`hakaru.analysis.ratio`): the quotient of the leading terms, a/b in the order given
  (original / optimized in a report), with ``1, → c`` for a ratio that tends to a constant.
  Routing's generalist/delegated ratio, for instance, grows as ``n`` (paper Table 1: Θ(k)); a
  ratio that falls says the second variant costs more. The measured pointwise ratios (geometric
  means of the repeats, at the sizes both were measured at) are kept for plots.
- **crossover** — the sizes where the fitted curves cross, found in log space (log a(n) − log
  b(n), which never overflows, even for 2ⁿ) by a sign scan over a log-spaced grid of the search
  range refined by bisection. None when they do not cross in the range (default 1 to 10⁹).
- **extrapolation** — each variant's fitted median cost and prediction interval at the sizes
  the caller names (e.g. 10⁶), with :meth:`~hakaru.analysis.ClassFit.predict_interval`, and the
  ratio of the two fitted medians with the conservative interval of the two.

Only numpy is imported here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hakaru.analysis.fit import fit_series
from hakaru.analysis.ratio import RatioClass, ratio_class
from hakaru.analysis.result import ClassFit, FitResult
from hakaru.errors import ConfigError

__all__ = [
    "Comparison",
    "Prediction",
    "SizePrediction",
    "compare",
    "crossovers",
    "predict",
    "predict_ratio",
]

FitOrPoints = FitResult | tuple[Sequence[float], Sequence[float]]

_SCAN = 4001  # grid points of the crossover scan, log-spaced
_BISECT = 80  # bisection steps on log n


@dataclass(frozen=True)
class Prediction:
    """A fitted median cost at size ``n`` with its prediction interval [low, high].

    Values past the float range are ``inf``; ``log10_value`` is always finite.
    """

    n: float
    value: float
    low: float
    high: float
    level: float
    log10_value: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``None`` for values past the float range)."""
        return {
            "n": self.n,
            "value": _json(self.value),
            "low": _json(self.low),
            "high": _json(self.high),
            "level": self.level,
            "log10_value": self.log10_value,
        }


@dataclass(frozen=True)
class SizePrediction:
    """Both variants' predictions at one size, and their ratio a/b (from the two fits)."""

    n: float
    a: Prediction
    b: Prediction
    ratio: Prediction  # a's fitted median over b's, with the conservative interval


@dataclass(frozen=True)
class Comparison:
    """Two variants compared: ratio class, crossover sizes and predictions (module docstring)."""

    labels: tuple[str, str]
    a: FitResult
    b: FitResult
    ratio: RatioClass  # how a/b grows, from the two fitted curves
    measured_ratio: tuple[tuple[float, float], ...]  # (size, a/b) at the sizes both were run at
    crossovers: tuple[float, ...]  # sizes where the fitted curves cross, ascending
    search: tuple[float, float]  # the range searched for crossovers
    predictions: tuple[SizePrediction, ...]
    notes: tuple[str, ...]

    @property
    def ratio_of(self) -> tuple[str, str]:
        """(numerator, denominator) of :attr:`ratio`: always the labels, in order."""
        return self.labels

    @property
    def crossover(self) -> float | None:
        """The last crossing: from this size on, the asymptotically cheaper variant wins."""
        return self.crossovers[-1] if self.crossovers else None

    def direction(self, x: str = "n") -> str:
        """What the two fitted curves say about b against a as ``x`` grows, in one sentence.

        >>> n = [8, 16, 32, 64]
        >>> compare((n, [3 * v for v in n]), (n, [v for v in n]), labels=("one", "two")).direction()
        'two is cheaper by a factor that tends to 3 (one/two → 3)'
        """
        la, lb = self.labels
        r = self.ratio
        if not r.determined:
            return f"both designs grow as 2ⁿ; which one saves more as {x} grows is not resolved"
        if r.direction > 0:
            return f"{lb} saves more and more as {x} grows ({la}/{lb} grows as {r.complexity})"
        if r.direction < 0:
            return f"{lb} costs more and more as {x} grows ({la}/{lb} falls as {r.complexity})"
        limit = f"({la}/{lb} → {r.constant:.3g})"
        if r.constant >= 1.0:
            return f"{lb} is cheaper by a factor that tends to {r.constant:.3g} {limit}"
        return f"{lb} costs more, by a factor that tends to {1 / r.constant:.3g} {limit}"

    @property
    def cheaper_at_large_n(self) -> str:
        """Label of the variant the fitted curves make cheaper at the top of the search range."""
        top = self.search[1]
        return (
            self.labels[0] if self.a.predict_log(top) < self.b.predict_log(top) else self.labels[1]
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        la, lb = self.labels
        return {
            "labels": list(self.labels),
            "fits": {la: self.a.to_dict(), lb: self.b.to_dict()},
            "ratio": self.ratio.to_dict(),
            "ratio_of": list(self.ratio_of),
            "ratio_class": self.ratio.complexity,
            "ratio_limit": self.ratio.to_dict()["limit"],
            "measured_ratio": [list(p) for p in self.measured_ratio],
            "crossover": self.crossover,
            "crossovers": list(self.crossovers),
            "search": list(self.search),
            "cheaper_at_large_n": self.cheaper_at_large_n,
            "direction": self.direction(),
            "predictions": [
                {
                    "n": p.n,
                    la: p.a.to_dict(),
                    lb: p.b.to_dict(),
                    "ratio": p.ratio.to_dict(),
                }
                for p in self.predictions
            ],
            "notes": list(self.notes),
        }


def _json(v: float) -> float | None:
    return v if math.isfinite(v) else None


def predict(fit: FitResult | ClassFit, n: float, level: float = 0.9) -> Prediction:
    """The fitted median cost at ``n`` and its prediction interval (see ``predict_interval``).

    >>> from hakaru.analysis import fit_series
    >>> p = predict(fit_series([8, 16, 32, 64], [2 * n for n in (8, 16, 32, 64)]), 1e6)
    >>> round(p.value), round(p.log10_value, 3)
    (2000000, 6.301)

    A size that is not a positive, finite number is a :class:`ConfigError`.
    """
    if not (math.isfinite(n) and n > 0):
        raise ConfigError(f"Cannot predict at n = {n}: give a positive, finite size, e.g. 1e6")
    low, high = fit.predict_interval(n, level)  # a FitResult widens it when ambiguous
    log_value = float(fit.predict_log(n))
    with np.errstate(over="ignore"):
        value = float(np.exp(log_value))
    return Prediction(float(n), value, low, high, level, log_value / math.log(10.0))


def predict_ratio(ratio: RatioClass, n: float, level: float = 0.9) -> Prediction:
    """a/b at ``n``: the quotient of the fitted medians, and the conservative interval.

    >>> from hakaru.analysis import fit_series
    >>> x = [8, 16, 32, 64]
    >>> r = ratio_class(fit_series(x, [6 * v for v in x]), fit_series(x, [2 * v for v in x]))
    >>> round(predict_ratio(r, 1e6).value, 6)
    3.0
    """
    log_value = float(ratio.predict_log(n))
    low, high = ratio.interval(n, level)
    with np.errstate(over="ignore"):
        value = float(np.exp(log_value))
    return Prediction(float(n), value, float(low), float(high), level, log_value / math.log(10.0))


def crossovers(
    a: FitResult | ClassFit, b: FitResult | ClassFit, search: tuple[float, float] = (1.0, 1e9)
) -> tuple[float, ...]:
    """Sizes in ``search`` where the fitted curves of a and b cross, ascending.

    >>> from hakaru.analysis import fit_series
    >>> n = [8, 16, 32, 64, 128]
    >>> fa = fit_series(n, [100 * k for k in n])  # 100·n
    >>> fb = fit_series(n, [k * k for k in n])  # n²
    >>> [round(x, 6) for x in crossovers(fa, fb)]
    [100.0]
    """
    lo, hi = search
    if not 0 < lo < hi:
        raise ConfigError(f"the crossover search range must satisfy 0 < low < high, got {search}")
    ma = a.best if isinstance(a, FitResult) else a
    mb = b.best if isinstance(b, FitResult) else b

    def diff(u: Any) -> Any:
        with np.errstate(invalid="ignore"):  # log n classes are -inf at n = 1: no crossing there
            return ma.predict_log(np.exp(u)) - mb.predict_log(np.exp(u))

    u = np.linspace(math.log(lo), math.log(hi), _SCAN)
    d = diff(u)
    out: list[float] = []
    for i in np.flatnonzero(np.isfinite(d[:-1]) & np.isfinite(d[1:])):
        d0, d1 = float(d[i]), float(d[i + 1])
        if d0 == 0.0:
            out.append(float(math.exp(u[i])))
            continue
        if d0 * d1 >= 0.0:
            continue
        left, right = float(u[i]), float(u[i + 1])
        for _ in range(_BISECT):
            mid = 0.5 * (left + right)
            if (float(diff(mid)) > 0.0) == (d0 > 0.0):
                left = mid
            else:
                right = mid
        out.append(math.exp(0.5 * (left + right)))
    if np.isfinite(d[-1]) and d[-1] == 0.0:
        out.append(hi)
    return tuple(out)


def _as_fit(series: FitOrPoints, criterion: str, name: str) -> FitResult:
    if isinstance(series, FitResult):
        return series
    try:
        x, y = series
    except (TypeError, ValueError):
        raise ConfigError(
            f"{name} must be a FitResult or a pair (sizes, costs). Pass e.g. ([8, 16, 32], "
            "[10, 21, 40])"
        ) from None
    return fit_series(x, y, criterion=criterion)


def _geometric_means(fit: FitResult) -> dict[float, float]:
    logs: dict[float, list[float]] = {}
    for x, y in zip(fit.x, fit.y, strict=True):
        logs.setdefault(x, []).append(math.log(y))
    return {x: sum(v) / len(v) for x, v in logs.items()}


def compare(
    a: FitOrPoints,
    b: FitOrPoints,
    *,
    labels: tuple[str, str] = ("a", "b"),
    at: Iterable[float] = (),
    level: float = 0.9,
    criterion: str = "aicc",
    search: tuple[float, float] = (1.0, 1e9),
) -> Comparison:
    """Compare two variants' costs: ratio class, crossover, predictions at sizes ``at``.

    ``a`` and ``b`` are :class:`~hakaru.analysis.FitResult` objects or (sizes, costs) pairs
    (fitted here with ``criterion``). The ratio is a/b, from the two fitted curves.

    >>> n = [8, 16, 32, 64, 128, 256]
    >>> c = compare((n, [5 * k * k for k in n]), (n, [40 * k for k in n]),
    ...             labels=("optimistic", "optimized"), at=[1e6])
    >>> c.ratio.complexity, c.ratio_of, round(c.crossover, 6)
    ('n', ('optimistic', 'optimized'), 8.0)
    >>> round(c.predictions[0].ratio.value)
    125000
    """
    fa = _as_fit(a, criterion, "a")
    fb = _as_fit(b, criterion, "b")
    la, lb = labels
    notes: list[str] = []
    ga, gb = _geometric_means(fa), _geometric_means(fb)
    measured = tuple((x, math.exp(ga[x] - gb[x])) for x in sorted(set(ga) & set(gb)))
    ratio = ratio_class(fa, fb)
    found = crossovers(fa, fb, search)
    if not found:
        cheaper = la if fa.predict_log(search[0]) < fb.predict_log(search[0]) else lb
        notes.append(
            f"The fitted curves do not cross between n = {search[0]:g} and {search[1]:g}: "
            f"{cheaper} is cheaper throughout."
        )
    predictions = []
    for n in at:
        if not n > 0:
            raise ConfigError(f"prediction sizes must be > 0, got {n:g}")
        predictions.append(
            SizePrediction(
                float(n),
                predict(fa, n, level),
                predict(fb, n, level),
                predict_ratio(ratio, n, level),
            )
        )
    for fit, name in ((fa, la), (fb, lb)):
        if fit.ambiguous:
            runner = fit.runner_up.complexity if fit.runner_up else "?"
            notes.append(
                f"The class of {name} is ambiguous ({fit.complexity} or {runner}); "
                "its extrapolation is uncertain beyond the interval shown."
            )
    if ratio.ambiguous:
        notes.append(
            f"The class of {la}/{lb} is ambiguous ({' or '.join(ratio.alternatives)}), "
            "because a class of the two fits is."
        )
    return Comparison(
        labels=(la, lb),
        a=fa,
        b=fb,
        ratio=ratio,
        measured_ratio=measured,
        crossovers=found,
        search=search,
        predictions=tuple(predictions),
        notes=tuple(notes),
    )
