"""What a report says about one stored run: its ledger, work and span, and its call DAG.

:func:`load_run` streams the run's call records from the store once, in memory that does not
grow with the number of calls: the ledger keeps sums per role, model and size; the call DAG is
replayed by :class:`~hakaru.dag.DagReplay` (recent calls in memory, older ones in a temporary
file) and summarised by :class:`~hakaru.report.dag_summary.DagCollector` — levels, fan-in and
fan-out, the critical path under simulated latency walked back from its last call, and what can
be drawn; a sample of calls with their answers and errors is kept (raw text: the HTML report
escapes it). :func:`find_reports` tells sweeps from runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hakaru.ledger import Ledger
from hakaru.report.dag_summary import CallRow, DagCollector, DagFacts, call_row

if TYPE_CHECKING:
    from hakaru.store import RunInfo, RunStore

__all__ = ["CallRow", "DagFacts", "RunSummary", "find_reports", "load_run"]

_SAMPLE = 40  # calls listed in a run report, and as many failed or flagged ones
_TIMELINE = 3000  # calls drawn on a run's timeline


@dataclass(frozen=True)
class RunSummary:
    """A stored run: totals, groups, work and span per cost model, DAG facts, sample calls."""

    info: RunInfo
    totals: dict[str, Any]
    by_role: dict[str, dict[str, float]]
    by_model: dict[str, dict[str, float]]
    costs: tuple[tuple[str, float, float], ...]  # (cost model, work, span)
    dag: DagFacts
    sample: tuple[CallRow, ...]  # the first calls
    problems: tuple[CallRow, ...]  # failed and flagged calls
    timeline: tuple[tuple[float, float, int, str], ...]  # (sim start, sim end, level, role)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``hakaru report RUN --json``)."""
        return {
            "run": self.info.as_dict(),
            "totals": self.totals,
            "roles": self.by_role,
            "models": self.by_model,
            "costs": [{"model": n, "work": w, "span": s} for n, w, s in self.costs],
            "dag": self.dag.to_dict(),
            "notes": list(self.notes),
        }


def load_run(store: RunStore, ref: str) -> RunSummary:
    """Summarise run ``ref`` (an id or a unique prefix) from its stored call records.

    The records are streamed once, in memory that does not grow with the number of calls; the
    critical path's first and last calls are then read back by id.
    """
    info = store.run(ref)
    ledger = Ledger(keep_records=False, prices=store.prices(info.id))
    lat = ledger.names.index("latency")
    collector = DagCollector(len(ledger.names), lat)
    dag = collector.replay
    sample: list[CallRow] = []
    problems: list[CallRow] = []
    timeline: list[tuple[float, float, int, str]] = []
    notes: list[str] = []
    estimated = 0
    for rec in store.calls(info.id):
        estimated += rec.usage_source == "estimated"
        start, level, best = dag.starts(rec.parents)
        own = ledger.add(rec, start)
        dag.put(rec.id, own, level, best, rec.role)
        collector.see(rec.id, rec.parents, level, rec.role)
        if len(sample) < _SAMPLE:
            sample.append(call_row(rec, level))
        if rec.status in ("error", "flagged") and len(problems) < _SAMPLE:
            problems.append(call_row(rec, level))
        if len(timeline) < _TIMELINE:
            timeline.append((start[lat], own[lat], level, rec.role))
    totals = ledger.totals()
    totals["estimated_calls"] = estimated
    facts = collector.facts(
        float(totals.get("sim_seconds", 0.0)), lambda ids: store.calls_by_id(info.id, ids)
    )
    from hakaru.report.token_classes import estimated_note, unpriced_note

    if estimated:
        notes.append(str(estimated_note(totals)))
    unpriced = unpriced_note(totals)
    if unpriced is not None:
        notes.append(unpriced)
    costs = tuple(
        (name, float(ledger.work(name)), float(ledger.span(name))) for name in ledger.names
    )
    return RunSummary(
        info=info,
        totals=totals,
        by_role=ledger.group_by("role"),
        by_model=ledger.group_by("model"),
        costs=costs,
        dag=facts,
        sample=tuple(sample),
        problems=tuple(problems),
        timeline=tuple(timeline),
        notes=tuple(notes),
    )


def find_reports(store: RunStore, refs: Iterable[str]) -> list[tuple[str, RunInfo]]:
    """Each reference resolved to ``("sweep", info)`` or ``("run", info)``.

    A prefix that matches a sweep and runs of its own points names the sweep (their ids are
    close in time, so a short prefix often matches both).
    """
    from hakaru.store import RunNotFound

    out: list[tuple[str, RunInfo]] = []
    for ref in refs:
        try:
            info = store.run(ref)
        except RunNotFound:
            found = _sweep_by_prefix(store, ref)
            if found is None:
                raise
            info = found
        out.append(("sweep" if info.kind == "sweep" else "run", info))
    return out


def _sweep_by_prefix(store: RunStore, ref: str) -> RunInfo | None:
    key = ref.strip().lower()
    matches = [i for i in store.runs(limit=None) if key and i.id.startswith(key)]
    sweeps = [i for i in matches if i.kind == "sweep"]
    if len(sweeps) != 1:
        return None
    points = {p.run_id for p in store.get_points(sweeps[0].id).values()}
    rest = [i for i in matches if i.id not in points]
    return rest[0] if len(rest) == 1 else None
