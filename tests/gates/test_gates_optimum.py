"""g* against brute force, the boundary cases, the interior condition, and sensitivities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hakaru.gates import GateParams, grid_optimum, optimize, throughput_derivatives
from hakaru.gates.model import Objective


def objective_values(
    g: np.ndarray,
    r0: float,
    beta: float,
    alpha: float,
    k_factor: float,
    knee: float | None,
    gamma: float,
) -> np.ndarray:
    """(1 − αg − γ(g − knee)₊²)(1 − K·e^(−βg)), K = k_factor·R0: the seed's T/F0 and T_net/F0,
    written here independently of hakaru."""
    h = 1 - alpha * g
    if knee is not None:
        h = h - gamma * np.maximum(g - knee, 0) ** 2
    return h * (1 - k_factor * r0 * np.exp(-beta * g))  # type: ignore[no-any-return]


def brute_force(*args: float | None) -> float:
    """argmax over g ∈ [0, 1] by grid search: 2,001 points, then four re-grids (201 points)
    of the two cells around the best point (final spacing 5e-12), in extended precision."""
    lo, hi, n = 0.0, 1.0, 2001
    best = 0.0
    for _ in range(5):
        g = np.linspace(lo, hi, n, dtype=np.longdouble)
        i = int(np.argmax(objective_values(g, *args)))  # type: ignore[arg-type]
        best = float(g[i])
        lo, hi, n = float(g[max(i - 1, 0)]), float(g[min(i + 1, n - 1)]), 201
    return best


FLAT = 1e-17  # objective differences below this are rounding noise even in extended precision


def unresolvable(best: float, *args: float | None) -> bool:
    """True when T within 1e-6 of the grid's best point differs from it by less than FLAT:
    then no grid search in this precision can locate the optimum to 1e-6."""
    g = np.array([best, max(best - 1e-6, 0.0), min(best + 1e-6, 1.0)], dtype=np.longdouble)
    v = objective_values(g, *args)  # type: ignore[arg-type]
    return bool(np.all(v[0] - v[1:] < FLAT))


def check_against_grid(p: GateParams) -> int:
    """Assert g* = brute force to 1e-6 for both objectives; returns how many were unresolvable
    (there g* must be at least as good as the grid's best, within FLAT)."""
    flat = 0
    for objective, k_factor in (("effective", 1.0), ("net", 1.0 + p.c_rework)):
        opt = optimize(p, objective)  # type: ignore[arg-type]
        args = (p.r0, p.beta, p.alpha, k_factor, p.knee, p.curvature)
        brute = brute_force(*args)
        assert opt.case == ("zero" if opt.g_star == 0 else "one" if opt.g_star == 1 else "interior")
        if abs(opt.g_star - brute) <= 1e-6:
            continue
        assert unresolvable(brute, *args), (objective, opt, brute)
        values = objective_values(np.array([opt.g_star, brute], dtype=np.longdouble), *args)  # type: ignore[arg-type]
        assert values[0] >= values[1] - FLAT
        flat += 1
    return flat


r0s = st.one_of(st.just(0.0), st.floats(1e-3, 0.99))
alphas = st.one_of(st.just(0.0), st.floats(1e-3, 0.95))
betas = st.floats(0.05, 30.0)
cs = st.one_of(st.just(0.0), st.floats(0.0, 5.0))


@settings(max_examples=1500, deadline=None, database=None, derandomize=True)
@given(r0=r0s, beta=betas, alpha=alphas, c=cs)
@example(r0=0.258, beta=3.16, alpha=0.30, c=1.4)  # the seed's mean parameters
@example(r0=0.01, beta=1.0, alpha=0.5, c=0.0)  # zero: gates do not pay
@example(r0=0.9, beta=1.0, alpha=0.05, c=0.0)  # one: still rising at g = 1
@example(r0=0.0, beta=1.0, alpha=0.0, c=0.0)  # flat: g* = 0 by convention
@example(r0=0.5, beta=2.0, alpha=0.0, c=0.0)  # free gates: g* = 1
def test_g_star_matches_grid_search(r0: float, beta: float, alpha: float, c: float) -> None:
    check_against_grid(GateParams(r0=r0, beta=beta, alpha=alpha, c_rework=c))


@settings(max_examples=400, deadline=None, database=None, derandomize=True)
@given(
    r0=r0s,
    beta=betas,
    alpha=st.floats(1e-3, 0.6),
    c=cs,
    knee=st.floats(0.5, 0.95),
    gamma=st.floats(0.0, 50.0),
)
def test_g_star_matches_grid_search_with_superlinear_overhead(
    r0: float, beta: float, alpha: float, c: float, knee: float, gamma: float
) -> None:
    gamma = min(gamma, 0.99 * (1 - alpha) / (1 - knee) ** 2)
    check_against_grid(
        GateParams(r0=r0, beta=beta, alpha=alpha, c_rework=c, knee=knee, curvature=gamma)
    )


def test_thousands_of_random_parameter_sets_in_both_models() -> None:
    """A seeded batch of 3,000 sets, vectorised brute force; each case must occur often."""
    rng = np.random.default_rng(20251224)
    m = 3000
    r0 = rng.uniform(0, 0.99, m)
    beta = np.exp(rng.uniform(math.log(0.05), math.log(30), m))
    alpha = rng.uniform(1e-3, 0.95, m)
    c = rng.uniform(0, 5, m) * (rng.uniform(size=m) < 0.7)
    counts = {"interior": 0, "zero": 0, "one": 0}
    flat = 0
    for objective in ("effective", "net"):
        k = r0 * (1 + c) if objective == "net" else r0
        for chunk in np.array_split(np.arange(m), 6):
            lo = np.zeros(len(chunk), dtype=np.longdouble)
            hi = np.ones(len(chunk), dtype=np.longdouble)
            n = 2001
            for _ in range(5):
                t = np.linspace(0, 1, n, dtype=np.longdouble)
                g = lo[:, None] + (hi - lo)[:, None] * t[None, :]  # (chunk, n)
                h = 1 - alpha[chunk, None] * g
                v = h * (1 - k[chunk, None] * np.exp(-beta[chunk, None] * g))
                i = np.argmax(v, axis=1)
                rows = np.arange(len(chunk))
                best = g[rows, i]
                lo, hi = g[rows, np.maximum(i - 1, 0)], g[rows, np.minimum(i + 1, n - 1)]
                n = 201
            for j, idx in enumerate(chunk):
                p = GateParams(r0=r0[idx], beta=beta[idx], alpha=alpha[idx], c_rework=c[idx])
                opt = optimize(p, objective)  # type: ignore[arg-type]
                counts[opt.case] += 1
                if abs(opt.g_star - float(best[j])) > 1e-6:
                    k_factor = 1 + p.c_rework if objective == "net" else 1.0
                    args = (p.r0, p.beta, p.alpha, k_factor, None, 0.0)
                    assert unresolvable(float(best[j]), *args), (p, objective, opt.g_star)
                    flat += 1
    assert min(counts.values()) >= 300, counts
    assert flat <= 0.01 * 2 * m, flat


def test_interior_condition_in_closed_form() -> None:
    """zero iff K(α+β) ≤ α; one iff K·e^(−β)·(α + β(1 − α)) ≥ α (docs/gates.md)."""
    rng = np.random.default_rng(7)
    for _ in range(2000):
        p = GateParams(
            r0=rng.uniform(0, 0.99),
            beta=rng.uniform(0.05, 10),
            alpha=rng.uniform(0, 0.95),
            c_rework=rng.uniform(0, 3),
        )
        for objective in ("effective", "net"):
            k = p.k(objective)  # type: ignore[arg-type]
            zero = k * (p.alpha + p.beta) <= p.alpha
            one = k * math.exp(-p.beta) * (p.alpha + p.beta * (1 - p.alpha)) >= p.alpha
            expected = "zero" if zero else "one" if one else "interior"
            assert optimize(p, objective).case == expected  # type: ignore[arg-type]


def test_the_seeds_mean_parameters() -> None:
    p = GateParams(r0=0.258, beta=3.16, alpha=0.30)
    opt = optimize(p, "effective")
    assert opt.case == "interior"
    assert opt.g_star == pytest.approx(0.31638, abs=1e-5)  # the seed claims 0.612
    assert opt.g_star == pytest.approx(grid_optimum(p, "effective"), abs=1e-8)
    assert opt.improvement == pytest.approx(0.1040, abs=1e-4)  # the seed claims 0.34
    assert opt.rework_at_optimum == pytest.approx(0.0949, abs=1e-4)  # the seed claims 0.037
    assert opt.throughput_at_zero == pytest.approx(0.742)
    # first-order condition of seed §5: R0·e^(−βg)·(α + β − αβg) = α
    g = opt.g_star
    assert 0.258 * math.exp(-3.16 * g) * (0.30 + 3.16 - 0.30 * 3.16 * g) == pytest.approx(0.30)
    assert opt.second_derivative < 0


def test_boundary_cases_and_their_sensitivities() -> None:
    zero = optimize(GateParams(r0=0.01, beta=1.0, alpha=0.5))
    assert (zero.case, zero.g_star, zero.improvement) == ("zero", 0.0, 0.0)
    assert zero.slope_at_zero <= 0
    assert set(zero.sensitivity.values()) == {0.0}
    assert "gates do not pay" in zero.reason
    one = optimize(GateParams(r0=0.9, beta=1.0, alpha=0.05))
    assert (one.case, one.g_star) == ("one", 1.0)
    assert set(one.sensitivity.values()) == {0.0}
    assert "still rises at full strength" in one.reason


def test_improvement_is_none_when_net_throughput_at_zero_is_not_positive() -> None:
    opt = optimize(GateParams(r0=0.6, beta=4.0, alpha=0.2, c_rework=1.0), "net")
    assert opt.throughput_at_zero < 0
    assert opt.improvement is None


def test_objective_must_be_known() -> None:
    from hakaru.errors import ConfigError

    with pytest.raises(ConfigError, match="Unknown objective 'gross'. Use 'effective' or 'net'"):
        optimize(GateParams(r0=0.2, beta=3, alpha=0.3), "gross")  # type: ignore[arg-type]


def _bump(p: GateParams, name: str, value: float) -> GateParams:
    return GateParams(**{**p.to_dict(), name: value})


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(
    r0=st.floats(0.02, 0.95),
    beta=st.floats(0.2, 20.0),
    alpha=st.floats(0.01, 0.9),
    c=st.floats(0.01, 3.0),
    objective=st.sampled_from(["effective", "net"]),
    knee=st.one_of(st.none(), st.floats(0.3, 0.9)),
)
def test_sensitivities_match_finite_differences(
    r0: float, beta: float, alpha: float, c: float, objective: Objective, knee: float | None
) -> None:
    gamma = 0.0 if knee is None else 0.5 * (1 - alpha) / (1 - knee) ** 2
    p = GateParams(r0=r0, beta=beta, alpha=alpha, c_rework=c, knee=knee, curvature=gamma)
    opt = optimize(p, objective)
    if opt.case != "interior" or not 0.01 < opt.g_star < 0.99:
        return
    if knee is not None and abs(opt.g_star - knee) < 1e-3:
        return  # d²T/dg² jumps at the knee; one-sided there
    if abs(throughput_derivatives(p, opt.g_star, objective)[2]) < 1e-2 * p.f0:
        return  # a nearly flat optimum: finite differences are noise
    for name, value in (("r0", r0), ("beta", beta), ("alpha", alpha), ("c_rework", c)):
        h = 1e-6 * max(value, 1e-2)
        up = optimize(_bump(p, name, value + h), objective)
        down = optimize(_bump(p, name, value - h), objective)
        if up.case != "interior" or down.case != "interior":
            continue
        fd = (up.g_star - down.g_star) / (2 * h)
        assert opt.sensitivity[name] == pytest.approx(fd, rel=1e-4, abs=1e-6), name
    if objective == "effective":
        assert opt.sensitivity["c_rework"] == 0.0
