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

__all__ = ["DagReplay"]

_WINDOW = 32_768  # calls per generation kept in memory (two generations)


class DagReplay:
    """Per-call DAG state of records added in call-id order (see the module docstring).

    ``width`` is the length of a finish vector (one entry per cost model); ``track`` the index of
    the cost model whose critical path :meth:`path` walks (the latest finish among the parents is
    the call's best parent). A parent never added counts as finished at 0.
    """

    def __init__(self, width: int, *, track: int = 0, window: int = _WINDOW) -> None:
        self.width = width
        self.track = track
        self.window = window
        self.calls = 0
        self.edges = 0  # parent links
        self.roots = 0  # calls without a known parent (level 1)
        self.max_fan_in = 0
        self._level, self._best, self._children, self._role = width, width + 1, width + 2, width + 3
        self._young: dict[int, list[float]] = {}  # call id → [*finish, level, best, children, role]
        self._old: dict[int, list[float]] = {}
        self._spill: sqlite3.Connection | None = None
        self._hist = array("q", [0])  # calls per level (index 0 unused)
        self._roles: dict[str, int] = {}
        self._role_names: list[str] = []
        self._end = (-1.0, 0)  # (finish under track, −id) of the call that ends last
        self._last_id = -1

    # -- adding calls ------------------------------------------------------------------------

    def starts(self, parents: Sequence[int]) -> tuple[list[float], int, int]:
        """For a call with ``parents``: its start vector (the latest finish of its parents per
        cost model), its level (1 + the deepest parent's) and its best parent (−1: none)."""
        start: list[float] | None = None
        depth = 0
        best = -1
        best_t = -1.0
        t, w = self.track, self.width
        lvl, kids = self._level, self._children
        for p in parents:
            entry = self._entry(p)
            if entry is None:
                continue
            start = entry[:w] if start is None else list(map(max, start, entry[:w]))
            if entry[lvl] > depth:
                depth = int(entry[lvl])
            if entry[t] > best_t:
                best, best_t = p, entry[t]
            entry[kids] += 1
        self.edges += len(parents)
        if len(parents) > self.max_fan_in:
            self.max_fan_in = len(parents)
        return start if start is not None else [0.0] * w, depth + 1, best

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
        self._young[call] = [*finish, level, best, 0, code]
        self.calls += 1
        if level == 1:
            self.roots += 1
        hist = self._hist
        while len(hist) <= level:
            hist.append(0)
        hist[level] += 1
        end = (finish[self.track], -call)
        if end > self._end:
            self._end = end
        if len(self._young) >= self.window:
            self._write(self._old)
            self._old, self._young = self._young, {}

    # -- state of older calls ----------------------------------------------------------------

    def _entry(self, call: int, *, promote: bool = True) -> list[float] | None:
        entry = self._young.get(call)
        if entry is None:
            entry = self._old.get(call)
            if entry is None and self._spill is not None and call <= self._last_id:
                entry = self._read(call)
                if entry is not None and promote:
                    self._young[call] = entry  # its children count changes: written again later
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

    def _write(self, entries: dict[int, list[float]]) -> None:
        if not entries:
            return
        marks = ", ".join("?" * (self.width + 5))
        self._db().executemany(
            f"INSERT OR REPLACE INTO calls VALUES ({marks})",
            ((call, *entry) for call, entry in entries.items()),
        )

    def _read(self, call: int) -> list[float] | None:
        row = self._db().execute("SELECT * FROM calls WHERE id = ?", (call,)).fetchone()
        return None if row is None else list(row[1:])

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
        kids = self._children
        return sum(1 for e in (*self._old.values(), *self._young.values()) if not e[kids])

    def max_fan_out(self) -> int:
        """The most calls that depend on one call."""
        self._settle()
        if self._spill is not None:
            row = self._spill.execute("SELECT MAX(children) FROM calls").fetchone()
            return int(row[0] or 0)
        kids = self._children
        return int(max((e[kids] for e in (*self._old.values(), *self._young.values())), default=0))

    def path(self) -> Iterator[tuple[int, float, str, int]]:
        """The critical path under the tracked cost model, walked back from the call that ends
        last: ``(call, own cost, role, level)`` from the last call to the first. A call's own
        cost is its finish minus its best parent's (the parent it waited for last)."""
        if not self.calls:
            return
        call = -self._end[1]
        t = self.track
        entry = self._entry(call, promote=False)
        while entry is not None:
            best = int(entry[self._best])
            before = self._entry(best, promote=False) if best >= 0 else None
            own = entry[t] - (before[t] if before is not None else 0.0)
            yield call, own, self._role_names[int(entry[self._role])], int(entry[self._level])
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
