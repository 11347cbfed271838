"""Asymptotic analysis: fit complexity classes, compare two variants, check claimed improvements.

:func:`fit_series` chooses the class of a measured cost among ``1``, ``log n``, ``n``,
``n log n``, ``n²``, ``n² log n``, ``n³``, ``2ⁿ`` (fitted on log scale, selected by AICc, BIC or
leave-one-out error) and extrapolates with a prediction interval.

>>> from hakaru.analysis import fit_series
>>> fit_series([8, 16, 32, 64], [5 * n**3 for n in (8, 16, 32, 64)]).complexity
'n³'

Only numpy is imported here; scipy loads inside the functions that need it. docs/fit.md has the
method and the benchmark against the PyPI package big-o.
"""

from hakaru.analysis.classes import CLASSES, log_growth, parse_class, parse_classes
from hakaru.analysis.fit import fit_series
from hakaru.analysis.result import CRITERIA, ClassFit, Criterion, FitResult

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
