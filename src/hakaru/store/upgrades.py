"""Bringing a store made by an older hakaru up to schema 5, in SQL
(:func:`hakaru.store.schema.migrate` runs these inside its one write transaction).

- schema 2 and older (:func:`upgrade_legacy`): renamed columns, new token classes, and each call's
  dollars instead of ``price_in``/``price_out``;
- schema 3 → 4 (:func:`to_lean`): the one-column-per-field table ``calls`` re-encoded into the
  lean ``call_rows`` of schema 4 (texts as ids into ``strings``, parents as distances back);
- schema 4 → 5 (:func:`v4_to_v5`): those rows re-keyed (run and id in one rowid) with their
  repeated fields moved into ``kinds`` (:mod:`hakaru.store.rows`).

The layouts of schemas 3 and 4 are written out here as they were: they are history, and must
not follow :class:`~hakaru.types.CallRecord` as it changes. A field the old file lacks takes
its default.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields

from hakaru.pricing.prices import Prices
from hakaru.store import columns, rows
from hakaru.types import CallRecord

__all__ = ["PRICES_TABLE", "runs_and_prices", "to_lean", "upgrade_legacy", "v4_to_v5"]

PRICES_TABLE = (
    "CREATE TABLE IF NOT EXISTS prices (run_id TEXT NOT NULL, model TEXT NOT NULL, prices TEXT, "
    "PRIMARY KEY (run_id, model))"
)

#: Columns of the old calls table renamed since a store was made: old name → CallRecord field.
_RENAMED = {"budget": "reasoning_budget", "cached_tokens": "cache_read_tokens"}

#: The record's fields when schema 4 was current, in order ("run" for run_id in call_rows).
_V4_FIELDS = (
    "id", "parents", "role", "model", "attempt", "status", "error_kind", "error",
    "input_tokens", "output_tokens", "reasoning_tokens", "cache_read_tokens",
    "cache_write_tokens", "usage_source", "size", "dollars", "latency", "started", "ended",
    "sim_start", "sim_end", "step", "vote", "candidate", "finish_reason", "reasoning_budget",
    "run_id",
)  # fmt: skip
_V4_INTERNED = frozenset(
    ("role", "model", "status", "error_kind", "error", "usage_source", "candidate",
     "finish_reason")
)  # fmt: skip
_V4_OPTIONAL = frozenset(("dollars", "step", "vote", "reasoning_budget"))
_DEFAULTS = {f.name: f.default for f in fields(CallRecord)}


def runs_and_prices(db: sqlite3.Connection, missing: list[str]) -> None:
    """The runs' owners and the prices table, for stores made before them."""
    if "owner" in missing:  # runs made before hakaru recorded their process
        db.execute("ALTER TABLE runs ADD COLUMN owner TEXT")
    if "prices" in missing:  # stores made before token classes
        db.execute(PRICES_TABLE)


def upgrade_legacy(db: sqlite3.Connection, missing: list[str]) -> None:
    """The old calls table brought to schema 3: renamed and new columns, dollars."""
    have = {row[1] for row in db.execute("PRAGMA table_info(calls)")}
    for old, new in _RENAMED.items():
        if old in have and new in missing:
            db.execute(f'ALTER TABLE calls RENAME COLUMN "{old}" TO "{new}"')
            missing.remove(new)
    for name in missing:
        if name in columns.FIELDS:
            db.execute(f"ALTER TABLE calls ADD COLUMN {columns.sql_column(name)}")
    _price_columns_to_dollars(db)


def _price_columns_to_dollars(db: sqlite3.Connection) -> None:
    """A store of schema 2 or older kept each call's ``price_in``/``price_out``: keep the
    dollars they give (:func:`hakaru.types.legacy_dollars`: unknown where both were 0, as those
    versions priced unknown models at $0), the prices once per run and model, and drop the two
    columns."""
    have = {row[1] for row in db.execute("PRAGMA table_info(calls)")}
    if not {"price_in", "price_out"} <= have:
        return
    db.execute(
        "UPDATE calls SET dollars = CASE "
        "WHEN status NOT IN ('ok', 'flagged') THEN 0.0 "
        "WHEN COALESCE(price_in, 0) = 0 AND COALESCE(price_out, 0) = 0 THEN NULL "
        "ELSE (input_tokens * price_in + output_tokens * price_out) / 1e6 END"
    )
    found = db.execute(
        "SELECT DISTINCT run_id, model, price_in, price_out FROM calls "
        "WHERE COALESCE(price_in, 0) != 0 OR COALESCE(price_out, 0) != 0"
    ).fetchall()
    for run_id, model, price_in, price_out in found:
        prices = Prices.of(price_in or 0.0, price_out or 0.0, source="model spec")
        blob = json.dumps(prices.as_dict(), sort_keys=True, separators=(",", ":"))
        db.execute("INSERT OR REPLACE INTO prices VALUES (?, ?, ?)", (run_id, model, blob))
    for name in ("price_in", "price_out"):
        db.execute(f'ALTER TABLE calls DROP COLUMN "{name}"')


def _v4_column(name: str) -> str:
    """The definition of column ``name`` of schema 4's ``call_rows``."""
    if name == "run_id":
        return '"run" INTEGER NOT NULL'
    if name in _V4_INTERNED:
        return f'"{name}" INTEGER'
    if name in ("parents", "sim_end"):
        return f'"{name}" {"TEXT" if name == "parents" else "REAL"}'
    return f'"{name}" {columns.sql_type(name)}'


def to_lean(db: sqlite3.Connection) -> None:
    """Re-encode the rows of the schema-3 table ``calls`` into schema 4's ``call_rows`` (in SQL,
    so a large store migrates at SQLite's speed) and drop the old table."""
    if "num" not in {row[1] for row in db.execute("PRAGMA table_info(runs)")}:
        db.execute("ALTER TABLE runs ADD COLUMN num INTEGER")
    db.execute("UPDATE runs SET num = rowid WHERE num IS NULL")
    # Calls of a run the runs table does not hold (written by hand): give them a run.
    db.execute(
        "INSERT INTO runs (id, created, kind, name, params, status) SELECT DISTINCT run_id, 0, "
        "'unknown', '', '{}', 'done' FROM calls WHERE run_id NOT IN (SELECT id FROM runs)"
    )
    db.execute("UPDATE runs SET num = (SELECT COALESCE(max(num), 0) FROM runs) + rowid "
               "WHERE num IS NULL")  # fmt: skip
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS runs_by_num ON runs (num)")
    db.execute("CREATE TABLE IF NOT EXISTS strings (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    defs = ", ".join(_v4_column(name) for name in _V4_FIELDS)
    db.execute(f"CREATE TABLE call_rows ({defs}, PRIMARY KEY (run, id)) WITHOUT ROWID")
    first = sorted(_V4_INTERNED)[0]
    texts = " UNION ".join(f'SELECT "{name}" FROM calls' for name in sorted(_V4_INTERNED))
    db.execute(f"INSERT INTO strings (text) SELECT * FROM ({texts}) AS t WHERE t.\"{first}\" != ''")
    db.execute("CREATE INDEX strings_by_text ON strings (text)")  # for the re-encoding only
    select = []
    for name in _V4_FIELDS:
        if name == "run_id":
            select.append("r.num")
        elif name in _V4_INTERNED:
            select.append(f'COALESCE((SELECT min(id) FROM strings WHERE text = c."{name}"), 0)')
        elif name == "parents":
            select.append(
                "COALESCE((SELECT group_concat(c.id - value, ',') FROM json_each(c.parents)), '')"
            )
        elif name == "sim_end":
            select.append(
                "CASE WHEN c.sim_end = (CASE WHEN c.status = 'cached' THEN c.sim_start "
                "ELSE c.sim_start + c.latency END) THEN '' ELSE c.sim_end END"
            )
        elif name in _V4_OPTIONAL:
            select.append(f"COALESCE(c.\"{name}\", '')")
        else:
            select.append(f'c."{name}"')
    names = ", ".join('"run"' if n == "run_id" else f'"{n}"' for n in _V4_FIELDS)
    db.execute(
        f"INSERT INTO call_rows ({names}) SELECT {', '.join(select)} FROM calls c "
        "JOIN runs r ON r.id = c.run_id"
    )
    db.execute("DROP INDEX strings_by_text")
    db.execute("DROP TABLE calls")


def _v4_value(name: str, have: set[str]) -> str:
    """The SQL value of field ``name`` of a schema-4 row ``o`` (its texts joined as ``s_name``),
    as schema 5 keeps it: kinds' fields as the record holds them, the others as schema 4
    encoded them; the field's default where the old file lacks its column."""
    if name not in have:  # a field new since the file was made
        default = _DEFAULTS[name]
        if name in rows.KIND_FIELDS:
            return "NULL" if default is None else repr(default)
        return "''" if default is None else "0" if name in rows.INTERNED else repr(default)
    if name in rows.KIND_FIELDS:
        if name in _V4_INTERNED:
            return f"COALESCE(s_{name}.text, '')"
        if name in _V4_OPTIONAL:
            return f"NULLIF(o.\"{name}\", '')"
    return f'o."{name}"'


def v4_to_v5(db: sqlite3.Connection) -> None:
    """Re-key schema 4's ``call_rows`` into schema 5's and move the fields that repeat into
    ``kinds`` (in SQL); the texts of those fields stay in ``strings``, unused."""
    have = {row[1] for row in db.execute("PRAGMA table_info(call_rows)")}
    db.execute("DROP VIEW IF EXISTS calls")
    db.execute("ALTER TABLE call_rows RENAME TO call_rows_v4")
    db.execute(rows.kinds_sql())
    db.execute(f"CREATE TABLE call_rows ({rows.physical_columns_sql()})")
    joins = " ".join(
        f'LEFT JOIN strings s_{name} ON s_{name}.id = o."{name}"'
        for name in rows.KIND_FIELDS
        if name in _V4_INTERNED and name in have
    )
    values = [_v4_value(name, have) for name in rows.KIND_FIELDS]
    kind_names = ", ".join(f'"{name}"' for name in rows.KIND_FIELDS)
    db.execute(
        f"INSERT INTO kinds ({kind_names}) SELECT DISTINCT {', '.join(values)} "
        f"FROM call_rows_v4 o {joins}"
    )
    db.execute(f"CREATE INDEX kinds_by_value ON kinds ({kind_names})")  # for the re-keying only
    match = " AND ".join(
        f'k."{name}" IS {value}' for name, value in zip(rows.KIND_FIELDS, values, strict=True)
    )
    select = ["(o.run << 32) | o.id", "o.parents", f"(SELECT min(k.id) FROM kinds k WHERE {match})"]
    select += [_v4_value(name, have) for name in rows.PHYSICAL[3:]]
    names = ", ".join(f'"{name}"' for name in rows.PHYSICAL)
    db.execute(
        f"INSERT INTO call_rows ({names}) SELECT {', '.join(select)} FROM call_rows_v4 o "
        f"{joins} ORDER BY o.run, o.id"
    )
    db.execute("DROP INDEX kinds_by_value")
    db.execute("DROP TABLE call_rows_v4")
