"""Loading a MAKER run from the run store: its segments, its votes and its Diagnostics.

:func:`load_maker` reads a run of ``hakaru maker run`` (kind ``maker``) from the run store — and
every segment of it, when it was resumed — and rebuilds the run's
:class:`~hakaru.mdap.diagnostics.Diagnostics` from the stored call records alone (``step``,
``vote``, ``status``, ``candidate``, ``output_tokens``, ``parents``). The records are streamed
once, step by step: only the current step's draws are held, so a 20-disk run (3 million records)
is summarised in constant memory. Each step's votes are rebuilt by
:func:`~hakaru.report.maker_votes.rebuild_step`. A vote is *wrong* when it differs from the
step's winner, which the driver checked against the ground truth before going on (it stops at
the first wrong step); the last step of the run is checked against the task's own ground truth
(Towers of Hanoi) when it can be rebuilt from the run's parameters. The figures are then those of
``hakaru maker run --json``'s ``diagnostics``, held in a :class:`MakerReport`.

Resumed runs. A segment's steps from the first step its successor redid on are superseded: their
calls count in the totals (they were paid for) but not in the diagnostics, as in the driver,
which restarts from its checkpoint.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hakaru.errors import ConfigError
from hakaru.mdap.diagnostics import Diagnostics
from hakaru.mdap.resume import ADDITIVE
from hakaru.patterns.vote import VoteResult
from hakaru.report.maker_votes import Decay, StepVotes, _valid, fit_decay, rebuild_step

if TYPE_CHECKING:
    from hakaru.store import RunInfo, RunStore
    from hakaru.types import CallRecord

__all__ = ["MakerReport", "WorstStep", "load_maker"]

_WORST = 5  # worst steps listed (as many as the driver's diagnostics keep)
_TARGET = 0.95  # the target of the k_min shown against the run's k


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
        from hakaru.mdap.formulas import expected_calls, expected_votes, full_success, k_min

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
        totals["dollars"] += rec.dollars or 0.0


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
    totals = dict.fromkeys(ADDITIVE, 0.0)
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
        why = {
            "running": "the run is still running",
            "interrupted": "the run was killed (its process ended)",
            "failed": "no decision within the sample caps",
        }.get(status, "no decision")
        reason = reason or (
            f"step {open_step.step}: {why} after {open_step.draws} draws "
            f"({len(open_step.sequence)} valid votes)"
        )
    elif diag.wrong_steps or solved is False:
        outcome = "failed"
    elif solved or (steps is not None and diag.steps == steps and status == "done"):
        outcome = "solved"
    elif status in ("running", "interrupted"):
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
