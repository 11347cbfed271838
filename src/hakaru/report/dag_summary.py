"""The shape of a run's call DAG, gathered while its records stream past, sized for a reader.

:class:`DagCollector` watches the records of one run go by in call-id order (the report's single
pass over the store) next to a :class:`~hakaru.dag.DagReplay`, and keeps only what the report
shows, each part capped whatever the number of calls:

- counts: calls, dependencies, roots, leaves, fan-in and fan-out, calls per level (one count per
  level, folded into at most ``_BINS`` bins of consecutive levels for the figure and the JSON
  once there are more than ``LEVELS_LISTED`` levels);
- the critical path, walked back from its last call once the pass is over: its length, its
  calls and simulated seconds per role, and its first and last calls (read back from the store
  by id);
- what can be drawn: the whole DAG up to ``DRAW_CAP`` calls; beyond, the calls of the first
  levels and of the last levels (``_SAMPLE_CALLS`` each), each drawing saying which levels it
  shows and how many of their calls.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hakaru.dag import DagReplay

if TYPE_CHECKING:
    from hakaru.types import CallRecord

__all__ = [
    "DRAW_CAP",
    "LEVELS_LISTED",
    "CallRow",
    "DagCollector",
    "DagDrawing",
    "DagFacts",
    "LevelBin",
    "PathRole",
    "call_row",
]

DRAW_CAP = 2000  # calls: a DAG up to this size is drawn whole
LEVELS_LISTED = 2000  # levels listed one by one; beyond, bins of consecutive levels
_BINS = 200  # bins of levels at most
_SAMPLE_CALLS = 300  # calls drawn from the first levels, and as many from the last ones
_SAMPLE_LEVELS = 16  # levels at most in each of those drawings
_PATH_ROWS = 60  # critical-path calls listed (the first and last halves of a longer path)
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


def _clip(text: str) -> str:
    return text if len(text) <= _TEXT else text[: _TEXT - 1] + "…"


def call_row(rec: CallRecord, level: int) -> CallRow:
    """The listed form of ``rec`` at DAG level ``level``."""
    n, o = rec.input_tokens, rec.output_tokens
    aalp = 0.0 if rec.status in ("cached", "error") else rec.size * (o * n + o * (o - 1) / 2)
    return CallRow(
        rec.id, len(rec.parents), rec.role, rec.model, rec.status, rec.attempt, n, o, aalp,
        rec.latency, level, _clip(rec.candidate), _clip(rec.error),
    )  # fmt: skip


@dataclass(frozen=True)
class LevelBin:
    """Consecutive levels ``first``..``last`` and the calls on them."""

    first: int
    last: int
    calls: int
    widest: int  # calls on the widest level of the bin
    narrowest: int

    @property
    def mean(self) -> float:
        return self.calls / (self.last - self.first + 1)


@dataclass(frozen=True)
class PathRole:
    """The calls of one role on the critical path and the simulated seconds they took."""

    role: str
    calls: int
    seconds: float


@dataclass(frozen=True)
class DagDrawing:
    """Calls to draw and the dependencies among them.

    ``what`` is ``whole`` (every call of the run), ``first`` or ``last`` (the calls of the
    first or the last levels, ``first_level``..``last_level``); ``of_calls`` is how many calls
    the run has on those levels (more than drawn when a level was too wide to draw whole).
    """

    what: str
    first_level: int
    last_level: int
    calls: tuple[tuple[int, int, str, bool], ...]  # (call, level, role, on the critical path)
    edges: tuple[tuple[int, int], ...]  # (parent, child), both drawn
    of_calls: int


@dataclass(frozen=True)
class DagFacts:
    """The shape of a run's happens-before DAG."""

    calls: int
    edges: int
    roots: int  # calls without parents
    leaves: int  # calls no other call depends on
    max_fan_in: int
    max_fan_out: int
    depth: int  # levels
    widest: int  # calls on the widest level
    levels: tuple[int, ...]  # calls per level, level 1 first; empty beyond LEVELS_LISTED levels
    level_bins: tuple[LevelBin, ...]  # at most _BINS; one per level when there are few
    critical_path: tuple[CallRow, ...]  # under simulated latency; cut (see path_length)
    path_length: int  # calls on the critical path
    path_seconds: float
    path_roles: tuple[PathRole, ...] = ()
    drawings: tuple[DagDrawing, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (``hakaru report RUN --json``'s ``dag``): no list grows with the calls."""
        return {
            "calls": self.calls,
            "edges": self.edges,
            "roots": self.roots,
            "leaves": self.leaves,
            "max_fan_in": self.max_fan_in,
            "max_fan_out": self.max_fan_out,
            "depth": self.depth,
            "widest_level": self.widest,
            "levels": list(self.levels),
            "level_bins": [
                {"first": b.first, "last": b.last, "calls": b.calls, "widest": b.widest}
                for b in self.level_bins
            ],
            "critical_path_calls": self.path_length,
            "critical_path_seconds": self.path_seconds,
            "critical_path_roles": [
                {"role": r.role, "calls": r.calls, "seconds": r.seconds} for r in self.path_roles
            ],
            "drawn": [
                {"what": d.what, "levels": [d.first_level, d.last_level], "calls": len(d.calls)}
                for d in self.drawings
            ],
        }


_Seen = tuple[int, tuple[int, ...], int, str]  # (call, parents, level, role)


class DagCollector:
    """Gathers :class:`DagFacts` in one pass over a run's records (module docstring).

    For each record, in call-id order: ``start, level, best = collector.replay.starts(parents)``,
    its finish vector from the start, ``collector.replay.put(...)``, then :meth:`see`.
    """

    def __init__(self, width: int, track: int) -> None:
        self.replay = DagReplay(width, track=track)
        self._whole: list[_Seen] | None = []
        self._first: list[_Seen] = []
        self._last: deque[_Seen] = deque(maxlen=_SAMPLE_CALLS)

    def see(self, call: int, parents: tuple[int, ...], level: int, role: str) -> None:
        seen = (call, parents, level, role)
        if self._whole is not None:
            self._whole.append(seen)
            if len(self._whole) > DRAW_CAP:
                self._whole = None
        if level <= _SAMPLE_LEVELS and len(self._first) < _SAMPLE_CALLS:
            self._first.append(seen)
        self._last.append(seen)

    def facts(
        self, path_seconds: float, rows: Callable[[Sequence[int]], Iterable[CallRecord]]
    ) -> DagFacts:
        """The facts, once every record was seen; ``rows(ids)`` reads records back by id
        (for the listed critical-path calls). Closes the replay."""
        dag = self.replay
        try:
            hist = dag.levels()
            groups = self._groups()
            drawn = {call for _, calls in groups for call, *_ in calls}
            on_path: set[int] = set()
            tail: list[tuple[int, int]] = []  # the path's last calls (walked first)
            head: deque[tuple[int, int]] = deque(maxlen=_PATH_ROWS // 2)  # … and its first
            roles: dict[str, list[float]] = {}
            length = 0
            for call, own, role, level in dag.path():
                length += 1
                if call in drawn:
                    on_path.add(call)
                if len(tail) < _PATH_ROWS // 2:
                    tail.append((call, level))
                else:
                    head.append((call, level))
                tally = roles.setdefault(role, [0, 0.0])
                tally[0] += 1
                tally[1] += own
            listed = dict([*head, *tail])
            records = {rec.id: rec for rec in rows(sorted(listed))}
            path_rows = tuple(
                call_row(records[i], listed[i]) for i in sorted(listed) if i in records
            )
            return DagFacts(
                calls=dag.calls,
                edges=dag.edges,
                roots=dag.roots,
                leaves=dag.leaves(),
                max_fan_in=dag.max_fan_in,
                max_fan_out=dag.max_fan_out(),
                depth=len(hist),
                widest=max(hist, default=0),
                levels=tuple(hist) if len(hist) <= LEVELS_LISTED else (),
                level_bins=_bins(hist),
                critical_path=path_rows,
                path_length=length,
                path_seconds=path_seconds,
                path_roles=tuple(
                    PathRole(role, int(n), s)
                    for role, (n, s) in sorted(roles.items(), key=lambda kv: -kv[1][1])
                ),
                drawings=tuple(
                    _drawing(what, calls, on_path, hist) for what, calls in groups if calls
                ),
            )
        finally:
            dag.close()

    def _groups(self) -> list[tuple[str, list[_Seen]]]:
        """What is drawn: the whole DAG, or the first and the last levels' calls."""
        if self._whole is not None:
            return [("whole", self._whole)]
        last = list(self._last)
        if last:
            top = max(lv for _, _, lv, _ in last)
            low = max(top - _SAMPLE_LEVELS + 1, 1)
            last = [s for s in last if s[2] >= low]
        return [("first", self._first), ("last", last)]


def _drawing(what: str, calls: list[_Seen], on_path: set[int], hist: Sequence[int]) -> DagDrawing:
    ids = {call for call, *_ in calls}
    lo = min(lv for _, _, lv, _ in calls)
    hi = max(lv for _, _, lv, _ in calls)
    return DagDrawing(
        what=what,
        first_level=lo,
        last_level=hi,
        calls=tuple((call, lv, role, call in on_path) for call, _, lv, role in calls),
        edges=tuple((p, call) for call, parents, _, _ in calls for p in parents if p in ids),
        of_calls=sum(hist[lo - 1 : hi]),
    )


def _bins(hist: Sequence[int]) -> tuple[LevelBin, ...]:
    """Calls per level folded into at most ``_BINS`` bins of consecutive levels."""
    if not hist:
        return ()
    size = -(-len(hist) // _BINS)  # levels per bin, rounded up
    out = []
    for i in range(0, len(hist), size):
        part = hist[i : i + size]
        out.append(LevelBin(i + 1, i + len(part), sum(part), max(part), min(part)))
    return tuple(out)
