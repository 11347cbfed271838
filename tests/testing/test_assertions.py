"""The assertions of hakaru.testing on real runs of the simulated LLM (no fakes needed)."""

from __future__ import annotations

import asyncio

import pytest

from hakaru import Budget, Request, Session
from hakaru.errors import ConfigError
from hakaru.testing import assert_cost, assert_growth, assert_no_budget_overshoot

SIZES = [4, 8, 16, 32, 64, 128]


async def linear(session: Session, n: int) -> None:
    await session.map(lambda i: session.call(Request.chat("sim-small", f"item {i}")), range(n))


async def quadratic(session: Session, n: int) -> None:
    pairs = [(i, j) for i in range(n) for j in range(n)]
    await session.map(
        lambda p: session.call(Request.chat("sim-small", f"compare {p[0]} {p[1]}")), pairs
    )


def test_linear_passes_n_log_n_and_reports_the_fit() -> None:
    growth = assert_growth(linear, SIZES, at_most="n log n")
    assert growth.fit.complexity == "n"
    assert growth.values == tuple(float(n) for n in SIZES)


def test_quadratic_fails_at_most_n_with_class_constant_runner_up_and_table() -> None:
    with pytest.raises(AssertionError) as info:
        assert_growth(quadratic, [2, 3, 4, 6, 8, 12], at_most="n")
    text = str(info.value)
    assert "grows like n², faster than the bound n" in text
    assert "fitted class   n²" in text and "≈ 1·n²" in text
    assert "runner-up" in text
    for n in (2, 3, 4, 6, 8, 12):
        assert f"{n * n:>14}" in text  # the table: size and measured calls


def test_quadratic_passes_its_own_class() -> None:
    assert assert_growth(quadratic, [2, 3, 4, 6, 8, 12], at_most="n^2").fit.complexity == "n²"


def test_ambiguous_fit_straddling_the_bound_fails_unless_allowed() -> None:
    # calls = n + bits(n) over a narrow range: log n fits best, n is within ΔAICc < 2.
    async def narrow(session: Session, n: int) -> None:
        await linear(session, n + n.bit_length())

    sizes = [8, 9, 10, 11]
    with pytest.raises(AssertionError) as info:
        assert_growth(narrow, sizes, at_most="log n")
    text = str(info.value)
    assert "fits log n (within the bound log n), but the fit is ambiguous" in text
    assert "n fits nearly as well and is above the bound" in text
    growth = assert_growth(narrow, sizes, at_most="log n", allow_ambiguous=True)
    assert growth.fit.ambiguous and growth.contenders == ("log n", "n")
    # A bound above every contender is no straddle: it passes as it is.
    assert_growth(narrow, sizes, at_most="n")


def test_bad_input_messages() -> None:
    with pytest.raises(ConfigError, match=r"unknown complexity class 'n\^1.5'. Use one of"):
        assert_growth(linear, SIZES, at_most="n^1.5")
    with pytest.raises(ConfigError, match="at least 4 distinct sizes.*got 3"):
        assert_growth(linear, [4, 8, 16, 16], at_most="n")
    with pytest.raises(ConfigError, match="unknown metric 'cals'"):
        assert_growth(linear, SIZES, metric="cals")

    async def breaks(session: Session, n: int) -> None:
        if n == 32:
            raise ValueError("no room")
        await linear(session, n)

    with pytest.raises(AssertionError, match=r"run\(session, n=32\) raised ValueError: no room"):
        assert_growth(breaks, SIZES)


def test_works_inside_a_running_event_loop() -> None:
    async def inside() -> str:
        return assert_growth(linear, SIZES, at_most="n").fit.complexity

    assert asyncio.run(inside()) == "n"


def test_assert_cost_bounds() -> None:
    totals = assert_cost(linear, 10, calls=10, depth=1)
    assert totals["calls"] == 10
    with pytest.raises(AssertionError, match="calls exceeded its bound") as info:
        assert_cost(linear, 10, calls=9, bounds={"input_tokens": 1e9})
    assert "over" in str(info.value)
    with pytest.raises(ConfigError, match="no bound"):
        assert_cost(linear, 10)


def test_budget_overshoot_is_checked_from_the_records() -> None:
    spent = assert_no_budget_overshoot(linear, 50, Budget(calls=20))
    assert spent.calls == 20  # the guard refused the rest; the run ended normally
    with pytest.raises(ConfigError, match="must be a hakaru.Budget"):
        assert_no_budget_overshoot(linear, 5, {"calls": 3})  # type: ignore[arg-type]
