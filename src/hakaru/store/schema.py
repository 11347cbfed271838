"""The run store's schema, and bringing a store made by an older hakaru up to date in place.

Versions (``PRAGMA user_version``):

- 2: the calls column ``budget`` is ``reasoning_budget`` (a spending cap is a Budget, not this);
- 3: token classes: ``cached_tokens`` is ``cache_read_tokens``, ``cache_write_tokens`` is new;
  each call keeps its ``dollars`` (NULL: unpriced) instead of ``price_in``/``price_out``, and the
  prices a run used are kept once per model in the table ``prices``;
- 4: lean rows: the records live in ``call_rows`` — the run as its number ``runs.num``, texts as
  ids into ``strings``, parents as distances back, ``sim_end`` only where it is not
  ``sim_start + latency``, no NULL bound; ``calls`` is a view that shows them as schema 3
  stored them;
- 5: leaner rows (:mod:`hakaru.store.rows`): run and id in one rowid key, the fields that repeat
  from call to call once per combination in ``kinds``.

Opening an older store migrates it in one write transaction (:func:`migrate`, the steps in
:mod:`hakaru.store.upgrades`, all in SQL). A field added to :class:`~hakaru.types.CallRecord`
later becomes a column of ``call_rows`` (and of the view) on the next open.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hakaru.errors import StoreError
from hakaru.store import columns, rows, upgrades

__all__ = ["SCHEMA_VERSION", "migrate", "needs_upgrade", "schema_state"]

SCHEMA_VERSION = 5

_TABLES = f"""
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, created REAL NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
    params TEXT NOT NULL, status TEXT NOT NULL, summary TEXT, ended REAL,
    calls INTEGER NOT NULL DEFAULT 0, owner TEXT, num INTEGER);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created);
CREATE UNIQUE INDEX IF NOT EXISTS runs_by_num ON runs (num);
CREATE TABLE IF NOT EXISTS strings (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
{rows.kinds_sql()};
CREATE TABLE IF NOT EXISTS call_rows ({rows.physical_columns_sql()});
CREATE TABLE IF NOT EXISTS points (
    sweep_id TEXT NOT NULL, key TEXT NOT NULL, params TEXT NOT NULL, result TEXT, run_id TEXT,
    PRIMARY KEY (sweep_id, key));
CREATE TABLE IF NOT EXISTS checkpoints (
    run_id TEXT NOT NULL, step INTEGER NOT NULL, state TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (run_id, step));
{upgrades.PRICES_TABLE};
"""


def _layout(db: sqlite3.Connection, kinds: dict[str, str]) -> tuple[int, set[str]]:
    """Which ``call_rows`` the file has — 5, 4, or 0 for none (a new file, or schema 3's
    ``calls`` table) — and its columns."""
    if "call_rows" not in kinds:
        return 0, set()
    have = {row[1] for row in db.execute("PRAGMA table_info(call_rows)")}
    return (5 if "key" in have else 4), have


def _column_of(field: str, layout: int) -> str:
    """The column of ``call_rows`` that holds record field ``field`` in schema ``layout``."""
    if layout == 4:
        return "run" if field == "run_id" else field
    if field in ("id", "run_id"):
        return "key"
    return "kind" if field in rows.KIND_FIELDS else field


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
    layout, have = _layout(db, kinds)
    if layout:
        missing = [f for f in columns.FIELDS if _column_of(f, layout) not in have]
    else:
        have = {row[1] for row in db.execute("PRAGMA table_info(calls)")}
        missing = [f for f in columns.FIELDS if f not in have]
    runs = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    if runs:
        missing += [name for name in ("owner", "num") if name not in runs]
        missing += [name for name in ("prices",) if name not in kinds]
        if kinds.get("calls") != "view":
            missing.append("calls")
    return version, missing


def needs_upgrade(db: sqlite3.Connection, path: Path) -> bool:
    """Whether the file must be written before this hakaru can read it as schema 5."""
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
        upgrades.runs_and_prices(db, missing)
        layout, _ = _layout(db, kinds)
        if layout == 5:  # fields new since the file was made
            for name in missing:
                if name in columns.FIELDS:
                    column = rows.physical_column(name, added=True)
                    db.execute(f"ALTER TABLE call_rows ADD COLUMN {column}")
        elif layout == 4:
            upgrades.v4_to_v5(db)
        elif kinds.get("calls") == "table":  # schema 3 or older
            upgrades.upgrade_legacy(db, missing)
            upgrades.to_lean(db)
            upgrades.v4_to_v5(db)
        else:  # a new file
            for statement in _TABLES.split(";"):
                if statement.strip():
                    db.execute(statement)
        db.execute("DROP VIEW IF EXISTS calls")
        db.execute(rows.view_sql())
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
