"""Planner math against the reference values F1-F7 of docs/papers.md (MAKER).

Oracles are quoted to the digits docs/papers.md gives; float comparisons use ``pytest.approx`` with
an absolute tolerance of half a unit in the last quoted digit."""

from __future__ import annotations

import doctest
import math
import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import hakaru.mdap
from hakaru.errors import ConfigError
from hakaru.mdap import (
    PAPER_STEPS,
    PAPER_TABLE,
    ModelCandidate,
    choose_model,
    cost_per_call,
    expected_calls,
    expected_cost,
    expected_votes,
    formulas,
    full_success,
    k_min,
    paper_table,
    plan,
    planning,
    reproduce_paper_table,
    step_success,
    votes_bound,
)

S = PAPER_STEPS


def test_paper_steps_is_twenty_disks() -> None:
    assert S == 1_048_575


def test_public_names() -> None:
    assert set(hakaru.mdap.__all__) == {
        "PAPER_STEPS", "PAPER_TABLE", "PAPER_TARGET", "ModelCandidate", "ModelChoice",
        "ModelOption", "PaperRow", "Plan", "choose_model", "cost_per_call", "expected_calls",
        "expected_cost", "expected_votes", "full_success", "k_min", "plan",
        "reproduce_paper_table", "step_success", "votes_bound",
    }  # fmt: skip


def test_docstring_examples() -> None:
    results = [doctest.testmod(m) for m in (formulas, planning, paper_table)]
    assert sum(r.failed for r in results) == 0 and sum(r.attempted for r in results) >= 12


# F1 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "k", "expected", "digits"),
    [
        (0.7, 3, 0.9270270270, 10),
        (0.9, 2, 0.9878048780, 10),
        (0.99, 3, 0.9999989694, 10),
        (0.9978, 3, 0.9999999893, 10),
        (0.6, 5, 0.8836, 4),
    ],
)
def test_f1_step_success(p: float, k: int, expected: float, digits: int) -> None:
    assert step_success(p, k) == pytest.approx(expected, abs=0.5 * 10**-digits)


def test_f1_closed_form_is_exact_rational() -> None:
    # p = 0.7, k = 3: 343/(343 + 27) = 343/370
    assert step_success(0.7, 3) == pytest.approx(343 / 370, rel=1e-15)


def test_f1_stable_near_one() -> None:
    assert step_success(1 - 1e-12, 50) == 1.0
    assert step_success(1.0, 1) == 1.0
    # 1 − P_step = r^k/(1 + r^k) keeps its digits in the plan: (0.0022/0.9978)^3
    assert plan(0.9978, S, 0.95).step_error == pytest.approx((0.0022 / 0.9978) ** 3, rel=1e-12)


# F2 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "k", "expected"),
    [(0.9978, 3, 0.988824), (0.99, 3, 0.339368), (0.99, 4, 0.989143), (0.99, 5, 0.999890)],
)
def test_f2_full_success(p: float, k: int, expected: float) -> None:
    assert full_success(p, k, S) == pytest.approx(expected, abs=5e-7)


def test_f2_full_success_is_step_success_to_the_s() -> None:
    assert full_success(0.9, 2, 10) == pytest.approx(step_success(0.9, 2) ** 10, rel=1e-14)


# F3 ------------------------------------------------------------------------------------------

F3_TABLE = [
    (0.6, 42, 0.958729, 0.938736),
    (0.7, 20, 0.955213, 0.898602),
    (0.8, 13, 0.984496, 0.939413),
    (0.85, 10, 0.969754, 0.840263),
    (0.9, 8, 0.975935, 0.803136),
    (0.95, 6, 0.977958, 0.654765),
    (0.99, 4, 0.989143, 0.339368),
    (0.995, 4, 0.999332, 0.875415),
    (0.9978, 3, 0.988824, 0.006112),
    (0.999, 3, 0.998949, 0.349702),
]


@pytest.mark.parametrize(("p", "k", "at_k", "below"), F3_TABLE)
def test_f3_k_min_table(p: float, k: int, at_k: float, below: float) -> None:
    assert k_min(p, S, 0.95) == k
    assert full_success(p, k, S) == pytest.approx(at_k, abs=5e-7)
    assert full_success(p, k - 1, S) == pytest.approx(below, abs=5e-7)
    pl = plan(p, S, 0.95)
    assert (pl.k_min, pl.p_full, pl.p_full_k_minus_1) == (
        k,
        full_success(p, k, S),
        full_success(p, k - 1, S),
    )


def test_f3_headline_oracle() -> None:
    assert k_min(0.99, 1_048_575, 0.95) == 4


def test_f3_grows_like_log_s() -> None:
    ks = [k_min(0.99, 10**e, 0.95) for e in range(1, 10)]
    assert ks == [2, 2, 3, 3, 4, 4, 5, 5, 6]


def test_f3_edge_cases() -> None:
    assert k_min(1.0, S, 0.95) == 1
    assert k_min(0.999999, 1, 0.5) == 1  # the closed form is negative; k_min >= 1
    assert k_min(0.9, 1, 0.9) == 1  # P_step(k=1) = p = 0.9 reaches t exactly


def test_f3_stable_extremes() -> None:
    # p just above 1/2: k is huge yet still exactly the smallest.
    p = 0.5 + 1e-9
    k = k_min(p, 1000, 0.95)
    assert k > 10**9
    assert full_success(p, k, 1000) >= 0.95 > full_success(p, k - 1, 1000)
    # t one ulp below 1 with p near 1/2, where p_full is flat in floats over many k.
    t = 1 - 2**-53
    k = k_min(0.5000001, 1, t)
    assert full_success(0.5000001, k, 1) >= t > full_success(0.5000001, k - 1, 1)
    # a trillion steps at p near 1, and a tiny target with m = s (no overflow in t^(−m/s)).
    assert k_min(1 - 1e-9, 10**12, 0.99) == 2
    assert k_min(0.99, 10, 5e-324, m=10) == 1


@settings(max_examples=300, deadline=None)
@given(
    p=st.floats(min_value=0.5 + 1e-6, max_value=1.0),
    s=st.integers(min_value=1, max_value=10**9),
    t=st.floats(min_value=1e-6, max_value=1 - 1e-12),
    m=st.integers(min_value=1, max_value=40),
)
def test_k_min_is_the_smallest_k_reaching_t(p: float, s: int, t: float, m: int) -> None:
    # outside the domain (m > s, p^m <= 0.5) is covered by the error tests
    assume(m <= s and (m == 1 or p == 1 or m * math.log(p) + math.log(2) > 1e-6))
    k = k_min(p, s, t, m=m)
    assert k >= 1
    assert full_success(p, k, s, m=m) >= t
    assert k == 1 or full_success(p, k - 1, s, m=m) < t


# Paper table (§2.5 / Fig. 6b) and F5 ---------------------------------------------------------


def test_paper_table_k_min_all_nine() -> None:
    choice = reproduce_paper_table()
    ours = [o.plan.k_min if o.plan else None for o in choice.options]
    assert ours == [row.k_min for row in PAPER_TABLE]
    assert [k for k in ours if k is not None] == [29, 4, 3, 3, 12, 6, 15, 6, 6]
    llama = choice.options[5]
    assert llama.candidate.name == "llama-3.2-3B" and not llama.feasible
    assert "voting cannot favour the correct answer" in llama.reason


def test_paper_table_cost_column_within_assumptions() -> None:
    # Assumptions: 600 input tokens per call, v = 1, input prices as in PAPER_TABLE; the paper's
    # formula c·s·k_min/(v·(2p−1)). Every row lands within 1.5 % of the paper (largest: o3-mini,
    # +1.23 %).
    choice = reproduce_paper_table(in_tokens=600)
    for row, option in zip(PAPER_TABLE, choice.options, strict=True):
        if row.cost is None:
            assert option.plan is None
            continue
        assert option.plan is not None and option.plan.expected_cost_bound is not None
        assert option.plan.expected_cost_bound == pytest.approx(row.cost, rel=0.015), row.model


def test_paper_table_cheapest_models() -> None:
    # The paper: gpt-oss-20B is the cheapest open model, gpt-4.1-mini the cheapest proprietary.
    choice = reproduce_paper_table()
    assert choice.best is not None and choice.best.candidate.name == "gpt-oss-20B"
    proprietary = [r for r in PAPER_TABLE if r.model.startswith(("gpt-4.1", "o3", "haiku"))]
    best = reproduce_paper_table(rows=proprietary).best
    assert best is not None and best.candidate.name == "gpt-4.1-mini (τ=0.1)"


@pytest.mark.parametrize(
    ("name", "p", "in_price", "out_price", "out_tok", "c", "k", "calls", "cost"),
    [
        ("gpt-4.1-mini τ=0.1", 0.9978, 0.40, 1.60, 538, 0.0011008, 3, 3_159_627, 3_478),
        ("gpt-4.1-nano", 0.6429, 0.10, 0.40, 842, 0.0003968, 29, 106_398_443, 42_219),
        ("gpt-oss-20B", 0.9642, 0.05, 0.20, 1104, 0.0002508, 6, 6_776_659, 1_700),
    ],
)
def test_f5_projected_cost(
    name: str,
    p: float,
    in_price: float,
    out_price: float,
    out_tok: int,
    c: float,
    k: int,
    calls: int,
    cost: int,
) -> None:
    assert cost_per_call(600, out_tok, in_price, out_price) == pytest.approx(c, rel=1e-12)
    pl = plan(p, S, 0.95, in_tokens=600, out_tokens=out_tok, price_in=in_price, price_out=out_price)
    assert pl.k_min == k
    assert round(pl.expected_calls_bound) == calls
    assert pl.expected_cost_bound is not None and round(pl.expected_cost_bound) == cost
    # the exact expectation is below the paper's bound, here by less than 0.01 %
    assert pl.expected_cost is not None
    assert pl.expected_cost_bound * (1 - 1e-4) < pl.expected_cost <= pl.expected_cost_bound


def test_f5_with_red_flagging() -> None:
    c = cost_per_call(600, 538, 0.40, 1.60)
    assert round(expected_cost(c, 0.9978, S, 3, v=0.99, bound=True)) == 3_513
    pl = plan(0.9978, S, 0.95, v=0.99)
    assert pl.expected_samples_per_step == pytest.approx(pl.expected_votes_per_step / 0.99)
    assert pl.expected_calls == pytest.approx(S * pl.expected_votes_per_step / 0.99)


# F4 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "k", "exact", "bound"),
    [
        (0.7, 3, 6.405405, 7.5),
        (0.9, 3, 3.739726, 3.75),
        (0.99, 3, 3.061218, 3 / 0.98),
        (0.9978, 3, 3.013258, 3 / 0.9956),
        (0.6, 5, 19.181818, 25.0),
    ],
)
def test_f4_expected_votes(p: float, k: int, exact: float, bound: float) -> None:
    assert expected_votes(p, k) == pytest.approx(exact, abs=5e-7)
    assert votes_bound(p, k) == pytest.approx(bound, rel=1e-12)
    assert k <= expected_votes(p, k) < votes_bound(p, k)


def test_f4_closed_form_matches_gamblers_ruin_formula() -> None:
    for p, k in [(0.55, 7), (0.7, 3), (0.999, 2)]:
        q = 1 - p
        textbook = k / (p - q) * (p**k - q**k) / (p**k + q**k)
        assert expected_votes(p, k) == pytest.approx(textbook, rel=1e-12)


def test_f4_limits() -> None:
    assert expected_votes(1.0, 4) == 4.0 and votes_bound(1.0, 4) == 4.0
    # p → 1/2: E[N] → k² (the symmetric walk), while the bound blows up.
    assert expected_votes(0.5 + 1e-12, 5) == pytest.approx(25.0, rel=1e-6)


def test_f4_votes_per_step_for_the_table_models() -> None:
    expected = [101.4696, 4.0323, 3.0133, 3.0108, 18.9813, 6.4627, 28.2167, 6.7705, 6.5118]
    ours = [
        o.plan.expected_votes_per_step for o in reproduce_paper_table().options if o.plan
    ]  # fmt: skip
    assert ours == pytest.approx(expected, abs=5e-5)


def _race(rng: random.Random, p: float, k: int) -> tuple[bool, int]:
    """One first-to-ahead-by-k vote between the right answer (prob p) and one wrong one."""
    lead = votes = 0
    while abs(lead) < k:
        lead += 1 if rng.random() < p else -1
        votes += 1
    return lead > 0, votes


@pytest.mark.parametrize(("p", "k"), [(0.7, 3), (0.6, 5), (0.9, 3)])
def test_f4_exact_expectation_matches_simulation(p: float, k: int) -> None:
    rng = random.Random(20251112)
    n = 20_000
    wins, counts = 0, []
    for _ in range(n):
        won, votes = _race(rng, p, k)
        wins += won
        counts.append(votes)
    mean = sum(counts) / n
    se = math.sqrt(sum((c - mean) ** 2 for c in counts) / (n - 1) / n)
    # 4 standard errors: a false alarm about once in 16,000 seeds (this seed is fixed).
    assert abs(mean - expected_votes(p, k)) < 4 * se
    assert mean < votes_bound(p, k)
    if p < 0.9:  # the bound is loose here: the simulation rules it out as the mean
        assert votes_bound(p, k) - mean > 4 * se
    p_step = step_success(p, k)
    assert abs(wins / n - p_step) < 4 * math.sqrt(p_step * (1 - p_step) / n)


def test_two_candidates_is_the_worst_case() -> None:
    # The exact rule with errors spread over three wrong answers wins more often than F1 says.
    rng = random.Random(7)
    p, k, n = 0.6, 2, 20_000
    wins = 0
    for _ in range(n):
        counts = [0, 0, 0, 0]  # index 0 is the right answer
        while True:
            y = 0 if rng.random() < p else rng.randrange(1, 4)
            counts[y] += 1
            if counts[y] >= max(c for i, c in enumerate(counts) if i != y) + k:
                wins += y == 0
                break
    assert wins / n > step_success(p, k) + 4 * math.sqrt(0.25 / n)


# F7: m > 1 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("m", "p_m", "k", "cost_over_c"),
    [
        (1, 0.9900, 4, 4_279_898),
        (2, 0.9801, 5, 5_460_191),
        (5, 0.9510, 6, 6_975_154),
        (10, 0.9044, 7, 9_075_606),
        (20, 0.8179, 10, 16_491_855),
        (50, 0.6050, 31, 154_780_699),
        (68, 0.5049, 646, 69_319_982_456),
    ],
)
def test_f7_granularity(m: int, p_m: float, k: int, cost_over_c: int) -> None:
    pl = plan(0.99, S, 0.95, m=m)
    assert pl.p_subtask == pytest.approx(p_m, abs=5e-5)
    assert pl.k_min == k
    assert pl.subtasks == S / m
    # F7 prices one step at c, so a call of m steps costs m·c: E[cost]/c = m·E[calls].
    assert round(m * pl.expected_calls_bound) == cost_over_c
    assert pl.p_full >= 0.95 > (pl.p_full_k_minus_1 or 0.0)


def test_f7_cost_grows_with_m() -> None:
    costs = [plan(0.99, S, 0.95, m=m).expected_calls_bound * m for m in (1, 2, 5, 10, 20, 50, 68)]
    assert costs == sorted(costs)


# errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "shown"), [(0.5, "0.5"), (0.3, "0.3"), (0.0, "0"), (0.5 - 1e-12, "0.5")]
)
def test_infeasible_p(p: float, shown: str) -> None:
    with pytest.raises(ConfigError) as err:
        k_min(p, S, 0.95)
    assert str(err.value) == (
        f"p = {shown} is not above 0.5: a wrong answer is at least as likely as the right one, "
        "so voting cannot favour the correct answer. Use a better model (p > 0.5), or red-flag "
        "bad responses to raise p."
    )
    assert err.value.exit_code == 2


def test_infeasible_p_to_the_m() -> None:
    with pytest.raises(ConfigError) as err:
        plan(0.99, S, 0.95, m=69)
    assert str(err.value) == (
        "p^m = 0.99^69 = 0.4998 is not above 0.5: a subtask of 69 steps is wrong at least as "
        "often as it is right, so voting cannot favour the correct answer. Use a smaller m "
        "(m <= 68 keeps p^m above 0.5), a better model, or red-flag bad responses to raise p."
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: k_min(1.5, S, 0.95),
            "p must be a probability in (0, 1], got 1.5. Give the per-step success rate of one "
            "valid sample, e.g. 0.998.",
        ),
        (
            lambda: step_success(-0.1, 3),
            "p must be a probability in (0, 1], got -0.1. Give the per-step success rate of one "
            "valid sample, e.g. 0.998.",
        ),
        (
            lambda: k_min(math.nan, S, 0.95),
            "p must be a probability in (0, 1], got nan. Give the per-step success rate of one "
            "valid sample, e.g. 0.998.",
        ),
        (
            lambda: k_min(0.99, S, 1.0),
            "target must be a probability in (0, 1), got 1.0. A target of 1 needs an infinite "
            "margin; use e.g. 0.95.",
        ),
        (
            lambda: k_min(0.99, S, 0),
            "target must be a probability in (0, 1), got 0. A target of 1 needs an infinite "
            "margin; use e.g. 0.95.",
        ),
        (
            lambda: k_min(0.99, 0, 0.95),
            "steps (the number of steps s) must be a whole number >= 1, got 0.",
        ),
        (
            lambda: k_min(0.99, S, 0.95, m=0),
            "m (steps per subtask) must be a whole number >= 1, got 0.",
        ),
        (
            lambda: k_min(0.99, 10, 0.95, m=11),
            "m (steps per subtask) is 11 but the task has only 10 steps. Use m <= steps.",
        ),
        (
            lambda: plan(0.99, S, 0.95, v=0),
            "v (the fraction of samples that pass the red flags) must be in (0, 1], got 0. "
            "Use 1 when nothing is red-flagged.",
        ),
        (
            lambda: expected_calls(0.99, S, 3, v=1.5),
            "v (the fraction of samples that pass the red flags) must be in (0, 1], got 1.5. "
            "Use 1 when nothing is red-flagged.",
        ),
        (
            lambda: step_success(0.9, 0),
            "k (the voting margin) must be a whole number >= 1, got 0.",
        ),
        (
            lambda: plan(0.99, S, 0.95, in_tokens=600, price_out=1.6),
            "To price the plan give in_tokens, out_tokens, price_in and price_out; missing "
            "out_tokens, price_in. Or give none of them for a plan without costs.",
        ),
        (
            lambda: cost_per_call(-1, 10, 0.1, 0.4),
            "in_tokens must be a finite number >= 0, got -1.",
        ),
    ],
)
def test_invalid_inputs(call: object, message: str) -> None:
    assert callable(call)
    with pytest.raises(ConfigError) as err:
        call()
    assert str(err.value) == message


# plans and model choice ----------------------------------------------------------------------


def test_plan_fields() -> None:
    pl = plan(0.9978, S, 0.95, in_tokens=600, out_tokens=538, price_in=0.4, price_out=1.6)
    d = pl.to_dict()
    for key in ("k_min", "p_full", "expected_votes_per_step", "expected_calls", "expected_cost"):
        assert key in d
    for key in ("expected_votes_per_step_bound", "expected_calls_bound", "expected_cost_bound"):
        assert key in d
    assert d["k_min"] == 3 and d["cost_per_call"] == pytest.approx(0.0011008)
    assert pl.p_step + pl.step_error == pytest.approx(1.0, abs=1e-15)
    unpriced = plan(0.9978, S, 0.95)
    assert unpriced.cost_per_call is None and unpriced.expected_cost is None


def test_plan_with_p_one() -> None:
    pl = plan(1.0, S, 0.95, in_tokens=100, out_tokens=100, price_in=1, price_out=1)
    assert (pl.k_min, pl.p_full, pl.p_full_k_minus_1, pl.step_error) == (1, 1.0, None, 0.0)
    assert pl.expected_calls == pl.expected_calls_bound == S
    assert pl.expected_cost == pytest.approx(S * 2e-4)


def test_choose_model_marks_infeasible_and_accepts_tuples() -> None:
    choice = choose_model(
        [
            ("cheap-but-bad", 0.45, 1.0, 600, 500, 0.01, 0.01),
            ModelCandidate("pricey", 0.999, 1.0, 600, 500, 5.0, 20.0),
            ("mid", 0.99, 0.9, 600, 500, 0.4, 1.6),
        ],
        S,
        0.95,
    )
    assert [o.candidate.name for o in choice.options] == ["cheap-but-bad", "pricey", "mid"]
    assert [o.feasible for o in choice.options] == [False, True, True]
    assert choice.options[0].reason.startswith("p = 0.45 is not above 0.5")
    assert choice.best is not None and choice.best.candidate.name == "mid"


def test_choose_model_with_m_and_none_feasible() -> None:
    choice = choose_model([("a", 0.99, 1, 1, 1, 1, 1)], S, 0.95, m=69)
    assert choice.best is None and choice.options[0].reason.startswith("p^m = 0.99^69")
    with pytest.raises(ConfigError, match="v \\(the fraction"):
        choose_model([("bad-v", 0.99, 0.0, 1, 1, 1, 1)], S, 0.95)
