"""Asymptotic analysis: fit complexity classes, compare two variants, check claimed improvements.

:func:`fit_series` chooses the class of a measured cost among ``1``, ``log n``, ``n``,
``n log n``, ``n²``, ``n² log n``, ``n³``, ``2ⁿ`` (fitted on log scale, selected by AICc, BIC or
leave-one-out error) and extrapolates with a prediction interval.

>>> from hakaru.analysis import fit_series
>>> fit_series([8, 16, 32, 64], [5 * n**3 for n in (8, 16, 32, 64)]).complexity
'n³'

Nothing heavy is imported here: the names below load their module (and numpy) on first use,
so that :mod:`hakaru.analysis.proportions` (pure Python) stays light; scipy loads inside the
functions that need it. docs/fit.md has the method and the benchmark against the PyPI package
big-o.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hakaru.analysis.classes import CLASSES, log_growth, parse_class, parse_classes
    from hakaru.analysis.fit import fit_series
    from hakaru.analysis.result import CRITERIA, ClassFit, Criterion, FitResult

_HOME = {
    **dict.fromkeys(("CLASSES", "log_growth", "parse_class", "parse_classes"), "classes"),
    "fit_series": "fit",
    **dict.fromkeys(("CRITERIA", "ClassFit", "Criterion", "FitResult"), "result"),
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"hakaru.analysis.{_HOME[name]}"), name)
    raise AttributeError(f"module 'hakaru.analysis' has no attribute {name!r}")


__all__ = [
    "CLASSES",
    "CRITERIA",
    "ClassFit",
    "Criterion",
    "FitResult",
    "fit_series",
    "log_growth",
    "parse_class",
    "parse_classes",
]
