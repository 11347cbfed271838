"""The run store's schema, and bringing a store made by an older hakaru up to date in place.

Versions (``PRAGMA user_version``):

- 2: the calls column ``budget`` is ``reasoning_budget`` (a spending cap is a Budget, not this);
- 3: token classes: ``cached_tokens`` is ``cache_read_tokens``, ``cache_write_tokens`` is new;
  each call keeps its ``dollars`` (NULL: unpriced) instead of ``price_in``/``price_out``, and the
  prices a run used are kept once per model in the table ``prices``;
- 4: lean rows (:mod:`hakaru.store.rows`): the records live in ``call_rows`` — the run as its
  number ``runs.num``, texts as ids into ``strings``, parents as distances back, ``sim_end``
  only where it is not ``sim_start + latency``, no NULL bound; ``calls`` is a view that shows
  them as schema 3 stored them.

Opening an older store migrates it in one write transaction (:func:`migrate`): the renames and
columns of versions 2 and 3 on the old ``calls`` table first, then its rows re-encoded into
``call_rows`` in SQL (:func:`_to_lean`), the old table dropped and the view made. A field added
to :class:`~hakaru.types.CallRecord` later becomes a column of ``call_rows`` (and of the view)
on the next open.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from hakaru.errors import StoreError
from hakaru.pricing.prices import Prices
from hakaru.store import columns, rows

__all__ = ["SCHEMA_VERSION", "migrate", "needs_upgrade", "schema_state"]

SCHEMA_VERSION = 4

_TABLES = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, created REAL NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
    params TEXT NOT NULL, status TEXT NOT NULL, summary TEXT, ended REAL,
    calls INTEGER NOT NULL DEFAULT 0, owner TEXT, num INTEGER);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created);
CREATE UNIQUE INDEX IF NOT EXISTS runs_by_num ON runs (num);
CREATE TABLE IF NOT EXISTS strings (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS call_rows ({call_rows}, PRIMARY KEY (run, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points (
    sweep_id TEXT NOT NULL, key TEXT NOT NULL, params TEXT NOT NULL, result TEXT, run_id TEXT,
    PRIMARY KEY (sweep_id, key));
CREATE TABLE IF NOT EXISTS checkpoints (
    run_id TEXT NOT NULL, step INTEGER NOT NULL, state TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (run_id, step));
CREATE TABLE IF NOT EXISTS prices (
    run_id TEXT NOT NULL, model TEXT NOT NULL, prices TEXT, PRIMARY KEY (run_id, model));
"""
_PRICES_TABLE = _TABLES.split(";")[-2]

#: Columns of the old calls table renamed since a store was made: old name → CallRecord field.
_RENAMED = {"budget": "reasoning_budget", "cached_tokens": "cache_read_tokens"}


def schema_state(db: sqlite3.Connection, path: Path) -> tuple[int, list[str]]:
    """The file's schema version and what it lacks: CallRecord fields missing from its records
    table, ``owner``/``num`` if its runs table has none, ``prices`` and ``calls`` (the view)
    if absent. A new file lacks everything."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"The run store at {path} has schema version {version}; this hakaru knows up to "
            f"{SCHEMA_VERSION}. Upgrade hakaru, or choose another store with --store."
        )
    kinds = dict(db.execute("SELECT name, type FROM sqlite_master").fetchall())
    lean = "call_rows" in kinds
    table = "call_rows" if lean else "calls"
    have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    names = rows.PHYSICAL if lean else columns.FIELDS
    missing = [field for field, name in zip(columns.FIELDS, names, strict=True) if name not in have]
    runs = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    if runs:
        missing += [name for name in ("owner", "num") if name not in runs]
        missing += [name for name in ("prices",) if name not in kinds]
        if kinds.get("calls") != "view":
            missing.append("calls")
    return version, missing


def needs_upgrade(db: sqlite3.Connection, path: Path) -> bool:
    """Whether the file must be written before this hakaru can read it as schema 4."""
    version, missing = schema_state(db, path)
    return version < SCHEMA_VERSION or bool(missing)


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Create the schema, or bring an older file up to date (see the module docstring).

    Only reads when the file is current, so opening a store to read it never waits for the
    write lock of another process.
    """
    if not needs_upgrade(db, path):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        _, missing = schema_state(db, path)  # again: another process may have begun
        kinds = dict(db.execute("SELECT name, type FROM sqlite_master").fetchall())
        _runs_and_prices(db, missing)
        if "call_rows" in kinds:  # schema 4: fields new since it was made
            for name in missing:
                if name in columns.FIELDS:
                    column = rows.physical_column(name, added=True)
                    db.execute(f"ALTER TABLE call_rows ADD COLUMN {column}")
            db.execute("DROP VIEW IF EXISTS calls")
            db.execute(rows.view_sql())
        elif kinds.get("calls") == "table":  # schema 3 or older
            _upgrade_legacy(db, missing)
            _to_lean(db)
        else:  # a new file
            for statement in _TABLES.format(call_rows=rows.physical_columns_sql()).split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(rows.view_sql())
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")


def _upgrade_legacy(db: sqlite3.Connection, missing: list[str]) -> None:
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


def _runs_and_prices(db: sqlite3.Connection, missing: list[str]) -> None:
    """The runs' owners and the prices table, for stores made before them."""
    if "owner" in missing:  # runs made before hakaru recorded their process
        db.execute("ALTER TABLE runs ADD COLUMN owner TEXT")
    if "prices" in missing:  # stores made before token classes
        db.execute(_PRICES_TABLE)


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


def _to_lean(db: sqlite3.Connection) -> None:
    """Re-encode the rows of the schema-3 table ``calls`` into ``call_rows`` (in SQL, so a
    large store migrates at SQLite's speed), drop it and make the view in its place."""
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
    for statement in _TABLES.format(call_rows=rows.physical_columns_sql()).split(";"):
        if statement.strip():
            db.execute(statement)  # IF NOT EXISTS: the missing tables and indexes
    texts = " UNION ".join(f'SELECT "{name}" FROM calls' for name in sorted(rows.INTERNED))
    db.execute(f"INSERT INTO strings (text) SELECT * FROM ({texts}) AS t WHERE t.{_first()} != ''")
    db.execute("CREATE INDEX strings_by_text ON strings (text)")  # for the re-encoding only
    select = []
    for name in rows.PHYSICAL:
        if name == "run":
            select.append("r.num")
        elif name in rows.INTERNED:
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
        elif name in rows.OPTIONAL:
            select.append(f"COALESCE(c.\"{name}\", '')")
        else:
            select.append(f'c."{name}"')
    names = ", ".join(f'"{name}"' for name in rows.PHYSICAL)
    db.execute(
        f"INSERT INTO call_rows ({names}) SELECT {', '.join(select)} FROM calls c "
        "JOIN runs r ON r.id = c.run_id"
    )
    db.execute("DROP INDEX strings_by_text")
    db.execute("DROP TABLE calls")
    db.execute(rows.view_sql())


def _first() -> str:
    """The name of the column of the UNION of the interned fields (its first select's)."""
    return f'"{sorted(rows.INTERNED)[0]}"'
