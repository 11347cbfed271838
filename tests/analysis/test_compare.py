"""compare, crossovers, predictions, the ratio's class from two fits, and claims checked."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hakaru.analysis import fit_series
from hakaru.analysis.claims import PAPER_CLAIMS, check_claim, claim_table, claimed_class
from hakaru.analysis.compare import compare, crossovers, predict
from hakaru.analysis.ratio import quotient, ratio_class
from hakaru.errors import ConfigError

N = [8.0, 16.0, 32.0, 64.0, 128.0, 256.0]


def test_crossover_of_constructed_curves() -> None:
    # 100·n and n² cross at n = 100; beyond it the linear variant is cheaper.
    c = compare((N, [100 * n for n in N]), (N, [n * n for n in N]), labels=("lin", "quad"))
    assert c.crossovers == (pytest.approx(100.0, rel=1e-9),)
    assert c.crossover == pytest.approx(100.0, rel=1e-9)
    assert c.cheaper_at_large_n == "lin"
    # The ratio keeps the order given (lin/quad) and falls as 1/n: quad costs more and more.
    assert (c.ratio.complexity, c.ratio_of, c.ratio.direction) == ("1/n", ("lin", "quad"), -1)
    assert c.ratio.constant == pytest.approx(100.0)
    assert c.direction() == "quad costs more and more as n grows (lin/quad falls as 1/n)"


def test_crossover_of_curves_with_constant_terms() -> None:
    # 5·n + 500 and n²/2 + 10 cross where n² − 10n − 980 = 0, at n = 5 + √1005.
    a = fit_series(N, [5 * n + 500 for n in N])
    b = fit_series(N, [n * n / 2 + 10 for n in N])
    assert (a.complexity, b.complexity) == ("n", "n²")
    assert crossovers(a, b) == (pytest.approx(5 + math.sqrt(1005), rel=1e-4),)


def test_two_crossings_and_no_crossing() -> None:
    # 2ⁿ/1000 against 10·n²: 10n² < 2ⁿ/1000 for small n (n = 1), not in between, again later.
    small = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    a = fit_series(small, [2**n / 1000 for n in small], classes=["2^n"])
    b = fit_series(small, [10 * n * n for n in small], classes=["n^2"])
    found = crossovers(a, b, (0.01, 100.0))
    assert len(found) == 2
    for x in found:
        assert x * math.log(2) - math.log(1000) == pytest.approx(math.log(10 * x * x), abs=1e-8)
    c = compare((N, [3 * n for n in N]), (N, [5 * n for n in N]))
    assert c.crossover is None and c.crossovers == ()
    assert (c.ratio.complexity, c.ratio.label) == ("1", "1, → 0.6")
    assert c.notes == (
        "The fitted curves do not cross between n = 1 and 1e+09: a is cheaper throughout.",
    )


def test_predictions_at_a_named_size_with_intervals() -> None:
    rng = np.random.default_rng(5)
    ya = [2 * n * n * math.exp(0.05 * rng.standard_normal()) for n in N]
    yb = [30 * n * math.exp(0.05 * rng.standard_normal()) for n in N]
    c = compare((N, ya), (N, yb), labels=("optimistic", "optimized"), at=[1e6], level=0.9)
    (p,) = c.predictions
    assert p.a.low < p.a.value < p.a.high
    assert p.b.low < p.b.value < p.b.high
    assert p.a.value == pytest.approx(2e12, rel=0.3)
    assert p.b.value == pytest.approx(3e7, rel=0.3)
    assert p.ratio.value == pytest.approx(p.a.value / p.b.value, rel=1e-9)
    assert p.a.low / p.b.high == pytest.approx(p.ratio.low) and p.ratio.high > p.ratio.value
    payload = json.loads(json.dumps(c.to_dict()))
    assert payload["ratio_class"] == "n" and payload["crossover"] == pytest.approx(15, rel=0.3)
    assert set(payload["predictions"][0]) == {"n", "optimistic", "optimized", "ratio"}


def test_prediction_past_the_float_range_is_reported_in_log10() -> None:
    fit = fit_series([4, 6, 8, 10, 12], [3 * 2**n for n in (4, 6, 8, 10, 12)])
    p = predict(fit, 1e6)
    assert p.value == math.inf and p.to_dict()["value"] is None
    assert p.log10_value == pytest.approx(1e6 * math.log10(2) + math.log10(3))


def test_the_ratio_needs_no_shared_sizes() -> None:
    # The class comes from the two fits, so the series need not share sizes (here one does).
    c = compare(([1, 2, 3, 4], [1, 2, 3, 4]), ([4, 8, 16, 32], [v * v for v in (4, 8, 16, 32)]))
    assert (c.a.complexity, c.b.complexity, c.ratio.complexity) == ("n", "n²", "1/n")
    assert c.measured_ratio == ((4.0, pytest.approx(0.25)),)
    with pytest.raises(ConfigError, match="a must be a FitResult or a pair"):
        compare("nonsense", ([1, 2, 3], [1, 2, 3]))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="0 < low < high"):
        crossovers(c.a, c.b, (10.0, 1.0))


def test_paper_claims_map_to_classes() -> None:
    assert {name: claimed_class(c.claim, c.variable)[0] for name, c in PAPER_CLAIMS.items()} == {
        "routing": "n",
        "debugging": "n²",
        "evolution": "2ⁿ",
    }
    assert claimed_class("b·k²", "b") == ("n", "")
    assert claimed_class("Θ(k log k)", "k") == ("n log n", "")
    assert claimed_class("k^1.5", "k") == (
        None,
        "k^1.5 in k is not one of the classes 1, log n, n, n log n, n², n² log n, n³, 2ⁿ",
    )
    with pytest.raises(ConfigError, match=r"^cannot read the claim 'k\+1' \(at 'k\+1'\)"):
        claimed_class("k+1", "k")


def test_claim_verdicts() -> None:
    k = [2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
    linear = fit_series(k, [3 * v for v in k])
    assert check_claim("k", linear, variable="k").verdict == "agrees"
    assert check_claim("k^2", linear, variable="k").verdict == "disagrees"
    assert check_claim("k^1.5", linear, variable="k").verdict == "not comparable"
    ambiguous = fit_series([20, 24, 28, 32, 36, 40], [73.5, 59.1, 97.3, 104.8, 123.3, 144.4])
    check = check_claim("k log k", ambiguous, variable="k")
    assert (check.verdict, check.measured) == ("consistent", "n")
    assert check.note == "measured n, but n log n fits nearly as well"


def test_claim_table_for_the_paper_examples() -> None:
    k = [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    rows = claim_table(
        [
            ("routing", fit_series(k, [4.0 * v for v in k])),
            ("debugging", fit_series(k, [0.5 * v * v for v in k])),
            ("evolution", fit_series(k, [v * 2**v for v in k])),
        ]
    )
    assert [(r.label, r.expected, r.measured, r.verdict) for r in rows] == [
        ("routing", "n", "n", "agrees"),
        ("debugging", "n²", "n²", "agrees"),
        ("evolution", "2ⁿ", "2ⁿ", "agrees"),
    ]
    assert rows[2].note.startswith("2^k·k is reported as 2ⁿ")
    with pytest.raises(ConfigError) as err:
        claim_table([("sorting", rows and fit_series(k, k))])
    assert str(err.value) == (
        "no claim is recorded for workload 'sorting'. Known: routing, debugging, evolution"
    )


# -- the ratio's class comes from the two fitted curves (issue 16, item 1) ------------------------

DOUBLING = [8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0]


def test_a_ratio_that_levels_off_is_a_constant_with_its_limit() -> None:
    # tree-sum's two designs in the demo: single 560·n + 1.61e4 against tree 44.39·n. Their
    # pointwise ratio falls towards 12.6; a fit of that series invents a class (log n, for the
    # inverse ratio) and extrapolates it wrongly.
    single = [560 * n + 16_100 for n in DOUBLING]
    tree = [44.39 * n for n in DOUBLING]
    c = compare((DOUBLING, single), (DOUBLING, tree), labels=("single", "tree"), at=[1e9])
    assert (c.a.complexity, c.b.complexity) == ("n", "n")
    assert c.ratio_of == ("single", "tree")  # original/optimized, never flipped
    assert (c.ratio.complexity, c.ratio.direction) == ("1", 0)
    assert c.ratio.limit == pytest.approx(560 / 44.39, rel=1e-3)
    assert c.ratio.label == "1, → 12.6"
    (p,) = c.predictions
    assert p.ratio.value == pytest.approx(560 / 44.39, rel=1e-3)  # from the two fits
    assert c.direction() == "tree is cheaper by a factor that tends to 12.6 (single/tree → 12.6)"
    payload = json.loads(json.dumps(c.to_dict()))
    assert payload["ratio_class"] == "1" and payload["ratio_limit"] == pytest.approx(12.615, 1e-3)


def test_a_quadratic_over_n_log_n_is_n_over_log_n() -> None:
    # sort's two designs: single n² + c against merge n log n. The quotient of the fitted
    # curves is n/log n; the pointwise ratio's own fit said n log n, faster than either implies.
    single = [121 * n * n + 25_930 for n in DOUBLING]
    merge = [218.2 * n * math.log(n) for n in DOUBLING]
    c = compare((DOUBLING, single), (DOUBLING, merge), labels=("single", "merge"))
    assert (c.a.complexity, c.b.complexity, c.ratio.complexity) == ("n²", "n log n", "n/log n")
    assert c.ratio.constant == pytest.approx(121 / 218.2, rel=1e-6)
    assert c.ratio_of == ("single", "merge") and c.ratio.direction == 1


def test_quotients_of_every_class_pair() -> None:
    assert quotient("n³", "n") == "n²" and quotient("n log n", "n²") == "log n/n"
    assert quotient("1", "n² log n") == "1/(n² log n)" and quotient("n", "2ⁿ") == "1/2ⁿ"
    k = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    both = ratio_class(
        fit_series(k, [3 * 2**v for v in k], classes=["2^n"]),
        fit_series(k, [v * 2**v for v in k], classes=["2^n"]),
    )
    assert (both.complexity, both.determined) == ("unresolved", False)
    check = check_claim("2^k·k", both, variable="k")
    assert check.verdict == "not comparable" and "ratio's class is unknown" in check.note


def test_a_claim_is_checked_against_the_derived_class() -> None:
    k = [2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
    c = compare((k, [3 * v**3 for v in k]), (k, [5 * v for v in k]))
    assert check_claim("b·k²", c.ratio, variable="k").verdict == "agrees"
    assert check_claim("k", c.ratio, variable="k").verdict == "disagrees"
    falling = compare((k, [5 * v for v in k]), (k, [3 * v**3 for v in k]))
    assert check_claim("k", falling.ratio, variable="k").measured == "1/n²"
