"""Gate strength → mechanism: the three maps, the task kinds behind them, exact call counts."""

from __future__ import annotations

import asyncio
import math
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest

from hakaru.backends.sim import SimBackend
from hakaru.errors import ConfigError, RedFlag, StepFailed
from hakaru.gates.mechanisms import (
    CHECKER,
    VERIFIER,
    WORKER,
    GateConfig,
    GateSumKind,
    ResidueKind,
    VerdictKind,
    dither,
    gate_setting,
    gated_sum,
    redflag_checks,
    uniform,
    verifier_threshold,
    vote_margin,
)
from hakaru.session import Session


def perfect(model: Any) -> Any:
    """``model`` with every kind of error turned off."""
    return replace(model, base_error=0.0, max_error=0.0, malformed_rate=0.0, rho=0.0)


PERFECT = GateConfig(worker=perfect(WORKER), checker=perfect(CHECKER), verifier=perfect(VERIFIER))


def run(config: GateConfig, body: Callable[[Session], Awaitable[Any]]) -> tuple[Any, Session]:
    async def main() -> tuple[Any, Session]:
        async with Session(SimBackend(models=config.models())) as session:
            return await body(session), session

    return asyncio.run(main())


# --- the maps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("g", "k", "theta", "n"),
    [(0.0, 1.0, 0.0, 0.0), (0.25, 2.0, 25.0, 1.0), (0.5, 3.0, 50.0, 2.0), (1.0, 5.0, 100.0, 4.0)],
)
def test_maps_are_linear_in_g(g: float, k: float, theta: float, n: float) -> None:
    assert vote_margin(g) == k
    assert verifier_threshold(g) == theta
    assert redflag_checks(g) == n
    config = GateConfig()
    assert config.setting("vote", g).level == k
    assert config.setting("verifier", g).level == theta
    assert config.setting("redflag", g).level == n


def test_settings_describe_their_knob() -> None:
    assert gate_setting("vote", 0.0).describe() == "k = 1"
    assert gate_setting("vote", 0.6).describe() == "k = 3.4 (dithered)"
    assert gate_setting("verifier", 0.0).describe() == "no verifier"
    assert gate_setting("verifier", 0.75).describe() == "θ = 75"
    assert gate_setting("redflag", 0.0).describe() == "no checks"
    assert gate_setting("redflag", 0.25).describe() == "1 check (mod 3)"
    assert gate_setting("redflag", 1.0).describe() == "4 checks (mod 3, 4, 5, 7)"
    assert gate_setting("redflag", 0.6).describe() == "2.4 checks (mod 3, 4, 5), dithered"


def test_invalid_strength_and_mechanism_say_what_is_valid() -> None:
    with pytest.raises(ConfigError, match=r"^gate strength g must be in \[0, 1\], got 1.5$"):
        gate_setting("vote", 1.5)
    with pytest.raises(ConfigError) as info:
        gate_setting("audit", 0.5)
    assert str(info.value) == (
        "Unknown gate mechanism 'audit'. Choose one of: vote, verifier, redflag"
    )
    with pytest.raises(ConfigError, match="max_attempts is 0. Allow at least 1"):
        GateConfig(max_attempts=0)
    with pytest.raises(ConfigError, match="Give a probability in"):
        GateConfig().with_worker_error(1.0)


def test_dither_has_the_fractional_level_as_its_mean() -> None:
    us = [(i + 0.5) / 1000 for i in range(1000)]  # an even grid over [0, 1)
    for level in (1.0, 1.4, 2.75, 3.999):
        draws = [dither(level, u) for u in us]
        assert set(draws) <= {math.floor(level), math.ceil(level)}
        assert sum(draws) / len(draws) == pytest.approx(level, abs=1e-3)


def test_uniform_is_a_pure_function_in_the_unit_interval() -> None:
    values = [uniform("t", i) for i in range(2000)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert values == [uniform("t", i) for i in range(2000)]
    assert sum(values) / len(values) == pytest.approx(0.5, abs=0.02)


# --- the task kinds ---------------------------------------------------------------------------


def test_wrong_sums_make_residue_checks_independent_filters() -> None:
    # δ is uniform on ±[1, 840], and 840 is a multiple of 3·4·5·7: a mod-m check misses a wrong
    # answer with probability exactly 1/m, and coprime checks miss independently.
    deltas = [s * d for s in (-1, 1) for d in range(1, 841)]

    def missed(*moduli: int) -> float:
        return sum(all(d % m == 0 for m in moduli) for d in deltas) / len(deltas)

    assert missed(3) == pytest.approx(1 / 3)
    assert missed(4) == pytest.approx(1 / 4)
    assert missed(3, 4) == pytest.approx(1 / 12)
    assert missed(3, 4, 5) == pytest.approx(1 / 60)
    assert missed(3, 4, 5, 7) == pytest.approx(1 / 420)  # ±420 and ±840 slip past all four
    kind = GateSumKind()
    rng = random.Random(1)
    drawn = [kind.wrong({}, 1000, rng) - 1000 for _ in range(5000)]
    assert all(1 <= abs(d) <= 840 for d in drawn)
    assert sum(d % 3 == 0 for d in drawn) / len(drawn) == pytest.approx(1 / 3, abs=0.02)


def test_residue_kind_parses_strictly() -> None:
    kind = ResidueKind()
    payload = {"numbers": [10, 20, 5], "modulus": 7}
    assert kind.parse(kind.render(kind.solve(payload))) == 0
    assert kind.items(payload) == 3
    rng = random.Random(0)
    assert all(kind.wrong(payload, 0, rng) in range(1, 7) for _ in range(50))
    for bad in ("residue: 3", "The remainder is 3.", "residue = ?", "residue = 3\nsure"):
        with pytest.raises(RedFlag):
            kind.parse(bad)


def test_verdict_scores_follow_the_stated_distributions() -> None:
    kind = VerdictKind()
    right = [
        kind.solve({"numbers": [i, 1], "candidate": i + 1, "attempt": 0}) for i in range(20_000)
    ]
    wrong = [
        kind.solve({"numbers": [i, 1], "candidate": i + 2, "attempt": 0}) for i in range(20_000)
    ]
    for theta in (25, 50, 100):
        passed_right = sum(s >= theta for s in right) / len(right)
        passed_wrong = sum(s >= theta for s in wrong) / len(wrong)
        assert passed_right == pytest.approx(1 - 0.3 * theta / 101, abs=0.01)
        assert passed_wrong == pytest.approx(math.exp(-theta / 15), abs=0.006)
    # each review (attempt) is a fresh draw
    again = [kind.solve({"numbers": [i, 1], "candidate": i + 2, "attempt": 1}) for i in range(200)]
    assert again != wrong[:200]
    with pytest.raises(RedFlag):
        kind.parse("score = 101")


# --- exact call counts on perfect models --------------------------------------------------------


@pytest.mark.parametrize(("g", "checks"), [(0.0, 0), (0.25, 1), (0.5, 2), (1.0, 4)])
def test_redflag_gate_costs_one_check_call_per_check(g: float, checks: int) -> None:
    setting = PERFECT.setting("redflag", g)
    total, session = run(PERFECT, lambda s: gated_sum(s, [1, 2, 3, 4], setting, u=0.0))
    assert total == 10
    roles = session.ledger.group_by("role")
    assert session.totals()["calls"] == 1 + checks
    assert roles["worker"]["calls"] == 1
    assert roles.get("checker", {}).get("calls", 0) == checks


def test_redflag_gate_dithers_a_fractional_count() -> None:
    setting = PERFECT.setting("redflag", 0.6)  # n = 2.4: 3 checks when u < 0.4, else 2
    for u, calls in ((0.1, 4), (0.9, 3)):
        _, session = run(PERFECT, lambda s, u=u: gated_sum(s, [5, 6], setting, u=u))
        assert session.totals()["calls"] == calls


@pytest.mark.parametrize(("g", "k"), [(0.0, 1), (0.25, 2), (1.0, 5)])
def test_vote_gate_draws_k_samples_when_all_agree(g: float, k: int) -> None:
    setting = PERFECT.setting("vote", g)
    total, session = run(PERFECT, lambda s: gated_sum(s, [7, 8, 9], setting, u=0.0))
    assert (total, session.totals()["calls"]) == (24, k)


def test_verifier_gate_makes_no_call_at_zero_and_one_per_attempt_above() -> None:
    _, session = run(
        PERFECT, lambda s: gated_sum(s, [1, 1], PERFECT.setting("verifier", 0.0), u=0.0)
    )
    assert session.totals()["calls"] == 1
    total, session = run(
        PERFECT, lambda s: gated_sum(s, [1, 1], PERFECT.setting("verifier", 0.5), u=0.0)
    )
    roles = session.ledger.group_by("role")
    assert total == 2
    assert roles["worker"]["calls"] == roles["verifier"]["calls"] >= 1
    # attempts beyond the first happen only when the (perfect) verifier was unsure and scored
    # the right answer below θ = 50: reproduce its verdicts from the score model
    scores = [
        VerdictKind().solve({"numbers": [1, 1], "candidate": 2, "attempt": a}) for a in range(8)
    ]
    first_pass = next(a for a, s in enumerate(scores) if s >= 50)
    assert roles["verifier"]["calls"] == first_pass + 1


def test_gates_stop_wrong_answers_and_give_up_with_a_clear_error() -> None:
    always_wrong = replace(PERFECT, worker=replace(PERFECT.worker, base_error=1.0, max_error=1.0))
    setting = always_wrong.setting("redflag", 1.0)
    with pytest.raises(StepFailed) as info:
        run(always_wrong, lambda s: gated_sum(s, [100, 200, 300], setting, u=0.0))
    message = str(info.value)
    assert re.fullmatch(
        r"The redflag gate \(4 checks \(mod 3, 4, 5, 7\)\) rejected 8 answers in a row for one "
        r"step \(the last: sum mod \d is \d, the answer's residue is \d\)\. Lower the gate "
        r"strength, raise max_attempts, or use a more reliable worker",
        message,
    ), message
    # without a gate the wrong answer ships
    total, _ = run(
        always_wrong,
        lambda s: gated_sum(s, [100, 200, 300], always_wrong.setting("redflag", 0.0), u=0.0),
    )
    assert total != 600


def test_flagged_checks_are_recorded_as_flagged_calls() -> None:
    always_wrong = replace(PERFECT, worker=replace(PERFECT.worker, base_error=1.0, max_error=1.0))
    setting = always_wrong.setting("redflag", 0.25)  # one mod-3 check: misses 1/3 of the slips

    async def body(s: Session) -> int | None:
        try:
            return await gated_sum(s, [11, 22, 33], setting, u=0.0)
        except StepFailed:
            return None

    _, session = run(always_wrong, body)
    roles = session.ledger.group_by("role")
    attempts = roles["worker"]["calls"]
    assert roles["checker"]["calls"] == attempts
    # every attempt but a shipped last one was flagged by its check
    assert session.totals()["flagged_calls"] in (attempts, attempts - 1)


def test_docstring_examples() -> None:
    import doctest

    import hakaru.gates.mechanisms as module

    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
