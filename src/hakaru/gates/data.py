"""Observations of a gate at one strength, and the CSV format they are read from.

One row is what a user (or, later, ``hakaru gate sweep``) measured while a gate ran at strength
g: how many tasks were completed, how many of those were later found to need rework, and the
exposure over which they were completed — elapsed hours, dollars spent, or both. Throughputs are
then tasks per hour (``per="hour"``) or tasks per dollar (``per="usd"``).

CSV columns (header names are case-insensitive; other columns are ignored):

    g          gate strength in [0, 1] (optional for A/B files)
    completed  tasks completed (whole number >= 0)
    rework     of those, tasks later found to need rework (whole number, 0 <= rework <= completed)
    hours      elapsed hours over which they were completed (> 0)          } at least one
    cost       dollars spent over the same period (> 0)                   } of the two

Errors name the file, the line (the header is line 1) and the column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from hakaru.errors import ConfigError

__all__ = ["CSV_COLUMNS", "GateObservation", "Per", "exposure", "read_observations", "resolve_per"]

#: Throughput unit: tasks per elapsed hour, or tasks per dollar.
Per = Literal["hour", "usd"]

CSV_COLUMNS = ("g", "completed", "rework", "hours", "cost")


@dataclass(frozen=True)
class GateObservation:
    """Tasks completed and reworked at one gate strength over an exposure (hours and/or USD).

    >>> GateObservation(g=0.5, completed=120, rework=9, hours=2.0).completed
    120
    """

    g: float  # gate strength in [0, 1]
    completed: int  # tasks completed
    rework: int  # of the completed tasks, those later found to need rework
    hours: float | None = None  # elapsed hours over which the tasks were completed
    cost: float | None = None  # USD spent over the same period

    def __post_init__(self) -> None:
        if not 0.0 <= self.g <= 1.0:
            raise ConfigError(f"g (gate strength) must be in [0, 1], got {self.g:g}")
        if isinstance(self.completed, bool) or not isinstance(self.completed, int):
            raise ConfigError(f"completed must be a whole number, got {self.completed!r}")
        if isinstance(self.rework, bool) or not isinstance(self.rework, int):
            raise ConfigError(f"rework must be a whole number, got {self.rework!r}")
        if self.completed < 0:
            raise ConfigError(f"completed must be >= 0, got {self.completed}")
        if not 0 <= self.rework <= self.completed:
            raise ConfigError(
                f"rework must be between 0 and completed ({self.completed}), got {self.rework}. "
                "It counts completed tasks later found to need rework"
            )
        if self.hours is None and self.cost is None:
            raise ConfigError(
                "a row needs hours or cost (the exposure over which its tasks were completed)"
            )
        for name, value in (("hours", self.hours), ("cost", self.cost)):
            if value is not None and not (value > 0.0 and math.isfinite(value)):
                raise ConfigError(f"{name} must be > 0, got {value:g}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def resolve_per(rows: Sequence[GateObservation], per: Per | None) -> Per:
    """The throughput unit: ``per`` if given (checked), else hours when every row has them."""
    if per is None:
        if all(r.hours is not None for r in rows):
            return "hour"
        if all(r.cost is not None for r in rows):
            return "usd"
        raise ConfigError(
            "some rows have only hours and others only cost, so throughput has no common unit. "
            "Give every row hours (or every row cost)"
        )
    if per not in ("hour", "usd"):
        raise ConfigError(f"per must be 'hour' or 'usd', got {per!r}")
    column = "hours" if per == "hour" else "cost"
    for i, r in enumerate(rows):
        if (r.hours if per == "hour" else r.cost) is None:
            raise ConfigError(f"observation {i + 1} has no {column}, needed for tasks per {per}")
    return per


def exposure(row: GateObservation, per: Per) -> float:
    """Hours (``per="hour"``) or dollars (``per="usd"``) over which the row's tasks completed."""
    value = row.hours if per == "hour" else row.cost
    if value is None:
        raise ConfigError(f"an observation has no {'hours' if per == 'hour' else 'cost'}")
    return value


def _parse_float(text: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"'{column}' must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"'{column}' must be a finite number, got {text!r}")
    return value


def _parse_count(text: str, column: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0 and value == int(value)):
        raise ConfigError(f"'{column}' must be a whole number >= 0, got {text!r}")
    return int(value)


def read_observations(path: str | Path, *, require_g: bool = True) -> list[GateObservation]:
    """Read :class:`GateObservation` rows from a CSV file (columns in the module docstring).

    Raises :class:`~hakaru.errors.ConfigError` for a missing file or column, or a bad value
    (naming the line). Without ``require_g`` (A/B files) a missing ``g`` column reads as 0.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}. Check the path") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise ConfigError(
            f"{path} is empty. It needs a header line with the columns "
            "g, completed, rework and hours (or cost)"
        )
    names = [h.strip().lower() for h in header]
    needed = ["g", "completed", "rework"] if require_g else ["completed", "rework"]
    missing = [c for c in needed if c not in names]
    if not ("hours" in names or "cost" in names):
        missing.append("hours (or cost)")
    if missing:
        raise ConfigError(
            f"{path} has no column {', '.join(repr(m) for m in missing)}. "
            f"It needs g, completed, rework and hours (or cost); found {', '.join(names)}"
        )
    index = {name: names.index(name) for name in CSV_COLUMNS if name in names}
    rows: list[GateObservation] = []
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        try:
            cells = {
                name: record[i].strip() if i < len(record) else "" for name, i in index.items()
            }
            for name in needed:
                if not cells[name]:
                    raise ConfigError(f"'{name}' is empty")
            hours = _parse_float(cells["hours"], "hours") if cells.get("hours") else None
            cost = _parse_float(cells["cost"], "cost") if cells.get("cost") else None
            g = _parse_float(cells["g"], "g") if cells.get("g") else 0.0
            rows.append(
                GateObservation(
                    g=g,
                    completed=_parse_count(cells["completed"], "completed"),
                    rework=_parse_count(cells["rework"], "rework"),
                    hours=hours,
                    cost=cost,
                )
            )
        except ConfigError as exc:
            raise ConfigError(f"{path} line {line}: {exc}") from None
    if not rows:
        raise ConfigError(f"{path} has a header but no data rows. Add one row per observation")
    return rows
