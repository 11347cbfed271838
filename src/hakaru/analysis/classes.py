"""The complexity classes hakaru fits, their names, and their growth functions in log space.

There are exactly eight classes, ordered from slowest to fastest growth:
``1``, ``log n``, ``n``, ``n log n``, ``n²``, ``n² log n``, ``n³``, ``2ⁿ``. Those strings are the
canonical names everywhere (results, JSON, reports); :func:`parse_class` also accepts the usual
ASCII spellings (``n^2``, ``nlogn``, ``2^n``, ``O(n)``, ``quadratic``, …).

Every growth function g is evaluated as ``log g(n)`` (natural logarithms), never as g itself:
``2ⁿ`` at n = 10⁶ is far beyond a float, but its logarithm, n·ln 2, is not. ``log`` inside a class
is the natural logarithm too; the base only rescales the fitted constant.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hakaru.errors import ConfigError

__all__ = ["CLASSES", "log_growth", "parse_class", "parse_classes"]

Array = NDArray[np.float64]

#: The classes, slowest growth first. Their index is their order.
CLASSES: Final[tuple[str, ...]] = (
    "1",
    "log n",
    "n",
    "n log n",
    "n²",
    "n² log n",
    "n³",
    "2ⁿ",
)

# Compact spelling (lower case, no spaces, '^' for powers, 'logn' for log n) -> canonical name.
_ALIASES: Final[dict[str, str]] = {
    "1": "1",
    "const": "1",
    "constant": "1",
    "logn": "log n",
    "log": "log n",
    "logarithmic": "log n",
    "n": "n",
    "linear": "n",
    "nlogn": "n log n",
    "linearithmic": "n log n",
    "n^2": "n²",
    "quadratic": "n²",
    "n^2logn": "n² log n",
    "n^3": "n³",
    "cubic": "n³",
    "2^n": "2ⁿ",
    "exponential": "2ⁿ",
}

# (power of n, power of log n, base-2 exponential) for each class: the exponents of its g(n).
_TERMS: Final[dict[str, tuple[int, int, bool]]] = {
    "1": (0, 0, False),
    "log n": (0, 1, False),
    "n": (1, 0, False),
    "n log n": (1, 1, False),
    "n²": (2, 0, False),
    "n² log n": (2, 1, False),
    "n³": (3, 0, False),
    "2ⁿ": (0, 0, True),
}


def _compact(text: str) -> str:
    s = text.strip().lower()
    s = s.replace("θ", "").replace("theta", "")
    if re.fullmatch(r"o\(.*\)", s) or re.fullmatch(r"\(.*\)", s):
        s = s[s.index("(") + 1 : -1]
    s = s.replace("**", "^").replace("²", "^2").replace("³", "^3").replace("ⁿ", "^n")
    s = s.replace("log(n)", "logn").replace("ln(n)", "logn").replace("lnn", "logn")
    s = s.replace("log2n", "logn").replace("lgn", "logn")
    s = re.sub(r"[\s*·⋅×]", "", s)
    return s.replace("ln", "log")


def parse_class(name: str) -> str:
    """The canonical name of a complexity class, from any usual spelling.

    Raises :class:`~hakaru.errors.ConfigError` naming the valid classes otherwise.

    >>> parse_class("n^2"), parse_class("O(n log n)"), parse_class("2**n")
    ('n²', 'n log n', '2ⁿ')
    """
    canonical = _ALIASES.get(_compact(name))
    if canonical is None:
        raise ConfigError(
            f"unknown complexity class {name!r}. Use one of: {', '.join(CLASSES)} "
            "(ASCII spellings such as n^2, nlogn, 2^n also work)"
        )
    return canonical


def parse_classes(names: Iterable[str]) -> tuple[str, ...]:
    """Canonical names of several classes, deduplicated, in :data:`CLASSES` order.

    >>> parse_classes(["n^2", "n", "n"])
    ('n', 'n²')
    """
    chosen = {parse_class(n) for n in names}
    if not chosen:
        raise ConfigError(f"no complexity class given. Use some of: {', '.join(CLASSES)}")
    return tuple(c for c in CLASSES if c in chosen)


def class_terms(name: str) -> tuple[int, int, bool]:
    """(power of n, power of log n, has a 2ⁿ factor) of a canonical class name."""
    return _TERMS[name]


def log_growth(name: str, n: ArrayLike) -> Array:
    """``log g(n)`` of class ``name`` (natural log), elementwise; shape of ``n``.

    ``-inf`` where g(n) = 0 (``log n`` at n = 1) and ``nan`` where g is undefined or negative
    (a log factor at n < 1).

    >>> float(log_growth("2ⁿ", 1e6)) == 1e6 * math.log(2)
    True
    """
    x = np.asarray(n, dtype=np.float64)
    power, log_power, exponential = _TERMS[name]
    out = np.zeros_like(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        if power:
            out = out + power * np.log(x)
        if log_power:
            out = out + log_power * np.log(np.log(x))
    if exponential:
        out = out + x * math.log(2.0)
    return np.where(x > 0, out, np.nan)
