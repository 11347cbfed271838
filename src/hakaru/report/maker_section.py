"""The MAKER section of a report: where a step driver's votes went and where its errors came from.

:func:`load_maker` reads a run of ``hakaru maker run`` (kind ``maker``) from the run store — and
every segment of it, when it was resumed — and rebuilds the run's
:class:`~hakaru.mdap.diagnostics.Diagnostics` from the stored call records alone (``step``,
``vote``, ``status``, ``candidate``, ``output_tokens``, ``parents``). The records are streamed
once, step by step: only the current step's draws are held, so a 20-disk run (3 million records)
is summarised in constant memory.

How a step is rebuilt. A vote draws in rounds (:func:`hakaru.patterns.vote.vote`); a flagged draw
is redrawn in the same slot of its round, and the redraw's only parent is the flagged call
(happens-before, tracked by the session), as is a retry's after a failed attempt. Following
those links gives every slot's valid vote; the slots in order of their first draw are the votes
in the order the driver tallied them. Replaying the first-to-ahead-by-k rule round by round
(round 1: k votes; then k − margin) gives the winner and the number of rounds. A vote is
*wrong* when it differs from the step's winner, which the driver checked against the ground
truth before going on (it stops at the first wrong step); the last step of the run is checked
against the task's own ground truth (Towers of Hanoi) when it can be rebuilt from the run's
parameters. The figures are then those of ``hakaru maker run --json``'s ``diagnostics``.

Resumed runs. A segment's steps from the first step its successor redid on are superseded: their
calls count in the totals (they were paid for) but not in the diagnostics, as in the driver,
which restarts from its checkpoint.

:func:`add_maker_reports` puts the summaries of the maker runs of a report under
``ReportData.extras["maker"]``; :func:`maker_sections` (registered as ``maker``, order 120,
between a run's ledger and its call DAG) shows them: totals and the planner's prediction against
what happened, collisions against the independent-errors prediction, undecided steps per
sampling round with the fitted exponential decay, the error rate against response length, and
the worst steps. Candidates are shown as escaped text.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from hakaru.errors import ConfigError
from hakaru.mdap.diagnostics import Diagnostics
from hakaru.patterns.vote import VoteResult, decided
from hakaru.report.plots import _styled, new_figure, svg_of
from hakaru.report.sections import (
    Cell,
    Figure,
    ReportData,
    Section,
    Table,
    Tone,
    register_section,
)

if TYPE_CHECKING:
    from hakaru.store import RunInfo, RunStore
    from hakaru.types import CallRecord

__all__ = [
    "Decay",
    "MakerReport",
    "StepVotes",
    "WorstStep",
    "add_maker_reports",
    "fit_decay",
    "load_maker",
    "maker_run_sections",
    "maker_sections",
    "rebuild_step",
]

EXTRAS_KEY = "maker"
_WORST = 5  # worst steps listed (as many as the driver's diagnostics keep)
_TARGET = 0.95  # the target of the k_min shown against the run's k
_TEXT = 120  # characters of a candidate shown


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


@dataclass(frozen=True, order=True)
class WorstStep:
    """A step with many wrong votes (ordered like the driver's worst steps)."""

    wrong: int
    votes: int
    step: int
    flagged: int = field(compare=False)
    rounds: int = field(compare=False)
    winner: str = field(compare=False)
    wrong_answer: str = field(compare=False)  # the most frequent wrong candidate
    winner_right: bool = field(compare=False, default=True)


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


@dataclass(frozen=True)
class MakerReport:
    """A maker run (all its segments) summarised from its stored call records."""

    run_id: str  # the newest segment
    segments: tuple[str, ...]  # oldest first
    name: str
    params: dict[str, Any]
    k: int
    steps: int | None  # the task's steps s (None: not known from the parameters)
    status: str  # of the newest segment: done, failed, running
    outcome: str  # solved, failed, stopped, not finished
    reason: str
    totals: dict[str, float]  # every call of every segment
    diagnostics: Diagnostics
    worst: tuple[WorstStep, ...]
    redone_calls: int  # calls of steps a later segment redid
    open_step: StepVotes | None  # the step the run stopped in without a decision
    notes: tuple[str, ...] = ()

    @property
    def steps_done(self) -> int:
        """Steps decided and accepted."""
        return self.diagnostics.steps - self.diagnostics.wrong_steps

    def prediction(self, target: float = _TARGET) -> dict[str, float] | None:
        """What the planner predicts from the p̂ and v̂ measured here (None: p̂ ≤ 0.5)."""
        from hakaru.mdap.planner import expected_calls, expected_votes, full_success, k_min

        d = self.diagnostics
        p, v = d.p_hat, d.v_hat
        if p is None or not v or p <= 0.5 or not d.steps:
            return None
        out = {
            "p_hat": p,
            "v_hat": v,
            "votes_per_step": expected_votes(p, self.k),
            "calls": expected_calls(p, d.steps, self.k, v=v),
            "dollars": self.dollars_per_call * expected_calls(p, d.steps, self.k, v=v),
        }
        if self.steps:
            out["p_full"] = full_success(p, self.k, self.steps)
            out["k_min"] = float(k_min(p, self.steps, target))
            out["target"] = target
            out["calls_all_steps"] = expected_calls(p, self.steps, self.k, v=v)
        return out

    @property
    def dollars_per_call(self) -> float:
        calls = self.totals.get("calls", 0.0)
        return self.totals.get("dollars", 0.0) / calls if calls else 0.0

    def decay(self) -> Decay | None:
        return fit_decay([r["undecided"] for r in self.diagnostics.undecided_by_round()])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the run, totals, outcome, diagnostics, prediction and decay."""
        decay = self.decay()
        return {
            "run_id": self.run_id,
            "segments": list(self.segments),
            "params": self.params,
            "k": self.k,
            "steps": self.steps,
            "steps_done": self.steps_done,
            "status": self.status,
            "outcome": self.outcome,
            "reason": self.reason,
            "totals": self.totals,
            "redone_calls": self.redone_calls,
            "diagnostics": self.diagnostics.summary(),
            "predicted": self.prediction(),
            "decay": None if decay is None else {"q": decay.q, "rate": decay.rate},
            "notes": list(self.notes),
        }


# -- rebuilding the votes ---------------------------------------------------------------------


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
    (0.244, 400, 5)
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


# -- loading a run ----------------------------------------------------------------------------


def _chain(store: RunStore, info: RunInfo) -> list[RunInfo]:
    """Every segment of the run ``info`` belongs to, oldest first (back through
    ``resumed_from``, forward through the newest run resumed from the last one)."""
    back = [info]
    seen = {info.id}
    while back[-1].params.get("resumed_from"):
        prev = store.run(str(back[-1].params["resumed_from"]))
        if prev.id in seen:
            break
        seen.add(prev.id)
        back.append(prev)
    chain = back[::-1]
    children: dict[str, list[RunInfo]] = {}
    for run in store.runs(limit=None, kind="maker"):
        parent = run.params.get("resumed_from")
        if parent:
            children.setdefault(str(parent), []).append(run)
    while chain[-1].id in children:
        nxt = max(children[chain[-1].id], key=lambda r: (r.created, r.id))
        if nxt.id in seen:
            break
        seen.add(nxt.id)
        chain.append(nxt)
    return chain


def _first_step(store: RunStore, run_id: str) -> int | None:
    calls = store.calls(run_id)
    try:
        return next((rec.step for rec in calls if rec.step is not None), None)
    finally:
        _close(calls)


def _close(it: Iterator[Any]) -> None:
    close = getattr(it, "close", None)  # a generator: release its cursor now
    if close is not None:
        close()


def _infer_k(store: RunStore, run_id: str) -> int | None:
    """k from the first unanimous step (a lone candidate is decided at exactly k votes)."""
    calls = store.calls(run_id)
    try:
        for _, recs in _steps(calls, None):
            votes = [r.candidate for r in recs if _valid(r)]
            if votes and len(set(votes)) == 1:
                return len(votes)
        return None
    finally:
        _close(calls)


def _steps(
    records: Iterable[CallRecord], totals: dict[str, float] | None
) -> Iterator[tuple[int, list[CallRecord]]]:
    """The records grouped by step (consecutive in call order), adding every call to ``totals``."""
    step: int | None = None
    buf: list[CallRecord] = []
    for rec in records:
        if totals is not None:
            _count(totals, rec)
        if rec.step is None:
            continue
        if rec.step != step:
            if buf and step is not None:
                yield step, buf
            step, buf = rec.step, []
        buf.append(rec)
    if buf and step is not None:
        yield step, buf


_TOTALS = (
    "calls",
    "ok_calls",
    "failed_calls",
    "cached_calls",
    "flagged_calls",
    "input_tokens",
    "output_tokens",
    "forward_passes",
    "dollars",
)


def _count(totals: dict[str, float], rec: CallRecord) -> None:
    # The ledger's additive totals, as hakaru.mdap.resume.stored_totals counts them.
    if rec.status == "cached":
        totals["cached_calls"] += 1
        return
    totals["calls"] += 1
    totals[{"ok": "ok_calls", "error": "failed_calls", "flagged": "flagged_calls"}[rec.status]] += 1
    if rec.executed:
        totals["input_tokens"] += rec.input_tokens
        totals["output_tokens"] += rec.output_tokens
        totals["forward_passes"] += rec.output_tokens
        totals["dollars"] += (
            rec.input_tokens * rec.price_in + rec.output_tokens * rec.price_out
        ) / 1e6


def _truth_of(params: dict[str, Any], step: int) -> str | None:
    """The right candidate of ``step`` as the records hold it, when the task can be rebuilt."""
    if params.get("task") != "hanoi" or not isinstance(params.get("disks"), int):
        return None
    from hakaru.mdap.hanoi import HanoiTask, solution_length

    disks = int(params["disks"])
    if not 1 <= step <= solution_length(disks):
        return None
    task = HanoiTask(disks)
    right = task.truth(*task.input_at(step))
    return repr(right)[:200]  # as Session records a candidate


def _steps_of(params: dict[str, Any]) -> int | None:
    if params.get("task") == "hanoi" and isinstance(params.get("disks"), int):
        from hakaru.mdap.hanoi import solution_length

        return solution_length(int(params["disks"]))
    steps = params.get("steps")
    return int(steps) if isinstance(steps, int) else None


class _Acc:
    """The running diagnostics and the worst steps (kept like the driver's, with details)."""

    def __init__(self, k: int) -> None:
        self.diag = Diagnostics(k)
        self.worst: list[WorstStep] = []

    def add(self, sv: StepVotes, truth: str | None) -> bool:
        assert sv.winner is not None
        counts: dict[str, int] = {}
        for c in sv.sequence:
            counts[c] = counts.get(c, 0) + 1
        result: VoteResult[str] = VoteResult(
            winner=sv.winner,
            k=self.diag.k,
            counts=counts,
            sequence=list(sv.sequence),
            tokens=list(sv.tokens),
            flagged=len(sv.flagged_tokens),
            flag_kinds=dict(sv.flag_kinds),
            flagged_tokens=list(sv.flagged_tokens),
            rounds=sv.rounds,
        )
        right = self.diag.add(sv.step, result, truth)
        if truth is not None:
            wrong = {c: n for c, n in counts.items() if c != truth}
            n_wrong = sum(wrong.values())
            if n_wrong:
                item = WorstStep(
                    wrong=n_wrong,
                    votes=len(sv.sequence),
                    step=sv.step,
                    flagged=len(sv.flagged_tokens),
                    rounds=sv.rounds,
                    winner=sv.winner,
                    wrong_answer=max(wrong, key=lambda c: (wrong[c], c)),
                    winner_right=right,
                )
                if len(self.worst) < _WORST:
                    heapq.heappush(self.worst, item)
                elif item > self.worst[0]:
                    heapq.heapreplace(self.worst, item)
        return right


def load_maker(store: RunStore, ref: str) -> MakerReport:
    """Summarise the maker run ``ref`` (an id or unique prefix; any of its segments).

    Streams every segment's call records once (constant memory in the number of calls).
    """
    info = store.run(ref)
    if info.kind != "maker":
        raise ConfigError(
            f"Run {info.id} is a '{info.kind}' run, not a MAKER run. Give a run listed by "
            "'hakaru runs list' with kind 'maker'."
        )
    chain = _chain(store, info)
    last = chain[-1]
    params = {k: v for k, v in last.params.items() if k != "resumed_from"}
    notes: list[str] = []
    k = params.get("k")
    if not isinstance(k, int) or k < 1:
        k = _infer_k(store, chain[0].id)
        if k is None:
            raise ConfigError(
                f"Run {info.id} records no voting margin k and no step decided unanimously, so "
                "its votes cannot be replayed. Report a run of 'hakaru maker run'."
            )
        notes.append(f"The run's parameters do not record k; k = {k} is read from its votes.")
    max_out = params.get("max_output_tokens", 750)
    parser = str(params.get("parser", "flag"))
    firsts = [_first_step(store, seg.id) for seg in chain]
    totals = dict.fromkeys(_TOTALS, 0.0)
    acc = _Acc(k)
    redone = 0
    pending: StepVotes | None = None
    open_step: StepVotes | None = None
    for j, seg in enumerate(chain):
        later = [f for f in firsts[j + 1 :] if f is not None]
        cutoff = min(later) if later else None
        for step, recs in _steps(store.calls(seg.id), totals):
            if cutoff is not None and step >= cutoff:
                redone += len(recs)
                continue
            sv = rebuild_step(step, recs, k, max_output_tokens=max_out, parser=parser)
            if sv.winner is None:  # the run stopped inside this step
                if j == len(chain) - 1:
                    open_step = sv
                continue
            if pending is not None:
                acc.add(pending, pending.winner)  # the driver went on: its winner was right
            pending = sv
    reason = str((last.summary or {}).get("reason", ""))
    solved = (last.summary or {}).get("solved")
    if pending is not None:
        truth = _truth_of(params, pending.step)
        if truth is None:
            failed = solved is False and reason.startswith(f"step {pending.step}:")
            truth = None if failed else pending.winner
            if failed:
                notes.append(
                    f"Step {pending.step} chose a wrong answer and the task's ground truth "
                    "cannot be rebuilt here: its votes are not scored."
                )
        acc.add(pending, truth)
    diag = acc.diag
    steps = _steps_of(params)
    status = last.status
    if open_step is not None:
        outcome = "stopped"
        why = (
            "the run was killed or is still running"
            if status == "running"
            else ("no decision within the sample caps" if status == "failed" else "no decision")
        )
        reason = reason or (
            f"step {open_step.step}: {why} after {open_step.draws} draws "
            f"({len(open_step.sequence)} valid votes)"
        )
    elif diag.wrong_steps or solved is False:
        outcome = "failed"
    elif solved or (steps is not None and diag.steps == steps and status == "done"):
        outcome = "solved"
    elif status == "running":
        outcome = "not finished"
    elif status == "failed":
        outcome = "failed"
    elif steps is not None and diag.steps < steps:
        outcome = "stopped"
    else:
        outcome = "done"  # a task of unknown length, finished
    if outcome == "failed" and not reason and diag.wrong_steps:
        reason = f"a voted step was wrong (step {diag.steps})"
    if outcome in ("stopped", "not finished") and status != "done":
        notes.append(
            f"Continue it with 'hakaru maker run --resume {last.id}' (a higher --max-samples "
            "or --max-flagged if a step hit a cap)."
        )
    if redone:
        notes.append(
            f"{redone:,} calls were spent on steps a resumed segment redid after its checkpoint: "
            "they count in the totals, not in the diagnostics."
        )
    return MakerReport(
        run_id=last.id,
        segments=tuple(seg.id for seg in chain),
        name=last.name,
        params=params,
        k=k,
        steps=steps,
        status=status,
        outcome=outcome,
        reason=reason,
        totals=totals,
        diagnostics=diag,
        worst=tuple(sorted(acc.worst, reverse=True)),
        redone_calls=redone,
        open_step=open_step,
        notes=tuple(notes),
    )


def add_maker_reports(store: RunStore, data: ReportData) -> None:
    """Summarise each maker run of ``data.runs`` (once per chain of segments) into
    ``data.extras["maker"]``, for :func:`maker_sections`."""
    reports: list[MakerReport] = data.extras.setdefault(EXTRAS_KEY, [])
    seen = {s for r in reports for s in r.segments}
    for run in data.runs:
        if run.info.kind != "maker" or run.info.id in seen:
            continue
        report = load_maker(store, run.info.id)
        seen.update(report.segments)
        reports.append(report)


# -- the section ------------------------------------------------------------------------------


def _short(text: str) -> str:
    return text if len(text) <= _TEXT else text[: _TEXT - 1] + "…"


def _num(x: float | None, fmt: str = "{:,.0f}") -> str:
    return "–" if x is None else fmt.format(x)


def _usd(x: float) -> str:
    return f"${x:,.2f}" if abs(x) >= 1 else f"${x:.6f}"


def _totals_table(r: MakerReport) -> Table:
    d, t = r.diagnostics, r.totals
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in sorted(d.flag_kinds.items()))
    tone: Tone = "good" if r.outcome == "solved" else "bad"
    rows: list[tuple[str, str | Cell]] = [
        ("outcome", Cell(r.outcome + (f": {r.reason}" if r.reason else ""), tone)),
        (
            "steps decided / task steps",
            f"{d.steps:,} / {r.steps:,}" if r.steps else f"{d.steps:,}",
        ),
        ("calls (every draw, every segment)", f"{t['calls']:,.0f}"),
        ("valid draws", f"{t['ok_calls']:,.0f}"),
        ("flagged (discarded)", f"{t['flagged_calls']:,.0f}" + (f" ({kinds})" if kinds else "")),
        ("failed attempts", f"{t['failed_calls']:,.0f}"),
        ("valid fraction v̂", _num(d.v_hat, "{:.5f}")),
        ("per-vote accuracy p̂", _num(d.p_hat, "{:.5f}")),
        ("wrong votes", f"{d.wrong_votes:,}"),
        ("votes per step", _num(d.votes / d.steps if d.steps else None, "{:.4f}")),
        ("most votes in one step", f"{max(d.decided_at, default=0):,}"),
        ("input / output tokens", f"{t['input_tokens']:,.0f} / {t['output_tokens']:,.0f}"),
        ("cost (USD)", _usd(t["dollars"])),
        ("USD per call", _usd(r.dollars_per_call)),
    ]
    return Table(("quantity", "value"), rows, caption="Totals over every segment.")


def _prediction_table(r: MakerReport) -> Table | None:
    pred = r.prediction()
    if pred is None:
        return None
    d, t = r.diagnostics, r.totals
    spent = d.samples  # the draws of the steps counted (redone steps left out)
    rows: list[tuple[str, str, str]] = [
        (
            "valid votes per step",
            f"{pred['votes_per_step']:.4f}",
            f"{d.votes / d.steps:.4f}",
        ),
        (f"calls for the {d.steps:,} steps voted", f"{pred['calls']:,.1f}", f"{spent:,}"),
        (
            "cost (USD) at the measured USD per call",
            _usd(pred["dollars"]),
            _usd(r.dollars_per_call * spent),
        ),
    ]
    if "p_full" in pred:
        done = r.outcome == "solved"
        rows += [
            (
                f"P(all {r.steps:,} steps right) at k = {r.k}",
                f"{pred['p_full']:.6f}",
                "solved" if done else r.outcome,
            ),
            (
                f"k_min for P(solved) ≥ {pred['target']:g}",
                f"{pred['k_min']:.0f}",
                f"k = {r.k} used",
            ),
            (
                f"calls for all {r.steps:,} steps",
                f"{pred['calls_all_steps']:,.0f}",
                f"{t['calls']:,.0f} so far" if d.steps < (r.steps or 0) else f"{t['calls']:,.0f}",
            ),
        ]
    return Table(
        ("quantity", "planner (p̂, v̂ of this run)", "measured"),
        rows,
        caption=f"The planner (hakaru.mdap.planner) at p̂ = {pred['p_hat']:.5f}, "
        f"v̂ = {pred['v_hat']:.5f}, k = {r.k}: exact expected votes (gambler's ruin), calls "
        "= votes / v̂.",
    )


def _poisson_tail(observed: int, mean: float) -> float | None:
    """P(X ≥ observed) for X ~ Poisson(mean): how surprising the collisions are if independent."""
    if mean <= 0:
        return None
    from scipy.stats import poisson

    return float(poisson.sf(observed - 1, mean))


def _collision_table(r: MakerReport) -> tuple[Table, str]:
    c = r.diagnostics.collision_summary()
    tail = _poisson_tail(c["observed"], c["predicted_independent"])
    ratio = c["ratio"]
    tone: Tone = "" if ratio is None else ("bad" if tail is not None and tail < 0.01 else "good")
    rows = [
        (
            f"{c['steps']:,}",
            f"{c['first_vote_error']:.5f}",
            f"{c['second_vote_error']:.5f}",
            f"{c['predicted_independent']:.2f}",
            f"{c['observed']:,}",
            f"{c['same_wrong']:,}",
            Cell("–" if ratio is None else f"{ratio:.2f}", tone),
            "–" if tail is None else f"{tail:.3g}",
        )
    ]
    if ratio is None:
        reading = (
            "No wrong first or second vote was seen, so independent errors predict no collision."
            if not c["observed"]
            else "Collisions were seen although the first or second votes' error rate is 0."
        )
    elif tail is not None and tail < 0.01:
        reading = (
            f"{c['observed']:,} collisions against {c['predicted_independent']:.2f} predicted "
            f"(ratio {ratio:.2f}; P ≤ {tail:.2g} if errors were independent): the samples' errors "
            "are correlated — voting cannot outvote an error that repeats."
        )
    else:
        reading = (
            f"{c['observed']:,} collisions against {c['predicted_independent']:.2f} predicted "
            f"(ratio {ratio:.2f}): consistent with independent errors at this sample size."
        )
    table = Table(
        (
            "steps with ≥ 2 votes",
            "ε₁ (1st vote wrong)",
            "ε₂ (2nd vote wrong)",
            "predicted n·ε₁·ε₂",
            "observed",
            "same wrong answer",
            "ratio",
            "P(≥ observed)",
        ),
        rows,
        caption="Collisions: steps whose first two valid votes are both wrong. P(≥ observed) is "
        "the Poisson tail at the independent-errors prediction.",
    )
    return table, reading


@_styled
def _undecided_figure(r: MakerReport, decay: Decay | None) -> Markup | None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

    d = r.diagnostics
    by_round = d.undecided_by_round()
    by_vote = d.undecided()
    if not by_round:
        return None
    fig, axes = new_figure(10.5, 3.2, 1, 2)
    left, right = axes[0, 0], axes[0, 1]
    xs = [0] + [row["round"] for row in by_round]
    ys = [d.steps] + [row["undecided"] for row in by_round]
    shown = [(x, y) for x, y in zip(xs, ys, strict=True) if y > 0]
    left.plot([x for x, _ in shown], [y for _, y in shown], "o", color="#4c78a8", ms=5,
              label="undecided steps")  # fmt: skip
    if decay is not None and decay.q > 0:
        import numpy as np

        grid = np.linspace(1, max(decay.rounds, 2), 50)
        left.plot(grid, [decay.predict(g) for g in grid], "-", color="#d95f02", linewidth=1.4,
                  label=f"fit: {decay.start:,}·{decay.q:.3g}^(r−1)")  # fmt: skip
    left.set_yscale("log")
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("sampling round r (round 1: the first k draws)", fontsize=8)
    left.set_title("steps still undecided after round r", fontsize=9, loc="left")
    left.legend(fontsize=7, loc="upper right")
    if by_vote:
        vx = [row["votes"] for row in by_vote if row["undecided"] > 0]
        vy = [row["undecided"] for row in by_vote if row["undecided"] > 0]
        right.plot(vx, vy, "o", color="#4c78a8", ms=5, label="observed")
        px = [row["votes"] for row in by_vote if row["predicted"]]
        py = [row["predicted"] for row in by_vote if row["predicted"]]
        if px:
            right.plot(px, py, "--", color="#777777", linewidth=1.2,
                       label="two candidates, i.i.d. at p̂")  # fmt: skip
        right.set_yscale("log")
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
        right.set_xlabel("valid votes n", fontsize=8)
        right.set_title("steps still undecided after n valid votes", fontsize=9, loc="left")
        if vx or px:
            right.legend(fontsize=7, loc="upper right")
    else:
        right.set_visible(False)
    for ax in (left, right):  # plain tick labels: mathtext costs time and adds nothing here
        ax.yaxis.set_major_formatter(FuncFormatter(_count_tick))
        ax.yaxis.set_minor_formatter(NullFormatter())
    return svg_of(fig)


def _count_tick(value: float, _pos: object = None) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


@_styled
def _length_figure(r: MakerReport) -> Markup | None:
    rows = r.diagnostics.by_length()
    if not rows:
        return None
    fig, ax = new_figure(10.5, 2.9)
    xs = list(range(len(rows)))
    err = [row["error_rate"] or 0.0 for row in rows]
    flag = [row["flagged"] / (row["votes"] + row["flagged"]) for row in rows]
    ax.bar([x - 0.2 for x in xs], err, width=0.4, color="#cf222e", label="wrong / valid votes")
    ax.bar([x + 0.2 for x in xs], flag, width=0.4, color="#9a6700",
           label="flagged / draws")  # fmt: skip
    draws = [row["votes"] + row["flagged"] for row in rows]
    labels = [
        f"{row['tokens']}\n{n:,} draw{'' if n == 1 else 's'}"
        for row, n in zip(rows, draws, strict=True)
    ]
    ax.set_xticks(xs, labels, fontsize=7)
    ax.set_xlabel("output tokens of the draw", fontsize=8)
    ax.set_ylabel("rate", fontsize=8)
    ax.set_title("error rate against response length", fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="upper left")
    return svg_of(fig)


def _decay_text(r: MakerReport, decay: Decay | None) -> str:
    d = r.diagnostics
    if not d.steps:
        return "No step was decided."
    if decay is None:
        return (
            f"Every one of the {d.steps:,} steps was decided in its first round of k = {r.k} draws."
        )
    if decay.q == 0:
        return (
            f"{decay.start:,} steps needed a second round and it decided all of them: the "
            "decay is immediate."
        )
    fit = "" if decay.r2 is None else f"; R² of the log counts {decay.r2:.3f}"
    share = r.k * d.steps / d.votes if d.votes else 0.0  # round 1 draws k valid votes per step
    return (
        f"After the first round {decay.start:,} of {d.steps:,} steps were open; each later round "
        f"left a fraction q = {decay.q:.3g} of the open ones open: an exponential decay at rate "
        f"−ln q = {decay.rate:.3g} per round (÷{1 / decay.q:.3g} per round; q fitted by maximum "
        f"likelihood over all rounds{fit}). The first rounds drew {share:.1%} of all valid votes."
    )


def _tally_text(sequence: Sequence[str]) -> str:
    counts: dict[str, int] = {}
    for c in sequence:
        counts[c] = counts.get(c, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    return ", ".join(f"{n}×{_short(c)}" for c, n in ranked)


def _overview(r: MakerReport) -> Section:
    p = r.params
    head = f"MAKER run {r.run_id}: {r.name or p.get('task', '')}"
    if "disks" in p:
        head += f", {p['disks']} disks"
    head += f", k = {r.k}" + (f", {p['model']}" if p.get("model") else "")
    segments = (
        f"The run has {len(r.segments)} segments (resumed {len(r.segments) - 1}×): "
        f"{', '.join(r.segments)}; the figures cover all of them. "
        if len(r.segments) > 1
        else ""
    )
    paragraphs = [
        segments + "Every draw of every step is a stored call. Each step's vote is rebuilt from "
        "them (a flagged draw is redrawn in its slot and never votes); a vote is wrong when it "
        "differs from the answer the simulator accepted."
    ]
    tables = [_totals_table(r)]
    pred = _prediction_table(r)
    if pred is not None:
        tables.append(pred)
    else:
        paragraphs.append("The planner needs p̂ > 0.5: no prediction.")
    notes = list(r.notes)
    if r.open_step is not None:
        o = r.open_step
        tally = _tally_text(o.sequence)
        notes.append(
            f"Step {o.step} was left undecided: {o.draws} draws, {len(o.flagged_tokens)} flagged"
            + (f"; votes {tally}" if tally else "")
            + "."
        )
    return Section(
        head, key=f"maker-{r.run_id}", paragraphs=paragraphs, tables=tables, notes=tuple(notes)
    )


def _undecided_section(r: MakerReport) -> Section | None:
    d = r.diagnostics
    by_round = d.undecided_by_round()
    if not by_round:
        return None
    decay = r.decay()
    figure = _undecided_figure(r, decay)
    rows = [
        (
            str(row["round"]),
            f"{row['undecided']:,}",
            "–" if decay is None else f"{decay.predict(row['round']):,.1f}",
        )
        for row in by_round
    ]
    return Section(
        f"Undecided steps per sampling round (run {r.run_id})",
        key=f"maker-undecided-{r.run_id}",
        paragraphs=(
            "Round 1 draws k votes at once; each later round draws k − margin more valid votes, "
            "the fewest that could decide. Under independent errors the steps still open fall "
            "geometrically from round to round.",
            _decay_text(r, decay),
        ),
        figures=()
        if figure is None
        else (
            Figure(
                figure,
                "Log scale. Left: per sampling round (round 0: every step), with the fitted "
                "exponential decay. Right: per valid vote, with the gambler's-ruin prediction for "
                "two candidates at p̂.",
            ),
        ),
        tables=(
            Table(
                ("round", "undecided after it", "fitted"),
                rows,
                caption="Steps still undecided after each sampling round.",
            ),
        ),
    )


def _errors_section(r: MakerReport) -> Section:
    d = r.diagnostics
    coll, reading = _collision_table(r)
    tables = [coll]
    length_rows = [
        (
            row["tokens"],
            f"{row['votes']:,}",
            f"{row['wrong']:,}",
            "–" if row["error_rate"] is None else f"{row['error_rate']:.4f}",
            f"{row['flagged']:,}",
            f"{row['flagged'] / (row['votes'] + row['flagged']):.4f}",
        )
        for row in d.by_length()
    ]
    if length_rows:
        tables.append(
            Table(
                ("output tokens", "valid votes", "wrong", "error rate", "flagged", "flagged share"),
                length_rows,
                caption="Error rate of valid votes and share of flagged draws per 100-token bin.",
            )
        )
    if r.worst:
        tables.append(
            Table(
                (
                    "step",
                    "valid votes",
                    "wrong",
                    "flagged",
                    "rounds",
                    "winner",
                    "most common wrong answer",
                ),
                [
                    (
                        f"{w.step:,}",
                        f"{w.votes:,}",
                        f"{w.wrong:,}",
                        f"{w.flagged:,}",
                        f"{w.rounds:,}",
                        Cell(_short(w.winner), "code" if w.winner_right else "bad"),
                        Cell(_short(w.wrong_answer), "code"),
                    )
                    for w in r.worst
                ],
                caption="The steps with the most wrong votes (a wrong winner in red).",
            )
        )
    figure = _length_figure(r)
    return Section(
        f"Where errors came from (run {r.run_id})",
        key=f"maker-errors-{r.run_id}",
        paragraphs=(
            "Collisions — steps whose first two valid votes are both wrong — against the count "
            "independent errors predict from the first and second votes' error rates. " + reading,
        ),
        figures=()
        if figure is None
        else (Figure(figure, "Wrong valid votes and flagged draws per 100-token bin."),),
        tables=tables,
    )


def maker_run_sections(r: MakerReport) -> list[Section]:
    """The sections of one maker run: overview and planner, undecided steps, errors."""
    return [s for s in (_overview(r), _undecided_section(r), _errors_section(r)) if s is not None]


@register_section("maker", order=120)
def maker_sections(data: ReportData) -> list[Section]:
    """One section per maker run in ``data.extras["maker"]`` (see :func:`add_maker_reports`)."""
    reports: Sequence[MakerReport] = data.extras.get(EXTRAS_KEY, ())
    return [s for r in reports for s in maker_run_sections(r)]
