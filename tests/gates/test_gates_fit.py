"""Fitting R0, β, F0, α: recovery, interval coverage, profile-likelihood endpoints, CSV errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from hakaru.errors import ConfigError
from hakaru.gates import GateObservation, fit_gate_model, optimize, read_observations

TRUE = {"r0": 0.26, "beta": 3.0, "f0": 100.0, "alpha": 0.3}  # F0 in tasks per hour
STRENGTHS = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
HOURS = 4.0


def simulate(rng: np.random.Generator) -> list[GateObservation]:
    """Completions ~ Poisson(hours·F0·(1 − αg)), rework ~ Binomial(completed, R0·e^(−βg))."""
    done = rng.poisson(HOURS * TRUE["f0"] * (1 - TRUE["alpha"] * STRENGTHS))
    rework = rng.binomial(done, TRUE["r0"] * np.exp(-TRUE["beta"] * STRENGTHS))
    return [
        GateObservation(float(g), int(n), int(y), hours=HOURS)
        for g, n, y in zip(STRENGTHS, done, rework, strict=True)
    ]


def test_intervals_cover_the_true_parameters_at_about_the_nominal_rate() -> None:
    """200 seeded replications; 95 % intervals must cover 90–99 % of the time."""
    rng = np.random.default_rng(5)
    covered = dict.fromkeys(TRUE, 0)
    estimates: dict[str, list[float]] = {k: [] for k in TRUE}
    reps = 200
    for _ in range(reps):
        fit = fit_gate_model(simulate(rng))
        for name, value in TRUE.items():
            est = getattr(fit, name)
            covered[name] += est.low <= value <= est.high
            estimates[name].append(est.value)
    for name in TRUE:
        assert 0.90 * reps <= covered[name] <= 0.99 * reps, (name, covered)
        # and the estimates centre on the truth (within 3 standard errors of the mean)
        values = np.array(estimates[name])
        assert (
            abs(values.mean() - TRUE[name]) < 3 * values.std() / math.sqrt(reps) + 0.01 * TRUE[name]
        ), name


def test_profile_interval_ends_sit_where_the_likelihood_drops_by_chi2_over_2() -> None:
    """Independent check of the profile-likelihood endpoints with scipy's bounded minimiser."""
    from scipy.optimize import minimize_scalar

    rows = simulate(np.random.default_rng(11))
    fit = fit_gate_model(rows, level=0.95)
    g = np.array([r.g for r in rows])
    n = np.array([r.completed for r in rows], dtype=float)
    y = np.array([r.rework for r in rows], dtype=float)

    def loglik(r0: float, beta: float) -> float:
        p = r0 * np.exp(-beta * g)
        if np.any(p >= 1) or r0 <= 0:
            return -math.inf
        return float(np.sum(y * np.log(p) + (n - y) * np.log1p(-p)))

    best = loglik(fit.r0.value, fit.beta.value)
    half_chi2 = 3.841458820694124 / 2
    for beta in (fit.beta.low, fit.beta.high):
        res = minimize_scalar(
            lambda r, beta=beta: -loglik(r, beta),
            bounds=(1e-6, 0.999),
            method="bounded",
            options={"xatol": 1e-10},
        )
        assert best - (-res.fun) == pytest.approx(half_chi2, abs=1e-4)
    for r0 in (fit.r0.low, fit.r0.high):
        res = minimize_scalar(
            lambda b, r0=r0: -loglik(r0, b),
            bounds=(-5, 20),
            method="bounded",
            options={"xatol": 1e-10},
        )
        assert best - (-res.fun) == pytest.approx(half_chi2, abs=1e-4)


def test_exact_data_recover_the_parameters_and_fit_perfectly() -> None:
    rows = []
    for g in (0.0, 0.25, 0.5, 0.75, 1.0):
        done = round(1e6 * (1 - 0.3 * g))
        rows.append(GateObservation(g, done, round(done * 0.26 * math.exp(-3 * g)), hours=1e4))
    fit = fit_gate_model(rows)
    assert fit.r0.value == pytest.approx(0.26, rel=1e-4)
    assert fit.beta.value == pytest.approx(3.0, rel=1e-4)
    assert fit.f0.value == pytest.approx(100.0, rel=1e-6)
    assert fit.alpha.value == pytest.approx(0.3, rel=1e-5)
    assert fit.r2_rework == pytest.approx(1.0, abs=1e-6)
    assert fit.r2_completion == pytest.approx(1.0, abs=1e-6)
    assert optimize(fit.params()).g_star == pytest.approx(
        optimize(fit.params().__class__(r0=0.26, beta=3.0, alpha=0.3)).g_star, abs=1e-3
    )


def test_per_dollar_throughput() -> None:
    rows = [
        GateObservation(0.0, 400, 100, cost=8.0),
        GateObservation(0.5, 340, 20, cost=8.0),
        GateObservation(1.0, 280, 4, cost=8.0),
    ]
    fit = fit_gate_model(rows)
    assert fit.per == "usd"
    assert fit.f0.value == pytest.approx(50.0)  # tasks per dollar at g = 0


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [GateObservation(0.5, 100, 10, hours=1.0), GateObservation(0.5, 90, 5, hours=1.0)],
            "tasks were completed at fewer than two distinct gate strengths, so F0 and alpha "
            "cannot both be estimated. Add observations at another strength",
        ),
        (
            [GateObservation(0.0, 100, 10, hours=1.0), GateObservation(1.0, 90, 0, hours=1.0)],
            "rework was observed at fewer than two distinct gate strengths, so R0 and beta "
            "cannot both be estimated. Add observations (with rework > 0) at another strength",
        ),
        ([], "no observations to fit. Give at least two gate strengths"),
        (
            [GateObservation(0.0, 1, 1, hours=1.0), GateObservation(1.0, 1, 1, hours=1.0)],
            "every completed task needed rework, so R0 cannot be below 1. Check the rework "
            "column: it counts completed tasks later found to need rework",
        ),
    ],
)
def test_fit_errors(rows: list[GateObservation], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        fit_gate_model(rows)
    assert str(info.value) == message


def test_params_outside_the_model_range_are_reported() -> None:
    rows = [  # rework rises with strength: β < 0
        GateObservation(0.0, 100, 5, hours=1.0),
        GateObservation(1.0, 90, 30, hours=1.0),
    ]
    fit = fit_gate_model(rows)
    assert fit.beta.value < 0
    with pytest.raises(
        ConfigError, match=r"^the fitted parameters are outside the model's range: beta"
    ):
        fit.params()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_read_observations(tmp_path: Path) -> None:
    path = write(tmp_path, "G, Completed ,rework,hours,note\n0,400,103,4,x\n\n0.5,340,18,4,y\n")
    rows = read_observations(path)
    assert rows == [
        GateObservation(0.0, 400, 103, hours=4.0),
        GateObservation(0.5, 340, 18, hours=4.0),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "g,completed,hours\n0,1,1\n",
            "{path} has no column 'rework'. It needs g, completed, rework and hours (or cost); "
            "found g, completed, hours",
        ),
        (
            "g,completed,rework\n0,1,1\n",
            "{path} has no column 'hours (or cost)'. It needs g, completed, rework and hours "
            "(or cost); found g, completed, rework",
        ),
        (
            "",
            "{path} is empty. It needs a header line with the columns g, completed, rework and "
            "hours (or cost)",
        ),
        (
            "g,completed,rework,hours\n",
            "{path} has a header but no data rows. Add one row per observation",
        ),
        (
            "g,completed,rework,hours\n0,10,1,1\n0.5,abc,1,1\n",
            "{path} line 3: 'completed' must be a whole number >= 0, got 'abc'",
        ),
        (
            "g,completed,rework,hours\n0,10,1,1\n0.5,2.5,1,1\n",
            "{path} line 3: 'completed' must be a whole number >= 0, got '2.5'",
        ),
        (
            "g,completed,rework,hours\n0,10,11,1\n",
            "{path} line 2: rework must be between 0 and completed (10), got 11. It counts "
            "completed tasks later found to need rework",
        ),
        (
            "g,completed,rework,hours\n1.5,10,1,1\n",
            "{path} line 2: g (gate strength) must be in [0, 1], got 1.5",
        ),
        ("g,completed,rework,hours\n0.5,10,1,0\n", "{path} line 2: hours must be > 0, got 0"),
        (
            "g,completed,rework,hours\n0.5,10,1,\n",
            "{path} line 2: a row needs hours or cost "
            "(the exposure over which its tasks were completed)",
        ),
        ("g,completed,rework,hours\n0.5,,1,2\n", "{path} line 2: 'completed' is empty"),
        (
            "g,completed,rework,hours\n0.5,1,1,nan\n",
            "{path} line 2: 'hours' must be a finite number, got 'nan'",
        ),
    ],
)
def test_csv_errors_name_the_file_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        read_observations(path)
    assert str(info.value) == message.format(path=path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        read_observations(tmp_path / "nope.csv")
    assert str(info.value) == (
        f"cannot read {tmp_path / 'nope.csv'}: No such file or directory. Check the path"
    )
