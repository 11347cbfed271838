"""A run's call DAG replayed from its records in call-id order, in bounded memory.

Offline figures of a stored run — span and depth under every cost model, calls per level, fan-in
and fan-out, the critical path — need, for each record, the finish times of its parents. A
parent is almost always a recent call (a step's votes follow its predecessor's winner, a reduce
level follows the one below), so :class:`DagReplay` keeps the per-call state of the most recent
calls in two dict generations of ``window`` calls each; when the younger one fills up, the older
is written to a private temporary SQLite database (on disk, deleted when the replay is closed;
SQLite's page cache is a couple of megabytes) and the younger takes its place. A lookup of an
older parent reads it back from there. Memory is then a constant (about two windows of state, a
few dozen megabytes) whatever the number of calls; the one thing that grows is the count of calls
per level (8 bytes a level). The figures are exact: nothing is sampled or forgotten.

The critical path is not listed while replaying: each call keeps its *best parent* (the parent
that finishes last under the tracked cost model), and :meth:`DagReplay.path` walks back from the
call that finishes last.

>>> dag = DagReplay(1)
>>> for i, parents, cost in ((1, (), 2.0), (2, (1,), 3.0), (3, (), 1.0)):
...     start, level, best = dag.starts(parents)
...     dag.put(i, [start[0] + cost], level, best, "r")
>>> dag.levels(), dag.leaves(), [call for call, *_ in dag.path()]  # the path from its end
([2, 1], 2, [2, 1])
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["DagReplay"]


class DagReplay:
    """Per-call DAG state of records added in call-id order (see the module docstring).

    ``width`` is the length of a finish vector (one entry per cost model); ``track`` the index of
    the cost model whose critical path :meth:`path` walks (the latest finish among the parents is
    the call's best parent). A parent never added counts as finished at 0.
    """

    WINDOW = 32_768  # calls per generation kept in memory (two generations)

    def __init__(self, width: int, *, track: int = 0, window: int | None = None) -> None:
        self.width = width
        self.track = track
        self.window = window or self.WINDOW
        self.calls = 0
        self.edges = 0  # parent links
        self.roots = 0  # calls without a known parent (level 1)
        self.max_fan_in = 0
        # call id → [finish vector (tuple), level, best parent, children, role code]
        self._young: dict[int, list[Any]] = {}
        self._old: dict[int, list[Any]] = {}
        self._spill: sqlite3.Connection | None = None
        self._hist = array("q", [0])  # calls per level (index 0 unused)
        self._roles: dict[str, int] = {}
        self._role_names: list[str] = []
        self._end_t = -1.0  # the latest finish under the tracked cost model …
        self._end_id = -1  # … and the (first) call that finishes then
        self._last_id = -1
        self._zero = (0.0,) * width

    # -- adding calls ------------------------------------------------------------------------

    def starts(self, parents: Sequence[int]) -> tuple[Sequence[float], int, int]:
        """For a call with ``parents``: its start vector (the latest finish of its parents per
        cost model), its level (1 + the deepest parent's) and its best parent (−1: none)."""
        start: Sequence[float] | None = None
        depth = 0
        best = -1
        best_t = -1.0
        t = self.track
        young, old = self._young, self._old
        for p in parents:  # this runs once per dependency: kept flat
            entry = young.get(p) or old.get(p)
            if entry is None:
                if self._spill is None or p > self._last_id:
                    continue
                entry = self._read(p)
                if entry is None:
                    continue
                young[p] = entry  # its children count changes: written again later
            finish = entry[0]
            if start is None:
                start = finish
            elif start is not finish:
                start = tuple(map(max, start, finish))
            if entry[1] > depth:
                depth = entry[1]
            if finish[t] > best_t:
                best, best_t = p, finish[t]
            entry[3] += 1
        self.edges += len(parents)
        if len(parents) > self.max_fan_in:
            self.max_fan_in = len(parents)
        return (self._zero if start is None else start), depth + 1, best

    def put(self, call: int, finish: Sequence[float], level: int, best: int, role: str) -> None:
        """Record call ``call`` (ids ascending) with its finish vector, level and best parent."""
        if call <= self._last_id:
            raise ValueError(
                f"call {call} was added after call {self._last_id}: add records in call-id order "
                "(as the run store streams them)"
            )
        self._last_id = call
        code = self._roles.get(role)
        if code is None:
            code = self._roles[role] = len(self._role_names)
            self._role_names.append(role)
        young = self._young
        young[call] = [tuple(finish), level, best, 0, code]
        self.calls += 1
        if level == 1:
            self.roots += 1
        hist = self._hist
        if level >= len(hist):
            hist.extend([0] * (level + 1 - len(hist)))
        hist[level] += 1
        if finish[self.track] > self._end_t:  # ids ascend: the first call wins a tie
            self._end_t, self._end_id = finish[self.track], call
        if len(young) >= self.window:
            self._write(self._old)
            self._old, self._young = young, {}

    # -- state of older calls ----------------------------------------------------------------

    def _entry(self, call: int) -> list[Any] | None:
        """A call's state, wherever it is (not moved back into memory)."""
        entry = self._young.get(call) or self._old.get(call)
        if entry is None and self._spill is not None:
            entry = self._read(call)
        return entry

    def _db(self) -> sqlite3.Connection:
        if self._spill is None:
            db = sqlite3.connect("")  # a private temporary database on disk
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            cols = ", ".join(f"f{i} REAL" for i in range(self.width))
            db.execute(
                f"CREATE TABLE calls (id INTEGER PRIMARY KEY, {cols}, level INTEGER, "
                "best INTEGER, children INTEGER, role INTEGER)"
            )
            self._spill = db
        return self._spill

    def _write(self, entries: dict[int, list[Any]]) -> None:
        if not entries:
            return
        marks = ", ".join("?" * (self.width + 5))
        self._db().executemany(
            f"INSERT OR REPLACE INTO calls VALUES ({marks})",
            ((call, *e[0], e[1], e[2], e[3], e[4]) for call, e in entries.items()),
        )

    def _read(self, call: int) -> list[Any] | None:
        row = self._db().execute("SELECT * FROM calls WHERE id = ?", (call,)).fetchone()
        if row is None:
            return None
        w = self.width
        return [tuple(row[1 : 1 + w]), *row[1 + w :]]

    def _settle(self) -> None:
        """Write the calls held in memory too, once anything was written (so that the spill
        database alone holds every call, each once)."""
        if self._spill is not None:
            self._write(self._old)
            self._write(self._young)
            self._old, self._young = {}, {}

    # -- figures -----------------------------------------------------------------------------

    def levels(self) -> list[int]:
        """Calls per level, level 1 first."""
        return list(self._hist[1:])

    def leaves(self) -> int:
        """Calls no other call depends on."""
        self._settle()
        if self._spill is not None:
            row = self._spill.execute("SELECT COUNT(*) FROM calls WHERE children = 0").fetchone()
            return int(row[0])
        return sum(1 for e in (*self._old.values(), *self._young.values()) if not e[3])

    def max_fan_out(self) -> int:
        """The most calls that depend on one call."""
        self._settle()
        if self._spill is not None:
            row = self._spill.execute("SELECT MAX(children) FROM calls").fetchone()
            return int(row[0] or 0)
        return int(max((e[3] for e in (*self._old.values(), *self._young.values())), default=0))

    def path(self) -> Iterator[tuple[int, float, str, int]]:
        """The critical path under the tracked cost model, walked back from the call that ends
        last: ``(call, own cost, role, level)`` from the last call to the first. A call's own
        cost is its finish minus its best parent's (the parent it waited for last)."""
        if not self.calls:
            return
        call = self._end_id
        t = self.track
        entry = self._entry(call)
        while entry is not None:
            best = int(entry[2])
            before = self._entry(best) if best >= 0 else None
            own = entry[0][t] - (before[0][t] if before is not None else 0.0)
            yield call, own, self._role_names[int(entry[4])], int(entry[1])
            call, entry = best, before

    def close(self) -> None:
        """Delete the spill database (idempotent)."""
        if self._spill is not None:
            self._spill.close()
            self._spill = None

    def __enter__(self) -> DagReplay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
