"""Proportions and paired differences: the Wilson interval, and a paired test on the same items.

:func:`wilson` is the Wilson score interval of a binomial proportion. :func:`paired_difference`
compares two per-item series measured on the *same* items (tasks answered by two policies):
the mean of the item-wise differences, its normal-approximation interval and the two-sided
p-value of "no difference" (a paired z-test; with hundreds of items it equals the paired t-test
to the digits shown). Pairing removes the between-item variance — task difficulty — that two
independent intervals would carry twice.

>>> d = paired_difference([1, 1, 0, 1] * 50, [1, 0, 0, 1] * 50)
>>> round(d.mean, 3), d.n, d.p_value < 0.001
(0.25, 200, True)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from hakaru.errors import ConfigError

__all__ = ["PairedDifference", "paired_difference", "wilson"]


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion.

    >>> [round(x, 4) for x in wilson(998, 1000)]
    [0.9927, 0.9995]
    >>> [round(x, 4) for x in wilson(0, 0)]
    [0.0, 1.0]
    """
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence is {confidence}. Give a level in (0, 1), e.g. 0.95.")
    if n == 0:
        return 0.0, 1.0
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2.0)
    phat = successes / n
    denom = 1.0 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * math.sqrt(phat * (1.0 - phat) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class PairedDifference:
    """Mean of a − b over paired items, its interval and the p-value of a zero mean."""

    mean: float
    low: float
    high: float
    p_value: float
    n: int


def paired_difference(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95
) -> PairedDifference:
    """The paired comparison of ``a`` and ``b`` (same items, same order); see the module
    docstring."""
    if len(a) != len(b):
        raise ConfigError(f"{len(a)} items against {len(b)}. Pair every item once.")
    if len(a) < 2:
        raise ConfigError(f"{len(a)} paired items. Give at least 2.")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence is {confidence}. Give a level in (0, 1), e.g. 0.95.")
    d = [float(x) - float(y) for x, y in zip(a, b, strict=True)]
    mean = statistics.fmean(d)
    se = statistics.stdev(d) / math.sqrt(len(d))
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = (1.0 if mean == 0 else 0.0) if se == 0 else math.erfc(abs(mean / se) / math.sqrt(2))
    return PairedDifference(mean, mean - z * se, mean + z * se, p, len(d))
