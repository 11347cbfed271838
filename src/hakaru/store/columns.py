"""How a :class:`~hakaru.types.CallRecord` maps to columns, to the ``calls`` rows of schema 3
and to exports.

The columns are derived from the dataclass fields, in field order, so a field added to
``CallRecord`` becomes a column (``ALTER TABLE`` on the next open) without touching this module.
In the ``calls`` rows of schema 3 (and its view in schema 4) tuple fields (``parents``) are
compact JSON lists and ``None`` is SQL ``NULL``; schema 4 stores the rows leaner
(:mod:`hakaru.store.rows`).
"""

from __future__ import annotations

import csv
import json
import operator
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any, TextIO

from hakaru.types import RECORD_FIELDS, CallRecord

__all__ = [
    "FIELDS",
    "from_row",
    "sql_column",
    "sql_type",
    "write_csv",
    "write_jsonl",
]

FIELDS: tuple[str, ...] = RECORD_FIELDS
_TYPES = {f.name: str(f.type) for f in fields(CallRecord)}
_DEFAULTS = {f.name: f.default for f in fields(CallRecord)}
_JSON = tuple(i for i, name in enumerate(FIELDS) if _TYPES[name].startswith("tuple"))
_INT_TUPLES = frozenset(i for i in _JSON if _TYPES[FIELDS[i]] == "tuple[int, ...]")
_RUN_ID = FIELDS.index("run_id")
_GET = operator.attrgetter(*FIELDS)


def sql_type(name: str) -> str:
    """The SQLite column type of CallRecord field ``name`` (from its annotation)."""
    annotation = _TYPES[name]
    if annotation.startswith("tuple"):
        return "TEXT"  # JSON list
    if "float" in annotation:
        return "REAL"
    return "INTEGER" if "int" in annotation else "TEXT"


def sql_column(name: str) -> str:
    """The definition of the column of CallRecord field ``name`` added to an older store: a
    field with a number as its default gets it as the column's default, so that the rows
    stored before read back as that number (not NULL)."""
    default = _DEFAULTS.get(name)
    tail = ""
    if isinstance(default, int | float) and "None" not in _TYPES[name]:
        tail = f" NOT NULL DEFAULT {default!r}"
    return f'"{name}" {sql_type(name)}{tail}'


def from_row(row: Iterable[Any]) -> CallRecord:
    """The record of a row read in :data:`FIELDS` order."""
    values = list(row)
    for i in _JSON:
        text = values[i]
        if i in _INT_TUPLES:  # "[1,2,3]" (json.dumps's "[1, 2]" too): 3x faster than json.loads
            values[i] = tuple(map(int, text[1:-1].split(","))) if text and text != "[]" else ()
        else:
            values[i] = tuple(json.loads(text or "[]"))
    return CallRecord(*values)


def write_jsonl(records: Iterable[CallRecord], out: TextIO) -> int:
    """One :meth:`CallRecord.as_dict` JSON object per line; returns how many records."""
    n = 0
    for rec in records:
        out.write(json.dumps(rec.as_dict(), separators=(",", ":")) + "\n")
        n += 1
    return n


def write_csv(records: Iterable[CallRecord], out: TextIO) -> int:
    """A header of the CallRecord fields, then one row per record; returns how many records.

    ``parents`` is written as space-separated ids and ``None`` as an empty cell.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    n = 0
    for rec in records:
        row: list[Any] = ["" if v is None else v for v in _GET(rec)]
        for i in _JSON:
            ids: Sequence[int] = row[i]
            row[i] = " ".join(str(p) for p in ids)
        writer.writerow(row)
        n += 1
    return n
