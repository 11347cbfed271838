"""The gate model: parameter validation, values against the seed's formulas, derivatives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hakaru.errors import ConfigError
from hakaru.gates import (
    GateParams,
    effective_throughput,
    net_throughput,
    raw_completion,
    rework_rate,
    throughput,
    throughput_derivatives,
)

MEAN = GateParams(r0=0.258, beta=3.16, alpha=0.30)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"r0": 1.0},
            "r0 (R0, the rework rate with no gate) must be in [0, 1), got 1. Give the fraction "
            "of completed tasks that later need rework, e.g. 0.258",
        ),
        (
            {"r0": -0.1},
            "r0 (R0, the rework rate with no gate) must be in [0, 1), got -0.1. Give the "
            "fraction of completed tasks that later need rework, e.g. 0.258",
        ),
        (
            {"beta": 0.0},
            "beta (β, the rework decay per unit gate strength) must be > 0, got 0. "
            "Give a positive finite number, e.g. 3.16",
        ),
        (
            {"alpha": 1.0},
            "alpha (α, the throughput lost per unit gate strength) must be in [0, 1), got 1. "
            "Give a fraction, e.g. 0.30",
        ),
        (
            {"c_rework": -0.5},
            "c_rework (c, the extra effort of one rework item) must be >= 0, got -0.5. "
            "Use 0 for the simple model or e.g. 1.4",
        ),
        (
            {"f0": 0.0},
            "f0 (F0, the completion rate with no gate) must be > 0, got 0. "
            "Give tasks per unit time, e.g. 100",
        ),
        (
            {"beta": math.nan},
            "beta (β, the rework decay per unit gate strength) must be > 0, "
            "got nan. Give a positive finite number, e.g. 3.16",
        ),
        ({"r0": "0.2"}, "r0 must be a number, got '0.2'. Give a decimal number"),
        (
            {"knee": 1.0},
            "knee (where gate overhead turns superlinear) must be in (0, 1), got 1. "
            "Use e.g. 0.9, or no knee for linear overhead",
        ),
        (
            {"curvature": 2.0},
            "curvature was given without a knee. Give the knee (e.g. 0.9) where the superlinear "
            "overhead starts, or leave curvature at 0",
        ),
        (
            {"knee": 0.5, "curvature": 4.0},
            "the superlinear overhead leaves no throughput at full strength: alpha + "
            "curvature·(1 − knee)² = 1.3 must be < 1. Lower alpha or curvature, or move the "
            "knee right",
        ),
    ],
)
def test_invalid_parameters_raise_config_error_with_range(
    kwargs: dict[str, object], message: str
) -> None:
    base: dict[str, object] = {"r0": 0.258, "beta": 3.16, "alpha": 0.30}
    with pytest.raises(ConfigError) as info:
        GateParams(**{**base, **kwargs})  # type: ignore[arg-type]
    assert str(info.value) == message


def test_boundary_values_are_valid() -> None:
    GateParams(r0=0.0, beta=1e-9, alpha=0.0, c_rework=0.0)
    GateParams(r0=0.999, beta=100.0, alpha=0.999, c_rework=10.0, f0=1e6)
    assert GateParams(r0=0, beta=1, alpha=0).r0 == 0.0  # ints are accepted as floats


def test_values_follow_the_seed_formulas() -> None:
    p = GateParams(r0=0.258, beta=3.16, alpha=0.30, c_rework=1.4, f0=100.0)
    g = 0.4
    r = 0.258 * math.exp(-3.16 * g)
    assert rework_rate(p, g) == pytest.approx(r, rel=1e-15)
    assert raw_completion(p, g) == pytest.approx(100 * (1 - 0.3 * g), rel=1e-15)
    assert effective_throughput(p, g) == pytest.approx(100 * (1 - 0.3 * g) * (1 - r), rel=1e-15)
    assert net_throughput(p, g) == pytest.approx(100 * (1 - 0.3 * g) * (1 - 2.4 * r), rel=1e-15)
    assert throughput(p, g, "effective") == effective_throughput(p, g)
    # seed §2: with c = 1.4, 30 % rework cuts net throughput by 72 %
    assert pytest.approx(0.28) == 1 - (1 + 1.4) * 0.30


def test_superlinear_knee_only_acts_beyond_the_knee() -> None:
    p = GateParams(r0=0.258, beta=3.16, alpha=0.30, knee=0.9, curvature=5.0)
    assert raw_completion(p, 0.9) == pytest.approx(1 - 0.27)
    assert raw_completion(p, 1.0) == pytest.approx(1 - 0.30 - 5.0 * 0.01)


params = st.builds(
    GateParams,
    r0=st.one_of(st.just(0.0), st.floats(1e-6, 0.99)),
    beta=st.floats(0.05, 30.0),
    alpha=st.floats(0.0, 0.95),
    c_rework=st.floats(0.0, 5.0),
    f0=st.floats(0.1, 1000.0),
)


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(p=params, g=st.floats(0.01, 0.99), net=st.booleans())
def test_derivatives_match_finite_differences(p: GateParams, g: float, net: bool) -> None:
    objective = "net" if net else "effective"
    t, d1, d2 = throughput_derivatives(p, g, objective)
    h = 1e-5
    t_plus, d1_plus, _ = throughput_derivatives(p, g + h, objective)
    t_minus, d1_minus, _ = throughput_derivatives(p, g - h, objective)
    assert t == pytest.approx(throughput(p, g, objective), rel=1e-12, abs=1e-12)
    scale = p.f0 * (1 + p.beta) ** 2
    assert abs((t_plus - t_minus) / (2 * h) - d1) <= 1e-6 * scale
    assert abs((d1_plus - d1_minus) / (2 * h) - d2) <= 1e-6 * scale * (1 + p.beta)


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(p=params, net=st.booleans())
def test_concavity_holds_for_every_valid_parameter_set(p: GateParams, net: bool) -> None:
    """d²T/dg² = −F0·K·β·e^(−βg)·(2α + β(1 − αg)) < 0 on [0, 1] (docs/gates.md, §Concavity)."""
    objective = "net" if net else "effective"
    k = p.k(objective)
    for g in np.linspace(0.0, 1.0, 21):
        d2 = throughput_derivatives(p, float(g), objective)[2]
        bracket = 2 * p.alpha + p.beta * (1 - p.alpha * g)  # > 0 because α < 1 and g ≤ 1
        closed = -p.f0 * k * p.beta * math.exp(-p.beta * g) * bracket
        assert d2 == pytest.approx(closed, rel=1e-12, abs=1e-300)
        assert bracket > 0
        assert d2 < 0 or k == 0.0
