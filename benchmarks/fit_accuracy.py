"""Fit accuracy: share of generated series classified correctly, hakaru vs the PyPI package big-o.

Two generated suites, every series seen by every fitter:

- ``pure`` (the acceptance suite) — y = c·g(n)·exp(σ·Z), Z ~ N(0, 1): every class of
  :data:`hakaru.analysis.CLASSES`, c drawn log-uniformly from [1, 1000], multiplicative lognormal
  noise σ ∈ {0, 0.05, 0.10, 0.20} (σ of log y, ≈ the coefficient of variation);
- ``overhead`` — y = (c·g(n) + d)·exp(σ·Z): a fixed cost d on top (a system prompt, a final
  call), d making up a share drawn uniformly from 20–80 % of the cost at the smallest size, capped
  at half the leading term at the largest size (beyond that no fitter can tell the class); every
  class but ``1``.

Size ranges (one measurement per size):

- ``8..1024 x2``  — 8, 16, …, 1024 (8 sizes), the usual sweep; every class but 2ⁿ (2¹⁰²⁴
  overflows a float, so big-o could not be given the series);
- ``10..100 +10`` — 10, 20, …, 100 (10 sizes), a narrow linear range;
- ``4..20 +2``    — 4, 6, …, 20 (9 sizes), small sizes as exponential workloads allow.

Fitters: ``hakaru`` (``fit_series`` defaults: AICc, constant term allowed), ``lead-only``
(hakaru with ``offset=False``) and ``big-o`` (``big_o.infer_big_o_class``, all its classes,
default simplicity bias). big-o's names map to ours as Constant → 1, Logarithmic → log n,
Linear → n, Linearithmic → n log n, Quadratic → n², Cubic → n³, Exponential (a·bⁿ, any base)
→ 2ⁿ, and Polynomial (a·n^b) → the power class nearest to b (0, 1, 2, 3 → 1, n, n², n³; other
exponents are misses) — generous to big-o. It has no n² log n, so those series count as misses
for it; the ``common`` columns leave them out for every fitter.

Seeded: the same command prints the same table.
Run: ``python benchmarks/fit_accuracy.py [--per-cell 50] [--seed 7] [--by-class] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hakaru.analysis import CLASSES, fit_series, log_growth

NOISE = (0.0, 0.05, 0.10, 0.20)
RANGES: dict[str, list[float]] = {
    "8..1024 x2": [2.0**k for k in range(3, 11)],
    "10..100 +10": [float(v) for v in range(10, 101, 10)],
    "4..20 +2": [float(v) for v in range(4, 21, 2)],
}
SKIP = {("2ⁿ", "8..1024 x2")}  # 2^1024 overflows a float
SUITES = ("pure", "overhead")
FITTERS = ("hakaru", "lead-only", "big-o")
BIG_O_CANNOT = {"n² log n"}
BIG_O_NAMES = {
    "Constant": "1",
    "Logarithmic": "log n",
    "Linear": "n",
    "Linearithmic": "n log n",
    "Quadratic": "n²",
    "Cubic": "n³",
    "Exponential": "2ⁿ",
}
POWERS = {0: "1", 1: "n", 2: "n²", 3: "n³"}


@dataclass(frozen=True)
class Case:
    suite: str
    complexity: str
    size_range: str
    noise: float
    n: list[float]
    y: list[float]


def generate(suite: str, per_cell: int, seed: int) -> list[Case]:
    """per_cell series for every (class, range, noise level) of a suite, in a fixed order."""
    rng = np.random.default_rng([seed, SUITES.index(suite)])
    cases = []
    for noise in NOISE:
        for complexity in CLASSES:
            if suite == "overhead" and complexity == "1":
                continue
            for name, n in RANGES.items():
                if (complexity, name) in SKIP:
                    continue
                g = np.exp(log_growth(complexity, n))
                for _ in range(per_cell):
                    c = 10.0 ** rng.uniform(0.0, 3.0)
                    d = 0.0
                    if suite == "overhead":
                        share = rng.uniform(0.2, 0.8)  # of the cost at the smallest size
                        d = min(c * g[0] * share / (1.0 - share), c * g[-1] / 2.0)
                    y = (c * g + d) * np.exp(noise * rng.standard_normal(len(n)))
                    cases.append(Case(suite, complexity, name, noise, n, y.tolist()))
    return cases


def big_o_class(n: list[float], y: list[float]) -> str | None:
    """big-o's class for the series, mapped to ours (module docstring); None: no counterpart."""
    import big_o

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best, _ = big_o.infer_big_o_class(np.array(n), np.array(y))
    name = type(best).__name__
    if name == "Polynomial":
        exponent = float(best.coefficients()[1])
        return POWERS.get(round(exponent)) if -0.5 < exponent < 3.5 else None
    return BIG_O_NAMES.get(name)


def fitters(criterion: str) -> dict[str, Callable[[list[float], list[float]], str | None]]:
    return {
        "hakaru": lambda n, y: fit_series(n, y, criterion=criterion).complexity,
        "lead-only": lambda n, y: fit_series(n, y, criterion=criterion, offset=False).complexity,
        "big-o": big_o_class,
    }


def run(per_cell: int, seed: int, criterion: str) -> dict[str, Any]:
    tools = fitters(criterion)
    seconds = dict.fromkeys(FITTERS, 0.0)
    # (suite, fitter, noise, class, range) -> [hits, series]
    hits: dict[tuple[str, str, float, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for suite in SUITES:
        for case in generate(suite, per_cell, seed):
            for tool, fit in tools.items():
                t0 = time.perf_counter()
                guess = fit(case.n, case.y)
                seconds[tool] += time.perf_counter() - t0
                cell = hits[(suite, tool, case.noise, case.complexity, case.size_range)]
                cell[0] += guess == case.complexity
                cell[1] += 1

    def share(suite: str, tool: str, noise: float, keep: Callable[[str, str], bool]) -> float:
        got = total = 0
        for (s, t, nz, cls, rng), (h, m) in hits.items():
            if (s, t, nz) == (suite, tool, noise) and keep(cls, rng):
                got, total = got + h, total + m
        return got / total if total else math.nan

    def everything(c: str, r: str) -> bool:
        return True

    def common(c: str, r: str) -> bool:
        return c not in BIG_O_CANNOT

    suites: dict[str, list[dict[str, Any]]] = {}
    for suite in SUITES:
        suites[suite] = [
            {
                "noise": noise,
                "series": sum(
                    m
                    for (s, t, nz, _, _), (_, m) in hits.items()
                    if (s, t, nz) == (suite, "hakaru", noise)
                ),
                "all": {t: share(suite, t, noise, everything) for t in FITTERS},
                "common": {t: share(suite, t, noise, common) for t in FITTERS},
                "by_range": {
                    name: {
                        t: share(suite, t, noise, lambda c, r, name=name: r == name)
                        for t in FITTERS
                    }
                    for name in RANGES
                },
                "by_class": {
                    cls: {t: share(suite, t, noise, lambda c, r, k=cls: c == k) for t in FITTERS}
                    for cls in CLASSES
                },
            }
            for noise in NOISE
        ]
    return {
        "per_cell": per_cell,
        "seed": seed,
        "criterion": criterion,
        "ranges": {name: [n[0], n[-1], len(n)] for name, n in RANGES.items()},
        "seconds": seconds,
        "suites": suites,
    }


def print_table(result: dict[str, Any], by_class: bool) -> None:
    def pct(v: float) -> str:
        return "   n/a" if math.isnan(v) else f"{v:6.1%}"

    print(
        f"fit accuracy: seed {result['seed']}, {result['per_cell']} series per "
        f"(class, range, noise), criterion {result['criterion']}"
    )
    for suite, rows in result["suites"].items():
        print(f"\nsuite {suite}: share classified correctly")
        print("noise  series   hakaru lead-only   big-o  |  common: hakaru lead-only   big-o")
        for row in rows:
            a, c = row["all"], row["common"]
            print(
                f"{row['noise']:4.0%}  {row['series']:6d}   {pct(a['hakaru'])}    "
                f"{pct(a['lead-only'])}  {pct(a['big-o'])}  |          {pct(c['hakaru'])}    "
                f"{pct(c['lead-only'])}  {pct(c['big-o'])}"
            )
        print("by size range (hakaru / big-o):")
        print("noise " + "".join(f"{name:>19}" for name in RANGES))
        for row in rows:
            cells = [f"{pct(v['hakaru'])} / {pct(v['big-o'])}" for v in row["by_range"].values()]
            print(f"{row['noise']:4.0%}  " + "".join(f"{c:>19}" for c in cells))
        if by_class:
            print("by class (hakaru / lead-only / big-o):")
            for row in rows:
                parts = [
                    f"{cls} {pct(v['hakaru']).strip()}/{pct(v['lead-only']).strip()}/"
                    f"{pct(v['big-o']).strip()}"
                    for cls, v in row["by_class"].items()
                    if not math.isnan(v["hakaru"])
                ]
                print(f"  {row['noise']:4.0%}: " + ", ".join(parts))
    s = result["seconds"]
    print(
        f"\nfit time: hakaru {s['hakaru']:.1f} s, lead-only {s['lead-only']:.1f} s, "
        f"big-o {s['big-o']:.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--per-cell", type=int, default=50, help="series per (class, range, noise level)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--criterion", default="aicc", choices=["aicc", "bic", "loo"])
    parser.add_argument("--by-class", action="store_true", help="also print per-class shares")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = run(args.per_cell, args.seed, args.criterion)
    if args.json:
        json.dump(result, sys.stdout, sort_keys=True)
        print()
    else:
        print_table(result, args.by_class)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
