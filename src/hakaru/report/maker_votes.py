"""Rebuilding a MAKER step's votes from its stored call records, and the decay of open steps.

A vote draws in rounds (:func:`hakaru.patterns.vote.vote`); a flagged draw is redrawn in the
same slot of its round, and the redraw's only parent is the flagged call (happens-before, tracked
by the session), as is a retry's after a failed attempt. :func:`rebuild_step` follows those links
to every slot's valid vote; the slots in order of their first draw are the votes in the order the
driver tallied them. Replaying the first-to-ahead-by-k rule round by round (round 1: k votes; then
k − margin) gives the winner and the number of rounds. :func:`fit_decay` fits the steps still
undecided after each sampling round with an exponential decay. Everything here works on the
records of one step at a time and knows nothing of the run store or of the report; the loading
is in :mod:`hakaru.report.maker_load`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hakaru.patterns.vote import decided

if TYPE_CHECKING:
    from hakaru.types import CallRecord

__all__ = ["Decay", "StepVotes", "fit_decay", "rebuild_step"]


@dataclass(frozen=True)
class StepVotes:
    """One step's draws as the driver tallied them (rebuilt from its call records)."""

    step: int
    sequence: tuple[str, ...]  # valid candidates, in tally order
    tokens: tuple[int, ...]  # output tokens of each valid vote
    flagged_tokens: tuple[int, ...]  # output tokens of each flagged draw
    flag_kinds: dict[str, int]
    winner: str | None  # None: the step was not decided (the run stopped in it)
    rounds: int  # sampling rounds drawn
    draws: int  # every draw, flagged and failed attempts included


@dataclass(frozen=True)
class Decay:
    """Undecided steps per sampling round fitted as U_r = U_1·q^(r−1).

    ``q`` is the maximum-likelihood per-round survival (steps still open after round r + 1 over
    steps open after round r, pooled over rounds); ``rate`` = −ln q per round (∞ when q = 0).
    """

    q: float
    rate: float
    start: int  # U_1: steps still open after the first round
    rounds: int  # the last round any step needed
    r2: float | None  # of ln U_r against the fitted line (rounds with U_r > 0), None: < 3 points

    def predict(self, r: float) -> float:
        return self.start * self.q ** (r - 1) if self.q > 0 else (self.start if r <= 1 else 0.0)


def _flagged(rec: CallRecord) -> bool:
    return rec.status == "flagged" or (rec.status == "cached" and rec.error_kind == "red_flag")


def _valid(rec: CallRecord) -> bool:
    return rec.status == "ok" or (rec.status == "cached" and not rec.error_kind)


def _flag_kind(rec: CallRecord, max_output_tokens: int | None, parser: str) -> str:
    """The driver's flag kind (length or format) from what the record holds (it has no domain
    checks; the repairing parser has no length flag)."""
    if parser == "flag" and (
        rec.finish_reason == "length"
        or (max_output_tokens is not None and rec.output_tokens > max_output_tokens)
    ):
        return "length"
    return "format"


def rebuild_step(
    step: int,
    records: Iterable[CallRecord],
    k: int,
    *,
    max_output_tokens: int | None = 750,
    parser: str = "flag",
) -> StepVotes:
    """One step's votes in the driver's tally order, its winner and rounds (module docstring)."""
    ordered = sorted(records, key=lambda r: (r.vote if r.vote is not None else -1, r.id))
    slots: list[tuple[str, int] | None] = []  # each slot's valid vote (candidate, tokens)
    owner: dict[int, int] = {}  # a flagged or failed call → its slot (its redraw continues it)
    flagged_tokens: list[int] = []
    kinds: dict[str, int] = {}
    for rec in ordered:
        parents = rec.parents
        if len(parents) == 1 and parents[0] in owner:
            slot = owner[parents[0]]
        else:
            slot = len(slots)
            slots.append(None)
        if _valid(rec):
            slots[slot] = (rec.candidate, rec.output_tokens)
        else:
            owner[rec.id] = slot
            if _flagged(rec):
                flagged_tokens.append(rec.output_tokens)
                kind = _flag_kind(rec, max_output_tokens, parser)
                kinds[kind] = kinds.get(kind, 0) + 1
    votes = [s for s in slots if s is not None]
    winner, rounds = _replay([c for c, _ in votes], k)
    return StepVotes(
        step=step,
        sequence=tuple(c for c, _ in votes),
        tokens=tuple(t for _, t in votes),
        flagged_tokens=tuple(flagged_tokens),
        flag_kinds=kinds,
        winner=winner,
        rounds=rounds,
        draws=len(ordered),
    )


def _replay(sequence: Sequence[str], k: int) -> tuple[str | None, int]:
    """First to ahead by k, round by round as :func:`~hakaru.patterns.vote.vote` draws."""
    counts: dict[str, int] = {}
    i = rounds = 0
    need = k
    while i < len(sequence):
        rounds += 1
        for cand in sequence[i : i + need]:
            i += 1
            counts[cand] = counts.get(cand, 0) + 1
            if decided(counts, cand, k):
                return cand, rounds
        ranked = [*sorted(counts.values(), reverse=True), 0]
        need = k - (ranked[0] - ranked[1])
    return None, rounds


def fit_decay(undecided: Sequence[int]) -> Decay | None:
    """Fit U_r = U_1·q^(r−1) to the steps still undecided after rounds r = 1, 2, … .

    q is the pooled maximum-likelihood survival per round: Σ_{r≥2} U_r / Σ_{r≥1} U_r over the
    rounds before the last. None when no step needed a second round.

    >>> d = fit_decay([400, 100, 25, 6, 0])
    >>> round(d.q, 3), d.start, d.rounds
    (0.247, 400, 5)
    """
    if len(undecided) < 2 or undecided[0] <= 0:
        return None
    trials = sum(undecided[:-1])
    survived = sum(undecided[1:])
    q = survived / trials if trials else 0.0
    rate = -math.log(q) if q > 0 else math.inf
    pts = [(r, u) for r, u in enumerate(undecided, start=1) if u > 0]
    r2 = None
    if q > 0 and len(pts) >= 3:
        ys = [math.log(u) for _, u in pts]
        fit = [math.log(undecided[0]) + (r - 1) * math.log(q) for r, _ in pts]
        mean = sum(ys) / len(ys)
        total = sum((y - mean) ** 2 for y in ys)
        resid = sum((y - f) ** 2 for y, f in zip(ys, fit, strict=True))
        r2 = 1.0 - resid / total if total > 0 else None
    return Decay(q=q, rate=rate, start=undecided[0], rounds=len(undecided), r2=r2)
