"""The growth of a cost ratio, derived from the two fitted curves — never fitted on its own.

Design choice: two designs' costs are each fitted as c·g(n) (+ d), and the ratio a(n)/b(n)
follows from those two curves. Its asymptotic class is the quotient of the **leading terms**,
(c_a/c_b)·g_a(n)/g_b(n): the exponents of n, of log n and of 2ⁿ subtract, so n² over n log n is
``n/log n`` and two classes that cancel leave a constant ratio, reported as ``1, → c`` with its
limit c = c_a/c_b. The pointwise ratio of the measurements is *not* fitted: for
a = 560·n + 16,100 and b = 44·n it rises and levels off towards 12.6, a shape that none of the
eight classes has, so a fit of it invents one (``log n``) and extrapolates it wrongly.

The ratio is always **a/b** in the order the caller gives (a report gives original/optimized),
never flipped: a ratio that falls (``1/n``, or ``1, → 0.08``) says that b costs more. Its
value at any size is the quotient of the two fitted medians, and its interval the conservative
one from the two prediction intervals, [low_a/high_b, high_a/low_b].

Polynomial factors on top of 2ⁿ are below the resolution of the class set (a 2ⁿ fit hides
them), so a quotient with one 2ⁿ factor is reported as ``2ⁿ`` (or ``1/2ⁿ``) with a note, and
two 2ⁿ designs leave the ratio's class undetermined. When a fit is ambiguous, the ratio's
alternatives are the quotients of every close class pair. Only numpy is imported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hakaru.analysis.classes import class_terms
from hakaru.analysis.result import ClassFit, FitResult

__all__ = ["UNRESOLVED", "RatioClass", "quotient", "ratio_class"]

Array = NDArray[np.float64]

#: The class of a ratio of two 2ⁿ designs: their polynomial factors are not resolved.
UNRESOLVED: Final = "unresolved"

_EXP_NOTE: Final = "polynomial factors on top of 2ⁿ are not resolved"
_SUP: Final = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power(base: str, p: int) -> str:
    return base if p == 1 else f"{base}{str(p).translate(_SUP)}"


def _factors(power: int, log_power: int) -> list[str]:
    """``['n²', 'log n']`` for (2, 1): the factors with positive exponents."""
    factors = []
    if power > 0:
        factors.append(_power("n", power))
    if log_power > 0:
        factors.append("log n" if log_power == 1 else f"log{str(log_power).translate(_SUP)} n")
    return factors


def quotient(a: str, b: str) -> str:
    """The class of g_a(n)/g_b(n) for two canonical class names.

    >>> quotient("n²", "n log n"), quotient("n", "n"), quotient("n", "n²"), quotient("2ⁿ", "n")
    ('n/log n', '1', '1/n', '2ⁿ')
    """
    pa, la, ea = class_terms(a)
    pb, lb, eb = class_terms(b)
    if ea and eb:
        return UNRESOLVED
    if ea or eb:
        return "2ⁿ" if ea else "1/2ⁿ"
    power, log_power = pa - pb, la - lb
    top = _factors(max(power, 0), max(log_power, 0))
    bottom = _factors(max(-power, 0), max(-log_power, 0))
    if not bottom:
        return " ".join(top) or "1"
    upper = "1" if not top else top[0] if len(top) == 1 else f"({' '.join(top)})"
    lower = bottom[0] if len(bottom) == 1 else f"({' '.join(bottom)})"
    return f"{upper}/{lower}"


def _sign(a: str, b: str) -> int:
    """+1 if g_a/g_b grows without bound, −1 if it falls to 0, 0 if it is constant."""
    pa, la, ea = class_terms(a)
    pb, lb, eb = class_terms(b)
    for d in (int(ea) - int(eb), pa - pb, la - lb):
        if d:
            return 1 if d > 0 else -1
    return 0


def _interval(fit: FitResult, n: Array, level: float) -> tuple[Array, Array]:
    """Prediction interval of ``fit`` at sizes ``n``, widened over close classes (elementwise)."""
    low, high = fit.best.predict_interval(n, level)
    for other in fit.close_candidates:
        o_low, o_high = other.predict_interval(n, level)
        low, high = np.minimum(low, o_low), np.maximum(high, o_high)
    return low, high


@dataclass(frozen=True)
class RatioClass:
    """How a/b grows, from the two fits ``a`` and ``b`` (module docstring).

    ``complexity`` is the quotient of the two leading classes (``n``, ``n/log n``, ``1``,
    ``1/n``, ``2ⁿ``, …); ``limit`` is where a constant ratio tends (c_a/c_b), 0 or ∞ otherwise;
    ``alternatives`` holds the quotients of every pair of close classes, this one first.
    """

    a: FitResult
    b: FitResult
    complexity: str
    constant: float  # c_a/c_b: the quotient's leading coefficient
    alternatives: tuple[str, ...]
    direction: int  # +1 grows, 0 tends to a constant, −1 falls
    notes: tuple[str, ...]

    @property
    def limit(self) -> float:
        """Where a/b tends as n grows: c_a/c_b for a constant ratio, else ∞ or 0."""
        if self.direction > 0:
            return math.inf
        return self.constant if self.direction == 0 else 0.0

    @property
    def determined(self) -> bool:
        """False when both designs grow as 2ⁿ (the ratio's class is then unknown)."""
        return self.complexity != UNRESOLVED

    @property
    def ambiguous(self) -> bool:
        """Whether a close class of either fit gives another quotient."""
        return len(self.alternatives) > 1

    @property
    def runner_up(self) -> str | None:
        """The first other quotient among the close classes, or None."""
        return self.alternatives[1] if self.ambiguous else None

    @property
    def label(self) -> str:
        """The class as a report shows it: ``n/log n``, or ``1, → 12.6`` for a constant."""
        if self.complexity == "1":
            return f"1, → {self.constant:.3g}"
        return self.complexity

    def formula(self) -> str:
        """The quotient of the leading terms, e.g. ``0.0108·n/log n`` or ``→ 12.61``."""
        if self.complexity == "1":
            return f"→ {self.constant:.4g}"
        if not self.determined:
            return f"{self.a.best.formula()} / {self.b.best.formula()}"
        return f"{self.constant:.4g}·{self.complexity}"

    def predict_log(self, n: ArrayLike) -> Array:
        """Natural log of a's fitted median over b's at size(s) ``n``; never overflows."""
        return np.asarray(self.a.best.predict_log(n) - self.b.best.predict_log(n))

    def predict(self, n: float) -> float:
        """a's fitted median cost over b's at size ``n``.

        >>> from hakaru.analysis import fit_series
        >>> x = [8, 16, 32, 64, 128]
        >>> r = ratio_class(fit_series(x, [560 * n + 16100 for n in x]),
        ...                 fit_series(x, [44 * n for n in x]))
        >>> r.label, round(r.predict(1e9), 2)
        ('1, → 12.7', 12.73)
        """
        with np.errstate(over="ignore"):
            return float(np.exp(self.predict_log(n)))

    def interval(self, n: ArrayLike, level: float = 0.9) -> tuple[Array, Array]:
        """The conservative interval [low_a/high_b, high_a/low_b] at size(s) ``n``."""
        x = np.asarray(n, dtype=np.float64)
        a_low, a_high = _interval(self.a, x, level)
        b_low, b_high = _interval(self.b, x, level)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.asarray(a_low / b_high), np.asarray(a_high / b_low)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        limit = self.limit
        return {
            "class": self.complexity,
            "label": self.label,
            "formula": self.formula(),
            "constant": self.constant,
            "limit": limit if math.isfinite(limit) else None,
            "direction": {1: "grows", 0: "constant", -1: "falls"}[self.direction],
            "from": [self.a.complexity, self.b.complexity],
            "ambiguous": self.ambiguous,
            "runner_up": self.runner_up,
            "alternatives": list(self.alternatives),
            "notes": list(self.notes),
        }


def _close(fit: FitResult) -> tuple[ClassFit, ...]:
    return (fit.best, *fit.close_candidates)


def ratio_class(a: FitResult, b: FitResult) -> RatioClass:
    """The class of a/b from the two fits: the quotient of their leading terms.

    >>> from hakaru.analysis import fit_series
    >>> n = [8, 16, 32, 64, 128, 256]
    >>> r = ratio_class(fit_series(n, [3 * k * k for k in n]),
    ...                 fit_series(n, [k * math.log(k) for k in n]))
    >>> r.complexity, round(r.constant, 6), r.direction
    ('n/log n', 3.0, 1)
    """
    name = quotient(a.complexity, b.complexity)
    alternatives = [name]
    for ca in _close(a):
        for cb in _close(b):
            q = quotient(ca.complexity, cb.complexity)
            if q not in alternatives:
                alternatives.append(q)
    notes = []
    if name == UNRESOLVED:
        notes.append(f"both designs grow as 2ⁿ and {_EXP_NOTE}, so the ratio's class is unknown")
    elif "2ⁿ" in name:
        notes.append(f"the ratio is reported as {name}: {_EXP_NOTE}")
    return RatioClass(
        a=a,
        b=b,
        complexity=name,
        constant=math.exp(a.best.log_constant - b.best.log_constant),
        alternatives=tuple(alternatives),
        direction=_sign(a.complexity, b.complexity),
        notes=tuple(notes),
    )
