"""fit_series: exact and noisy recovery, ambiguity, errors (full text), intervals, 2ⁿ in logs."""

from __future__ import annotations

import doctest
import importlib
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from hakaru.analysis import CLASSES, fit_series, log_growth, parse_class
from hakaru.errors import ConfigError

DOUBLING = [2.0**k for k in range(3, 11)]  # 8..1024
LINEAR = [float(v) for v in range(10, 101, 10)]  # 10..100
SMALL = [float(v) for v in range(4, 21, 2)]  # 4..20


def series(
    cls: str, n: list[float], c: float = 3.0, noise: float = 0.0, seed: int = 0
) -> list[float]:
    rng = np.random.default_rng(seed)
    ly = math.log(c) + log_growth(cls, n) + noise * rng.standard_normal(len(n))
    return list(np.exp(ly))


@pytest.mark.parametrize("criterion", ["aicc", "bic", "loo"])
@pytest.mark.parametrize("cls", CLASSES)
def test_exact_recovery_of_every_class(cls: str, criterion: str) -> None:
    for n in [SMALL, LINEAR] if cls == "2ⁿ" else [DOUBLING, LINEAR, SMALL]:
        fit = fit_series(n, series(cls, n, c=7.5), criterion=criterion)
        assert fit.complexity == cls
        assert fit.constant == pytest.approx(7.5, rel=1e-9)
        assert fit.offset is None
        assert not fit.ambiguous
        assert fit.warnings == ()
        assert fit.runner_up is not None and fit.runner_up.complexity != cls


@pytest.mark.parametrize("cls", [c for c in CLASSES if c != "1"])
def test_exact_recovery_with_a_constant_term(cls: str) -> None:
    n = SMALL if cls == "2ⁿ" else DOUBLING
    y = [30.0 * math.exp(float(g)) + 40.0 for g in log_growth(cls, n)]
    fit = fit_series(n, y)
    assert fit.complexity == cls
    assert fit.constant == pytest.approx(30.0, rel=1e-5)
    assert fit.offset == pytest.approx(40.0, rel=1e-4)
    assert fit.best.formula().endswith(" + 40")


def test_recovery_at_ten_percent_noise() -> None:
    hits = total = 0
    for i, cls in enumerate(CLASSES):
        for n in [SMALL, LINEAR] if cls == "2ⁿ" else [DOUBLING, LINEAR]:
            for seed in range(15):
                fit = fit_series(
                    n, series(cls, n, c=10 ** (seed % 4), noise=0.1, seed=100 * i + seed)
                )
                hits += fit.complexity == cls
                total += 1
    assert hits / total >= 0.95


def test_ambiguous_pair_is_flagged_with_its_warning() -> None:
    # 10 % noise on n log n over 20..40: the data cannot tell n log n from n.
    n = [20, 24, 28, 32, 36, 40]
    fit = fit_series(n, [73.5, 59.1, 97.3, 104.8, 123.3, 144.4])
    assert (fit.complexity, fit.runner_up and fit.runner_up.complexity) == ("n", "n log n")
    assert fit.ambiguous and fit.delta == pytest.approx(0.108, abs=1e-3)
    assert fit.warning == (
        "Ambiguous: 'n' and 'n log n' fit nearly equally well (ΔAICc = 0.108 < 2). "
        "Measure a wider range of sizes (largest/smallest is 2x now) or more repeats to tell "
        "them apart."
    )
    loo = fit_series(n, [73.5, 59.1, 97.3, 104.8, 123.3, 144.4], criterion="loo")
    assert loo.ambiguous and loo.delta is not None and loo.delta < 1.1
    assert "LOO error ratio" in (loo.warning or "")


def test_constant_series_is_class_1_with_undefined_r2() -> None:
    fit = fit_series([1, 2, 4, 8, 16], [7, 7, 7, 7, 7])
    assert (fit.complexity, fit.r2, fit.offset) == ("1", None, None)
    assert fit.constant == pytest.approx(7.0)
    assert fit.predict(1e9) == pytest.approx(7.0)


def test_repeats_are_fitted_as_points() -> None:
    n = [8, 8, 16, 16, 32, 32, 64, 64]
    y = [64 * 1.1, 64 / 1.1, 256 * 1.1, 256 / 1.1, 1024 * 1.1, 1024 / 1.1, 4096 * 1.1, 4096 / 1.1]
    fit = fit_series(n, y)
    assert fit.complexity == "n²" and fit.constant == pytest.approx(1.0)
    assert fit.spread == pytest.approx(math.log(1.1) * math.sqrt(8 / 7))
    assert fit.to_dict()["distinct_n"] == 4 and fit.to_dict()["points"] == 8


def test_nonpositive_rows_are_dropped_with_a_warning() -> None:
    fit = fit_series([0, 8, 16, 32, 64, 128], [5, 16, 0, 64, -3, 256])
    assert fit.complexity == "n" and fit.dropped == 3
    assert fit.x == (8.0, 32.0, 128.0)
    assert fit.warnings[0] == (
        "Ignored 3 of 6 rows with n <= 0 or y <= 0 (a log-scale fit needs positive values)."
    )
    assert fit.warnings[1].startswith("Only 3 points: AICc is undefined")


def test_too_few_distinct_sizes_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        fit_series([8, 8, 16, 16], [1, 2, 3, 4])
    assert str(err.value) == (
        "too few points to fit a complexity class: 2 distinct sizes. Measure at least 3 "
        "different sizes (6 or more, spread over 10x or more, to tell classes apart)"
    )
    with pytest.raises(ConfigError) as err:
        fit_series([8, 16, 32], [1, 0, 3])
    assert str(err.value) == (
        "too few points to fit a complexity class: 2 distinct sizes with n > 0 and y > 0 "
        "(of 3 rows). Measure at least 3 different sizes (6 or more, spread over 10x or more, "
        "to tell classes apart)"
    )


def test_other_input_errors() -> None:
    cases: list[tuple[dict[str, object], str]] = [
        (
            {"x": [1, 2, 3], "y": [1, 2]},
            "x and y must be flat sequences of the same length, got 3 and 2 values. "
            "Pass one y per x (repeat an x for repeated measurements)",
        ),
        (
            {"x": [1, 2, 3], "y": [1, float("nan"), 3]},
            "point 2 is not finite (n=2, y=nan). Remove it or replace it with a measured value",
        ),
        (
            {"x": [1, 2, 3], "y": [1, 2, 3], "criterion": "aic"},
            "unknown criterion 'aic'. Use one of: aicc, bic, loo",
        ),
        (
            {"x": [1, 2, 3], "y": [1, 2, 3], "classes": ["n^4"]},
            "unknown complexity class 'n^4'. Use one of: 1, log n, n, n log n, n², n² log n, "
            "n³, 2ⁿ (ASCII spellings such as n^2, nlogn, 2^n also work)",
        ),
        (
            {"x": [0.1, 0.2, 0.5], "y": [1, 2, 3], "classes": ["log n"]},
            "none of the classes log n can be fitted to these sizes. Sizes below 1 rule out the "
            "classes with a log factor; add others",
        ),
    ]
    for kwargs, message in cases:
        with pytest.raises(ConfigError) as err:
            fit_series(**kwargs)  # type: ignore[arg-type]
        assert str(err.value) == message
    fit = fit_series([1, 2, 3, 4], [1, 2, 3, 4])
    with pytest.raises(ConfigError, match=r"^level must be between 0 and 1 \(e.g. 0.9\), got 1$"):
        fit.predict_interval(10, level=1.0)


def test_sizes_below_one_skip_log_classes_and_n_equal_one_uses_the_offset() -> None:
    fit = fit_series([0.25, 0.5, 1, 2, 4], [0.25, 0.5, 1, 2, 4])
    assert fit.complexity == "n"
    assert fit.scores["log n"] is None
    assert "Classes log n, n log n, n² log n need n >= 1" in (fit.warning or "")
    n = [1, 2, 4, 8, 16, 32, 64]
    fit = fit_series(n, [5 * math.log(k) + 2 for k in n])
    assert fit.complexity == "log n" and fit.offset == pytest.approx(2.0, rel=1e-4)


def test_class_restriction_and_aliases() -> None:
    n = DOUBLING
    fit = fit_series(n, series("n² log n", n), classes=["n^2", "n^3"])
    assert set(fit.scores) == {"n²", "n³"}
    assert fit.complexity in {"n²", "n³"}
    assert [parse_class(s) for s in ["O(1)", "logn", "n*log(n)", "N^2 log N", "n**3", "2^n"]] == [
        "1",
        "log n",
        "n log n",
        "n² log n",
        "n³",
        "2ⁿ",
    ]


def test_exponential_never_overflows() -> None:
    fit = fit_series(SMALL, series("2ⁿ", SMALL, c=0.5))
    assert fit.complexity == "2ⁿ"
    assert fit.predict_log(1e6) == pytest.approx(math.log(0.5) + 1e6 * math.log(2))
    assert fit.predict(1e6) == math.inf
    low, high = fit.predict_interval(1e6)
    assert low == high == math.inf
    assert json.loads(json.dumps(fit.to_dict()))["class"] == "2ⁿ"


def test_prediction_interval_covers_at_the_nominal_rate() -> None:
    rng = np.random.default_rng(2024)
    n = [8.0, 16.0, 32.0, 64.0, 128.0, 256.0]
    covered = trials = 0
    for _ in range(300):
        y = np.exp(math.log(2.0) + 2 * np.log(n) + 0.1 * rng.standard_normal(len(n)))
        fit = fit_series(n, list(y))
        new = 2.0 * 2048.0**2 * math.exp(0.1 * rng.standard_normal())
        low, high = fit.predict_interval(2048.0, level=0.9)
        covered += low <= new <= high
        trials += 1
    assert 0.85 <= covered / trials <= 0.95


def test_to_dict_keys() -> None:
    d = fit_series(DOUBLING, series("n", DOUBLING)).to_dict()
    assert {
        "class",
        "constant",
        "offset",
        "r2",
        "r2_scale",
        "runner_up",
        "runner_up_score",
        "ambiguous",
        "warning",
        "scores",
        "spread",
        "n_min",
        "n_max",
        "criterion",
    } <= set(d)
    assert d["r2_scale"] == "log" and set(d["scores"]) == set(CLASSES)


def test_import_does_not_load_scipy() -> None:
    code = "import sys, hakaru.analysis, hakaru.analysis.compare, hakaru.analysis.claims; "
    code += "print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "name",
    [
        "hakaru.analysis",
        "hakaru.analysis.classes",
        "hakaru.analysis.fit",
        "hakaru.analysis.result",
        "hakaru.analysis.robustness",
        "hakaru.analysis.compare",
        "hakaru.analysis.claims",
        "hakaru.analysis.data",
    ],
)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_prediction_band_is_the_pointwise_interval() -> None:
    rng = np.random.default_rng(3)
    n = DOUBLING
    y = [(2 * k + 30) * math.exp(0.05 * rng.standard_normal()) for k in n]
    for fit in (fit_series(n, y), fit_series(n, y, offset=False)):
        grid = np.array([8.0, 100.0, 1e4, 1e6])
        low, high = fit.best.predict_interval(grid, level=0.8)
        assert low.shape == high.shape == (4,)
        for i, x in enumerate(grid):
            assert (low[i], high[i]) == pytest.approx(fit.predict_interval(float(x), level=0.8))
        assert np.all(low < fit.best.predict(grid)) and np.all(fit.best.predict(grid) < high)


def test_interval_with_a_constant_term_covers_at_the_nominal_rate_given_the_class() -> None:
    rng = np.random.default_rng(11)
    n = np.array([8.0, 16.0, 32.0, 64.0, 128.0, 256.0])
    covered = 0
    for _ in range(300):
        y = (2 * n + 30) * np.exp(0.1 * rng.standard_normal(len(n)))
        fit = fit_series(n, list(y), classes=["n"])
        new = (2 * 2048 + 30) * math.exp(0.1 * rng.standard_normal())
        low, high = fit.predict_interval(2048.0)
        covered += low <= new <= high
    assert 0.85 <= covered / 300 <= 0.95


def test_ambiguous_fit_widens_the_interval_to_the_close_classes() -> None:
    fit = fit_series([20, 24, 28, 32, 36, 40], [73.5, 59.1, 97.3, 104.8, 123.3, 144.4])
    assert [c.complexity for c in fit.close_candidates][:1] == ["n log n"]
    low, high = fit.predict_interval(1e4)
    for model in (fit.best, *fit.close_candidates):
        lo, hi = model.predict_interval(1e4)
        assert low <= lo and hi <= high
    assert fit_series(DOUBLING, series("n", DOUBLING)).close_candidates == ()
