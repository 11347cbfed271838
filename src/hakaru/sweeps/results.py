"""What a sweep is and what it produced: the spec that identifies it, its points' results, and
the series that fits and reports read from them.

Kept apart from :mod:`hakaru.sweeps.run` (which plans and runs the grid) so that readers of
stored sweeps — the report, the fits — depend on the data model only.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from hakaru.errors import ConfigError
from hakaru.ledger import Ledger
from hakaru.store import SweepPoint

__all__ = ["PointResult", "SweepProgress", "SweepResult", "SweepSeries", "SweepSpec", "point_key"]


def point_key(variant: str, params: Mapping[str, int], repeat: int) -> str:
    """The canonical key of a point: compact JSON with sorted keys.

    >>> point_key("tree", {"n": 8, "fan_in": 4}, 0)
    '{"params":{"fan_in":4,"n":8},"repeat":0,"variant":"tree"}'
    """
    payload = {"variant": variant, "params": dict(params), "repeat": repeat}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class SweepSpec:
    """What defines a sweep's points and results; a resumed sweep must match it exactly."""

    workload: str
    grid: dict[str, list[int]]  # swept parameters; the others keep their defaults
    variants: list[str]
    repeats: int
    seed: int  # repeat r uses seed + r
    backend: str = "sim"
    model: str | None = None
    sim_error: float | None = None
    base_url: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SweepSpec:
        values: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__}
        return cls(**values)

    def differences(self, other: SweepSpec) -> list[str]:
        """``"name X there, Y here"`` for every field (and swept parameter) that differs."""

        def shown(v: Any) -> str:
            return ",".join(map(str, v)) if isinstance(v, list) else str(v)

        out = []
        for name in self.__dataclass_fields__:
            mine, theirs = getattr(self, name), getattr(other, name)
            if name == "grid":
                for p in sorted(set(mine) | set(theirs)):
                    a, b = shown(mine.get(p, "not swept")), shown(theirs.get(p, "not swept"))
                    if a != b:
                        out.append(f"{p} {a} there, {b} here")
            elif mine != theirs:
                out.append(f"{name} {shown(mine)} there, {shown(theirs)} here")
        return out


@dataclass(frozen=True, slots=True)
class PointResult:
    """One finished point: its coordinates, ledger totals, and whether the answer was right.

    ``totals`` has the keys of ``hakaru run --json`` (``calls``, ``aalp_cost``, ``depth``, …);
    it is empty when the point ended in ``error``.
    """

    variant: str
    params: dict[str, int]
    repeat: int
    seed: int
    totals: dict[str, Any]
    correct: bool
    run_id: str = ""
    error: str | None = None
    by_role: dict[str, dict[str, float]] = field(default_factory=dict)
    analytic: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return point_key(self.variant, self.params, self.repeat)

    def stored(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The ``params`` and ``result`` blobs of its row in the ``points`` table."""
        where = {"variant": self.variant, "params": self.params, "repeat": self.repeat}
        result = {
            "totals": self.totals,
            "correct": self.correct,
            "run_id": self.run_id,
            "error": self.error,
            "by_role": self.by_role,
            "analytic": self.analytic,
        }
        return {**where, "seed": self.seed}, result

    @classmethod
    def from_stored(cls, point: SweepPoint) -> PointResult:
        p, r = point.params, point.result
        return cls(
            **{k: p[k] for k in ("variant", "params", "repeat", "seed")},
            **{k: r[k] for k in ("totals", "correct", "run_id", "error", "by_role", "analytic")},
        )

    def as_json(self) -> dict[str, Any]:
        """One entry of ``points`` in ``hakaru sweep --json``: totals flattened in."""
        return {
            "variant": self.variant,
            "params": self.params,
            "repeat": self.repeat,
            "seed": self.seed,
            **self.totals,
            "correct": self.correct,
            "error": self.error,
            "run_id": self.run_id,
        }


@dataclass(frozen=True, slots=True)
class SweepSeries:
    """One metric of one variant against one parameter, averaged over repeats per x."""

    variant: str
    x_name: str
    y_name: str
    x: list[int]
    y: list[float]  # mean over the repeats (and points) at each x
    counts: list[int]  # how many points each mean is over


@dataclass(frozen=True, slots=True)
class SweepProgress:
    """What a ``progress`` callback receives: once at the start, then after every point."""

    sweep_id: str
    total: int  # points in the grid
    done: int  # points finished, resumed ones included
    resumed: int  # points found finished in the store at the start
    failed: int  # points that failed transiently (to run again on resume)
    point: PointResult | None = None  # just finished; None at the start and after a failure


@dataclass(slots=True)
class SweepResult:
    """A sweep's finished points (in grid order) and what is still missing."""

    sweep_id: str
    spec: SweepSpec
    points: list[PointResult]
    failed: dict[str, str] = field(default_factory=dict)  # key → error, run again on resume
    executed: int = 0  # points run by this call
    resumed: int = 0  # points taken from the store

    @property
    def complete(self) -> bool:
        return not self.failed

    def param_names(self) -> list[str]:
        return list(self.points[0].params) if self.points else list(self.spec.grid)

    def to_rows(self) -> list[dict[str, Any]]:
        """One flat dict per point: variant, each parameter, repeat, seed, every totals key,
        correct (1 or 0), error, run_id — the columns of ``--csv``."""
        keys: dict[str, None] = {}
        for p in self.points:
            keys.update(dict.fromkeys(p.totals))
        rows = []
        for p in self.points:
            row: dict[str, Any] = {"variant": p.variant, **p.params}
            row.update(repeat=p.repeat, seed=p.seed)
            row.update({k: p.totals.get(k) for k in keys})
            row.update(correct=int(p.correct), error=p.error, run_id=p.run_id)
            rows.append(row)
        return rows

    def write_csv(self, out: TextIO | str | os.PathLike[str]) -> int:
        """Write :meth:`to_rows` as CSV (``None`` as an empty cell); returns the row count."""
        rows = self.to_rows()
        if not isinstance(out, str | os.PathLike):
            return _write_csv(rows, out)
        with open(out, "w", newline="", encoding="utf-8") as fh:
            return _write_csv(rows, fh)

    def series(
        self,
        variant: str,
        x: str = "n",
        y: str = "aalp_cost",
        where: Mapping[str, int] | None = None,
    ) -> SweepSeries:
        """``y`` against ``x`` for ``variant``, the mean over repeats at each ``x``.

        Parameters other than ``x`` must be fixed, by the grid or by ``where``. ``y`` is a
        totals key or ``correct`` (then the mean is the success rate, errors counting as
        wrong); points that ended in an error have no totals and are left out of other metrics.

        >>> import asyncio
        >>> from hakaru.sweeps import run_sweep
        >>> sweep = asyncio.run(run_sweep("tree-sum", {"n": [16, 64]}, variants=["tree"]))
        >>> sweep.series("tree", x="n", y="calls").y
        [5.0, 21.0]
        """
        where = dict(where or {})
        names = self.param_names()
        for name in (x, *where):
            if name not in names:
                raise ConfigError(
                    f"The sweep has no parameter '{name}'. Its parameters: {', '.join(names)}"
                )
        metrics = {k for p in self.points for k in p.totals} | {"correct", *_TOTALS}
        if y not in metrics:
            raise ConfigError(
                f"No metric '{y}' in the sweep. Choose one of: " + ", ".join(sorted(metrics))
            )
        chosen = [
            p
            for p in self.points
            if p.variant == variant and all(p.params[k] == v for k, v in where.items())
        ]
        if not chosen:
            raise ConfigError(f"The sweep has no points of variant '{variant}' with {where}")
        for name in names:
            seen = sorted({p.params[name] for p in chosen})
            if name != x and len(seen) > 1:
                raise ConfigError(
                    f"Parameter {name} takes several values ({', '.join(map(str, seen))}) in "
                    f"the series of {y} against {x}. Fix it with where={{'{name}': {seen[0]}}}"
                )
        groups: dict[int, list[float]] = {}
        for p in chosen:
            if y == "correct":
                groups.setdefault(p.params[x], []).append(float(p.correct))
            elif p.error is None:
                groups.setdefault(p.params[x], []).append(float(p.totals[y]))
        xs = sorted(groups)
        means = [sum(groups[v]) / len(groups[v]) for v in xs]
        return SweepSeries(variant, x, y, xs, means, [len(groups[v]) for v in xs])

    def as_json(self) -> dict[str, Any]:
        """The ``hakaru sweep --json`` object."""
        return {
            "sweep_id": self.sweep_id,
            **self.spec.as_json(),
            "complete": self.complete,
            "executed": self.executed,
            "resumed": self.resumed,
            "failed": [{**json.loads(k), "error": e} for k, e in self.failed.items()],
            "points": [p.as_json() for p in self.points],
        }


def _write_csv(rows: list[dict[str, Any]], out: TextIO) -> int:
    if not rows:
        return 0
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return len(rows)


#: The totals every ledger reports (a sweep whose points all failed still names them).
_TOTALS = tuple(Ledger(keep_records=False).totals())
