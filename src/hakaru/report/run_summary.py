"""What a report says about one stored run: its ledger, work and span, and its call DAG.

:func:`load_run` streams the run's call records from the store once — so a million-call run is
never held in memory as records — and keeps the ledger totals, the per-role and per-model groups,
work and span under every cost model, and the shape of the call DAG: levels, fan-in and fan-out,
the critical path under simulated latency, and a sample of calls with their answers and errors
(raw text: the HTML report escapes it). :func:`find_reports` tells sweeps from runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hakaru.ledger import Ledger

if TYPE_CHECKING:
    from hakaru.store import RunInfo, RunStore

__all__ = ["CallRow", "DagFacts", "RunSummary", "find_reports", "load_run"]

_SAMPLE = 40  # calls listed in a run report, and as many failed or flagged ones
_PATH_ROWS = 60  # critical-path calls listed (the first and last halves of a longer path)
_KEEP_ROWS = 200_000  # beyond this many calls a run summary keeps no per-call rows
_TIMELINE = 3000  # calls drawn on a run's timeline
_TEXT = 300  # characters of an answer or an error kept per call row


@dataclass(frozen=True)
class CallRow:
    """One call of a run as a report lists it; ``answer`` and ``error`` are raw text."""

    id: int
    parents: int
    role: str
    model: str
    status: str
    attempt: int
    input_tokens: int
    output_tokens: int
    aalp: float
    latency: float  # seconds (simulated on sim)
    level: int  # 1 + the deepest parent's level
    answer: str
    error: str


@dataclass(frozen=True)
class DagFacts:
    """The shape of a run's happens-before DAG."""

    calls: int
    edges: int
    roots: int  # calls without parents
    leaves: int  # calls no other call depends on
    max_fan_in: int
    max_fan_out: int
    levels: tuple[int, ...]  # calls per level, level 1 first
    critical_path: tuple[CallRow, ...]  # under simulated latency; may be cut (see path_length)
    path_length: int  # calls on the critical path
    path_seconds: float


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
        d = self.dag
        return {
            "run": self.info.as_dict(),
            "totals": self.totals,
            "roles": self.by_role,
            "models": self.by_model,
            "costs": [{"model": n, "work": w, "span": s} for n, w, s in self.costs],
            "dag": {
                "calls": d.calls,
                "edges": d.edges,
                "roots": d.roots,
                "leaves": d.leaves,
                "max_fan_in": d.max_fan_in,
                "max_fan_out": d.max_fan_out,
                "levels": list(d.levels),
                "critical_path_calls": d.path_length,
                "critical_path_seconds": d.path_seconds,
            },
            "notes": list(self.notes),
        }


def _clip(text: str) -> str:
    return text if len(text) <= _TEXT else text[: _TEXT - 1] + "…"


def load_run(store: RunStore, ref: str) -> RunSummary:
    """Summarise run ``ref`` (an id or a unique prefix) from its stored call records.

    The records are streamed once; per-call rows are kept only for runs up to 200,000 calls
    (larger runs get totals and DAG counts without the critical-path listing).
    """
    info = store.run(ref)
    ledger = Ledger(keep_records=False, prices=store.prices(info.id))
    lat = ledger.names.index("latency")
    finish: dict[int, tuple[float, ...]] = {}
    level: dict[int, int] = {}
    best_parent: dict[int, int] = {}  # the parent whose latency finish is largest
    children: dict[int, int] = {}
    rows: dict[int, CallRow] = {}
    sample: list[CallRow] = []
    problems: list[CallRow] = []
    timeline: list[tuple[float, float, int, str]] = []
    edges = max_in = 0
    notes: list[str] = []
    for rec in store.calls(info.id):
        start = list(ledger.zero)
        depth = 0
        pick = -1
        pick_t = -1.0
        for p in rec.parents:
            f = finish.get(p)
            if f is None:
                continue
            start = [max(a, b) for a, b in zip(start, f, strict=True)]
            depth = max(depth, level[p])
            if f[lat] > pick_t:
                pick, pick_t = p, f[lat]
            children[p] = children.get(p, 0) + 1
        edges += len(rec.parents)
        max_in = max(max_in, len(rec.parents))
        own = ledger.add(rec, start)
        finish[rec.id] = own
        level[rec.id] = depth + 1
        if pick >= 0:
            best_parent[rec.id] = pick
        if len(finish) <= _KEEP_ROWS or rec.status != "ok":
            n, o = rec.input_tokens, rec.output_tokens
            row = CallRow(
                rec.id,
                len(rec.parents),
                rec.role,
                rec.model,
                rec.status,
                rec.attempt,
                n,
                o,
                0.0 if rec.status in ("cached", "error") else rec.size * (o * n + o * (o - 1) / 2),
                rec.latency,
                depth + 1,
                _clip(rec.candidate),
                _clip(rec.error),
            )
            if len(finish) <= _KEEP_ROWS:
                rows[rec.id] = row
            if len(sample) < _SAMPLE:
                sample.append(row)
            if rec.status in ("error", "flagged") and len(problems) < _SAMPLE:
                problems.append(row)
        if len(timeline) < _TIMELINE:
            timeline.append((start[lat], own[lat], depth + 1, rec.role))
    if len(finish) > _KEEP_ROWS:
        notes.append(
            f"The run has {len(finish):,} calls: the critical path is counted, not listed."
        )
    totals = ledger.totals()
    from hakaru.report.token_classes import unpriced_note

    unpriced = unpriced_note(totals)
    if unpriced is not None:
        notes.append(unpriced)
    levels: dict[int, int] = {}
    for v in level.values():
        levels[v] = levels.get(v, 0) + 1
    path: list[int] = []
    if finish:
        node = max(finish, key=lambda i: (finish[i][lat], -i))
        while True:
            path.append(node)
            if node not in best_parent:
                break
            node = best_parent[node]
        path.reverse()
    listed = [rows[i] for i in path if i in rows]
    if len(listed) > _PATH_ROWS:
        half = _PATH_ROWS // 2
        listed = listed[:half] + listed[-half:]
        notes.append(
            f"The critical path has {len(path):,} calls; the first and last {half} are listed."
        )
    dag = DagFacts(
        calls=len(finish),
        edges=edges,
        roots=sum(1 for i in finish if level[i] == 1),
        leaves=sum(1 for i in finish if i not in children),
        max_fan_in=max_in,
        max_fan_out=max(children.values(), default=0),
        levels=tuple(levels.get(i, 0) for i in range(1, max(levels, default=0) + 1)),
        critical_path=tuple(listed),
        path_length=len(path),
        path_seconds=float(totals.get("sim_seconds", 0.0)),
    )
    costs = tuple(
        (name, float(ledger.work(name)), float(ledger.span(name))) for name in ledger.names
    )
    return RunSummary(
        info=info,
        totals=totals,
        by_role=ledger.group_by("role"),
        by_model=ledger.group_by("model"),
        costs=costs,
        dag=dag,
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
