"""First-to-ahead-by-k voting: the F9 values of docs/papers.md, through a real Session.

The scripted backend answers each draw by its vote id (the draw index the voter puts on the
request), so a test states the sequence of samples — candidates, and ``X`` for a response the
validator flags — exactly as docs/papers.md writes vote sequences (F9).
"""

from __future__ import annotations

import asyncio
import doctest
import importlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes import ScriptedBackend
from hakaru import RedFlag, Request, StepFailed
from hakaru.errors import ConfigError
from hakaru.patterns.validators import FormatFlag, strict
from hakaru.patterns.vote import VoteResult, decided, tally, vote
from hakaru.session import Session
from hakaru.types import CallRecord


def parse(text: str) -> str:
    if text == "X":
        raise FormatFlag("flagged on purpose")
    return text


def run_vote(
    samples: Sequence[str], k: int, **kw: object
) -> tuple[VoteResult[str], list[CallRecord], ScriptedBackend]:
    backend = ScriptedBackend(lambda req, n: samples[req.vote or 0])

    async def main() -> tuple[VoteResult[str], Session]:
        async with Session(backend) as s:
            request = Request.chat("m", "which?", step=7)
            result = await vote(s, request, strict(parse), k=k, **kw)  # type: ignore[arg-type]
            return result, s

    result, s = asyncio.run(main())
    return result, s.records, backend


# -- the F9 oracles (docs/papers.md, MAKER) ----------------------------------------------------

F9 = [
    # (k, sequence, winner, decided at vote, counts)
    (3, "AAA", "A", 3, {"A": 3}),
    (3, "ABAAA", "A", 5, {"A": 4, "B": 1}),
    (3, "ABABAAA", "A", 7, {"A": 5, "B": 2}),
    (3, "ABCAAA", "A", 6, {"A": 4, "B": 1, "C": 1}),
    (1, "BA", "B", 1, {"B": 1}),
    (2, "ABBB", "B", 4, {"A": 1, "B": 3}),
]


@pytest.mark.parametrize(("k", "seq", "winner", "at", "counts"), F9)
def test_f9_oracles_pure(k: int, seq: str, winner: str, at: int, counts: dict[str, int]) -> None:
    assert tally(seq, k) == (winner, at, counts)


@pytest.mark.parametrize(("k", "seq", "winner", "at", "counts"), F9)
def test_f9_oracles_through_the_session(
    k: int, seq: str, winner: str, at: int, counts: dict[str, int]
) -> None:
    result, records, _ = run_vote(seq + "ZZZZ", k)  # Z: never drawn
    assert (result.winner, result.votes, result.counts) == (winner, at, counts)
    assert result.sequence == list(seq[:at])
    assert len(records) == at  # votes after the decision are not drawn
    assert [r.vote for r in records] == list(range(at))
    assert {r.step for r in records} == {7}
    assert [r.candidate for r in records] == list(seq[:at])


def test_undecided_sequences() -> None:
    assert tally("ABABAA", 3) == (None, 6, {"A": 4, "B": 2})  # 4 < 2 + 3
    assert tally("AB", 2)[0] is None
    assert tally("ABB", 2) == (None, 3, {"A": 1, "B": 2})


def test_ties_need_the_full_margin() -> None:
    result, _, _ = run_vote("ABABABBB", 2)
    assert (result.winner, result.votes) == ("B", 8)
    assert tally("ABABABBB", 2)[:2] == ("B", 8)


def test_decided_checks_only_the_max_other() -> None:
    assert decided({"A": 4, "B": 1, "C": 1}, "A", 3)
    assert not decided({"A": 4, "B": 2, "C": 1}, "A", 3)
    assert decided({"A": 3}, "A", 3) and not decided({"A": 2}, "A", 3)


# -- red flags ------------------------------------------------------------------------------------


def test_flagged_samples_never_vote_and_are_recorded() -> None:
    result, records, _ = run_vote("AXAXA", 3)
    assert (result.winner, result.votes, result.flagged, result.samples) == ("A", 3, 2, 5)
    assert result.counts == {"A": 3}
    assert result.valid_fraction == pytest.approx(3 / 5)
    assert result.flag_kinds == {"format": 2}
    assert [r.status for r in records] == ["ok", "flagged", "ok", "flagged", "ok"]
    assert [r.candidate for r in records] == ["A", "", "A", "", "A"]
    assert all(r.error_kind == "red_flag" for r in records if r.status == "flagged")


def test_a_flag_between_votes_changes_nothing() -> None:
    plain, _, _ = run_vote("ABAAA", 3)
    flagged, _, _ = run_vote("AXBXXAAXA", 3)
    assert (plain.winner, plain.counts) == (flagged.winner, flagged.counts)
    assert flagged.flagged == 4


def test_flag_cap_ends_in_step_failed() -> None:
    with pytest.raises(StepFailed) as err:
        run_vote("AXXX" + "X" * 20, 3, max_flagged=3)
    message = str(err.value)
    assert message.startswith("Step 7 (model 'm') hit the cap of 3 flagged samples")
    assert "valid votes 1×'A'" in message and "flagged on purpose" in message


def test_sample_cap_ends_in_step_failed() -> None:
    with pytest.raises(StepFailed) as err:
        run_vote("ABABABABAB", 3, max_samples=6)
    assert str(err.value) == (
        "Step 7 (model 'm') was not decided within 6 samples: no candidate got 3 votes ahead "
        "(valid votes 3×'A', 3×'B'; 0 flagged). Raise max_samples, or use a more reliable "
        "model or a lower temperature"
    )


def test_caps_count_every_draw() -> None:
    _, records, _ = run_vote("AXA" + "B" * 10, 3, max_samples=12)
    # A X A B B B B B → B reaches 5 > 2 + 3 at draw 8
    assert len(records) == 8


# -- concurrency and temperatures ----------------------------------------------------------------


def test_first_k_samples_run_concurrently_then_only_what_can_decide() -> None:
    result, records, backend = run_vote("ABABAAA", 3)
    assert backend.max_in_flight == 3  # the first round: k draws at once
    assert result.rounds == 3  # 3 draws (margin 1), then 2, then 2
    assert len(records) == 7


def test_temperature_schedule_per_draw() -> None:
    _, _, backend = run_vote("XAAA", 3, temperatures=(0.0, 0.1, 0.7))
    temps = [(r.vote, r.temperature) for r in backend.requests]
    assert sorted(temps) == [(0, 0.0), (1, 0.1), (2, 0.7), (3, 0.7)]


def test_default_schedule_first_greedy_rest_point_one() -> None:
    _, _, backend = run_vote("ABAAA", 3)
    assert sorted(r.temperature for r in backend.requests) == [0.0, 0.1, 0.1, 0.1, 0.1]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from("AABBCX"), min_size=1, max_size=30),
    st.integers(min_value=1, max_value=4),
)
def test_rounds_reproduce_the_sequential_rule(samples: list[str], k: int) -> None:
    """Batched draws decide on the same vote as the one-at-a-time rule, and draw no more."""
    seq = "".join(samples) + "Z" * 40  # enough to decide eventually: Z's run ahead
    valid = [c for c in seq if c != "X"]
    winner, at, counts = tally(valid, k)
    result, records, _ = run_vote(seq, k, max_samples=200, max_flagged=200)
    assert (result.winner, result.votes, result.counts) == (winner, at, counts)
    # the draws consumed are exactly the prefix of the sequence up to the decisive vote
    decisive = [i for i, c in enumerate(seq) if c != "X"][at - 1]
    assert sorted(r.vote for r in records) == list(range(decisive + 1))


# -- argument errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"k": 0}, "The voting margin k is 0. Use k >= 1 (k = 1: the first valid vote)."),
        ({"k": 3, "temperatures": ()}, "The temperature schedule is empty."),
        ({"k": 3, "max_samples": 2}, "max_samples is 2, below k = 3"),
        ({"k": 3, "max_flagged": 0}, "max_flagged is 0. Allow at least 1 flagged sample."),
    ],
)
def test_bad_arguments(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        run_vote("AAA", **kw)  # type: ignore[arg-type]
    assert str(err.value).startswith(message)


def test_a_plain_redflag_counts_as_other() -> None:
    def plain(text: str) -> str:
        raise RedFlag("no")

    backend = ScriptedBackend(lambda req, n: "A")

    async def main() -> None:
        async with Session(backend) as s:
            await vote(s, Request.chat("m", "q"), strict(plain), k=1, max_flagged=2)

    with pytest.raises(StepFailed, match=r"^A vote \(model 'm'\) hit the cap of 2"):
        asyncio.run(main())


@pytest.mark.parametrize(
    "name",
    [
        "hakaru.patterns.vote",
        "hakaru.patterns.validators",
        "hakaru.mdap.hanoi.rules",
        "hakaru.mdap.hanoi.parsers",
        "hakaru.mdap.hanoi.kind",
        "hakaru.mdap.hanoi.task",
        "hakaru.mdap.driver",
        "hakaru.mdap.diagnostics",
        "hakaru.mdap.calibrate",
        "hakaru.mdap.run",
    ],
)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
