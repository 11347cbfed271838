"""The SQLite database of the run store: runs, call records, sweep points and checkpoints.

Every write is one short ``BEGIN IMMEDIATE`` transaction (taking the write lock up front, so two
processes sharing a store wait for each other instead of deadlocking); reads stream from a
cursor so a million-call run is never held in memory. SQLite errors become :class:`StoreError`
with a message that says what to do. A store opened ``readonly`` (what listing and reporting
need) is opened in SQLite's read-only mode and never written, so a file the user may only read
can still be read. Several processes may create the same new store at once: switching it to WAL
is retried while another holds the lock (SQLite does not wait on its busy timeout for that), and
the schema is created once, inside a write transaction that checks it is still missing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TextIO

from hakaru.errors import ConfigError, StoreError
from hakaru.pricing.prices import Prices
from hakaru.store import columns, opening
from hakaru.store.entries import (
    Checkpoint,
    RunInfo,
    RunNotFound,
    SweepPoint,
    new_run_id,
    owner,
    owner_alive,
)
from hakaru.store.sink import CallSink
from hakaru.types import CallRecord

__all__ = ["SCHEMA_VERSION", "RunStore", "default_store_path"]

# 2: the calls column "budget" is "reasoning_budget" (a spending cap is a Budget, not this).
# 3: token classes: "cached_tokens" is "cache_read_tokens", "cache_write_tokens" is new; each
#    call keeps its "dollars" (NULL: unpriced) instead of "price_in"/"price_out", and the
#    prices a run used are kept once per model in the table "prices".
SCHEMA_VERSION = 3
RunStatus = Literal["running", "done", "failed"]
ExportFormat = Literal["jsonl", "csv"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, created REAL NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
    params TEXT NOT NULL, status TEXT NOT NULL, summary TEXT, ended REAL,
    calls INTEGER NOT NULL DEFAULT 0, owner TEXT);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created);
CREATE TABLE IF NOT EXISTS calls ({calls}, PRIMARY KEY (run_id, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points (
    sweep_id TEXT NOT NULL, key TEXT NOT NULL, params TEXT NOT NULL, result TEXT, run_id TEXT,
    PRIMARY KEY (sweep_id, key));
CREATE TABLE IF NOT EXISTS checkpoints (
    run_id TEXT NOT NULL, step INTEGER NOT NULL, state TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (run_id, step));
CREATE TABLE IF NOT EXISTS prices (
    run_id TEXT NOT NULL, model TEXT NOT NULL, prices TEXT, PRIMARY KEY (run_id, model));
"""

#: Columns of the calls table renamed since a store was made: old name → CallRecord field.
#: Opening an older store renames them in place, so what it recorded reads back unchanged.
_RENAMED = {"budget": "reasoning_budget", "cached_tokens": "cache_read_tokens"}


def default_store_path() -> Path:
    """``$HAKARU_HOME/hakaru.db``, with ``$HAKARU_HOME`` defaulting to ``./.hakaru``."""
    return Path(os.environ.get("HAKARU_HOME") or ".hakaru") / "hakaru.db"


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):  # numpy scalars and arrays, without importing numpy
        return obj.tolist()
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"Cannot store the {what}: {exc}. Use dicts, lists, strings, numbers and None."
        ) from None


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class RunStore:
    """The SQLite run store at ``path`` (default :func:`default_store_path`, created on demand).

    ``":memory:"`` gives a throw-away store. ``timeout`` (seconds) is how long a write waits for
    another process's write lock before failing. ``readonly=True`` opens an existing store for
    reading only (no write access needed; writing through it is a :class:`StoreError`). Every
    failure is a :class:`StoreError` whose message says what to do; the store is also a context
    manager that closes itself.

    >>> with RunStore(":memory:") as store:
    ...     run_id = store.new_run("sweep", "tree_sum")
    ...     store.finish_run(run_id, "done", {"points": 4})
    ...     store.run(run_id[:8]).status
    'done'
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        timeout: float = 30.0,
        readonly: bool = False,
    ):
        self.path = Path(path) if path is not None else default_store_path()
        self.readonly = readonly
        self.commits = 0  # write transactions committed through this object
        self._lock = threading.RLock()  # one connection, shared by threads (the sync facade's)
        self._sinks: weakref.WeakSet[CallSink] = weakref.WeakSet()
        names = ", ".join(f'"{n}"' for n in columns.FIELDS)
        self._insert = (
            f"INSERT INTO calls ({names}) VALUES ({', '.join('?' * len(columns.FIELDS))})"
        )
        self._select = f"SELECT {names} FROM calls WHERE run_id = ? ORDER BY id"
        self._db: sqlite3.Connection | None = None
        if readonly and self._open_readonly(timeout):
            return
        if str(path) != ":memory:":
            if self.path.is_dir():
                raise StoreError(
                    f"Cannot open the run store at {self.path}: it is a directory. Give the "
                    f"database file (e.g. {self.path / 'hakaru.db'}) or set HAKARU_HOME to the "
                    "folder."
                )
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"Cannot create the folder of the run store {self.path}: {exc.strerror}. "
                    "Choose a writable location with --store or HAKARU_HOME."
                ) from None
        with opening.failures(self.path, timeout, "open") as db:
            self.journal_mode = opening.use_wal(db, timeout)
            db.execute("PRAGMA synchronous=NORMAL")
            self._migrate(db)
            self._db = db

    def _open_readonly(self, timeout: float) -> bool:
        """Open an existing store in SQLite's read-only mode, which creates, switches and
        migrates nothing; ``False`` when the file must first be written (an empty file, or one
        made by an older hakaru: it is then opened read-write once, to be upgraded)."""
        with opening.failures(self.path, timeout, "open", readonly=True) as db:
            self.journal_mode = str(db.execute("PRAGMA journal_mode").fetchone()[0])
            version, missing = self._schema_state(db)
            if version == 0 or missing:
                db.close()
                return False
            self._db = db
        return True

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Create the schema, or bring an older file up to date: rename the columns of
        ``_RENAMED``, add columns for CallRecord fields new since the file was made, and turn
        per-call prices into dollars (:meth:`_price_columns_to_dollars`).

        Only reads when the file is current, so opening a store to read it never waits for the
        write lock of another process.
        """
        version, missing = self._schema_state(db)
        if version == SCHEMA_VERSION and not missing:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            version, missing = self._schema_state(db)  # again: another process may have begun
            if version == 0:
                for statement in _SCHEMA.format(calls=columns.columns_sql()).split(";"):
                    if statement.strip():
                        db.execute(statement)
            else:
                have = {row[1] for row in db.execute("PRAGMA table_info(calls)")}
                for old, new in _RENAMED.items():
                    if old in have and new in missing:
                        db.execute(f'ALTER TABLE calls RENAME COLUMN "{old}" TO "{new}"')
                        missing.remove(new)
                for name in missing:
                    if name == "owner":  # runs made before hakaru recorded their process
                        db.execute("ALTER TABLE runs ADD COLUMN owner TEXT")
                    elif name == "prices":  # stores made before token classes
                        db.execute(_SCHEMA.split(";")[-2])
                    else:
                        column = columns.sql_column(name)
                        db.execute(f"ALTER TABLE calls ADD COLUMN {column}")
                self._price_columns_to_dollars(db)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")

    @staticmethod
    def _price_columns_to_dollars(db: sqlite3.Connection) -> None:
        """A store of schema 2 or older kept each call's ``price_in``/``price_out``: keep the
        dollars they give (:func:`hakaru.types.legacy_dollars`: unknown where both were 0, as
        those versions priced unknown models at $0), the prices once per run and model, and
        drop the two columns."""
        have = {row[1] for row in db.execute("PRAGMA table_info(calls)")}
        if not {"price_in", "price_out"} <= have:
            return
        db.execute(
            "UPDATE calls SET dollars = CASE "
            "WHEN status NOT IN ('ok', 'flagged') THEN 0.0 "
            "WHEN COALESCE(price_in, 0) = 0 AND COALESCE(price_out, 0) = 0 THEN NULL "
            "ELSE (input_tokens * price_in + output_tokens * price_out) / 1e6 END"
        )
        rows = db.execute(
            "SELECT DISTINCT run_id, model, price_in, price_out FROM calls "
            "WHERE COALESCE(price_in, 0) != 0 OR COALESCE(price_out, 0) != 0"
        ).fetchall()
        for run_id, model, price_in, price_out in rows:
            prices = Prices.of(price_in or 0.0, price_out or 0.0, source="model spec")
            db.execute(
                "INSERT OR REPLACE INTO prices VALUES (?, ?, ?)",
                (run_id, model, _dumps(prices.as_dict(), "prices")),
            )
        for name in ("price_in", "price_out"):
            db.execute(f'ALTER TABLE calls DROP COLUMN "{name}"')

    def _schema_state(self, db: sqlite3.Connection) -> tuple[int, list[str]]:
        """The file's schema version and the columns it lacks: CallRecord fields missing from
        its calls table, and ``owner`` if its runs table has none."""
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The run store at {self.path} has schema version {version}; this hakaru knows "
                f"up to {SCHEMA_VERSION}. Upgrade hakaru, or choose another store with --store."
            )
        have = {row[1] for row in db.execute("PRAGMA table_info(calls)")}
        missing = [name for name in columns.FIELDS if name not in have]
        runs = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
        if runs and "owner" not in runs:
            missing.append("owner")
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        if runs and "prices" not in tables:
            missing.append("prices")
        return version, missing

    # -- plumbing ----------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError(f"The run store at {self.path} is closed. Open it again.")
        return self._db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so it cannot deadlock."""
        db = self._conn()
        if self.readonly:
            raise StoreError(
                f"The run store at {self.path} was opened read-only. Open it without "
                "readonly=True to write to it."
            )
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self.commits += 1

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Hold the connection for one operation; SQLite errors become StoreError."""
        try:
            with self._lock:
                yield
        except sqlite3.Error as exc:
            raise StoreError(
                f"Cannot {action} in the run store at {self.path}: {exc}. Check the disk and "
                "that no other program holds the database locked, then try again."
            ) from exc

    # -- runs --------------------------------------------------------------------------------

    def new_run(self, kind: str, name: str = "", params: Mapping[str, Any] | None = None) -> str:
        """Record a new run with status ``running``, owned by this process; return its id."""
        blob = _dumps(dict(params or {}), "run parameters")
        me = owner()  # the process running it
        with self._errors("create a run"):
            for _ in range(16):
                run_id = new_run_id()
                try:
                    with self._write() as db:
                        db.execute(
                            "INSERT INTO runs (id, created, kind, name, params, status, owner) "
                            "VALUES (?, ?, ?, ?, ?, 'running', ?)",
                            (run_id, time.time(), kind, name, blob, me),
                        )
                    return run_id
                except sqlite3.IntegrityError:
                    continue  # another process took the same id in the same millisecond
        raise StoreError(f"Cannot find a free run id in {self.path}. Try again.")

    def finish_run(
        self, run_id: str, status: RunStatus = "done", summary: Mapping[str, Any] | None = None
    ) -> None:
        """Mark a run ``done`` or ``failed``, with an optional JSON summary (totals, results)."""
        if status not in ("running", "done", "failed"):
            raise ConfigError(f"Unknown run status '{status}'. Use 'done' or 'failed'.")
        blob = None if summary is None else _dumps(dict(summary), "run summary")
        with self._errors("finish a run"), self._write() as db:
            cur = db.execute(
                "UPDATE runs SET status = ?, summary = ?, ended = ? WHERE id = ?",
                (status, blob, None if status == "running" else time.time(), run_id),
            )
            if cur.rowcount == 0:
                raise RunNotFound.unknown(run_id, self.path)

    _RUN_COLUMNS = "id, kind, name, params, status, created, ended, summary, calls, owner"

    @staticmethod
    def _info(row: tuple[Any, ...]) -> RunInfo:
        id_, kind, name, params, status, created, ended, summary, n, who = row
        if status == "running" and who and not owner_alive(who):
            status = "interrupted"
        return RunInfo(id_, kind, name, _loads(params), status, created, ended, _loads(summary), n)

    def runs(self, limit: int | None = 50, kind: str | None = None) -> list[RunInfo]:
        """The newest ``limit`` runs (all when ``None``), newest first, optionally of one kind."""
        where, args = ("WHERE kind = ?", [kind]) if kind else ("", [])
        with self._errors("list runs"):
            rows = self._conn().execute(
                f"SELECT {self._RUN_COLUMNS} FROM runs {where} "
                "ORDER BY created DESC, id DESC LIMIT ?",
                (*args, -1 if limit is None else limit),
            )
            return [self._info(r) for r in rows]

    def run(self, ref: str) -> RunInfo:
        """The run whose id is ``ref`` or starts with it (like git's short commit ids)."""
        key = ref.strip().lower()
        if not key:
            raise RunNotFound("No run id given. List runs with 'hakaru runs list'.")
        with self._errors("look a run up"):
            rows = (
                self._conn()
                .execute(
                    f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id >= ? AND id < ? ORDER BY id "
                    "LIMIT 6",
                    (key, key + "\U0010ffff"),
                )
                .fetchall()
            )
        exact = [r for r in rows if r[0] == key]
        if exact or len(rows) == 1:
            return self._info((exact or rows)[0])
        if not rows:
            raise RunNotFound.unknown(ref, self.path)
        shown = ", ".join(r[0] for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
        raise RunNotFound(
            f"Run id prefix '{ref}' is ambiguous in {self.path}: it matches {shown}. "
            "Give more characters of the id."
        )

    # -- calls -------------------------------------------------------------------------------

    def add_calls(self, run_id: str, records: Iterable[CallRecord]) -> int:
        """Write ``records`` under ``run_id`` in one transaction; returns how many."""
        rows = [columns.to_row(r, run_id) for r in records]
        if not rows:
            return 0
        try:
            with self._errors("write call records"), self._write() as db:
                count = "UPDATE runs SET calls = calls + ? WHERE id = ?"
                if db.execute(count, (len(rows), run_id)).rowcount == 0:
                    raise RunNotFound.unknown(run_id, self.path)
                db.executemany(self._insert, rows)
        except StoreError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise StoreError(
                    f"A call id is already stored for run {run_id} in {self.path} "
                    f"({exc.__cause__}). Give every call record of a run its own id."
                ) from None
            raise
        return len(rows)

    def calls(self, run_id: str) -> Iterator[CallRecord]:
        """Stream the call records of run ``run_id`` (an exact id), ordered by call id."""
        with self._errors("read call records"):
            cursor = self._conn().execute(self._select, (run_id,))
        while True:  # in chunks, so that the lock is not held while the caller works
            with self._errors("read call records"):
                rows = cursor.fetchmany(1024)
            if not rows:
                return
            for row in rows:
                yield columns.from_row(row)

    def calls_by_id(self, run_id: str, ids: Iterable[int]) -> list[CallRecord]:
        """The records of run ``run_id`` with call ids ``ids`` (those stored), ordered by id."""
        wanted = sorted(set(ids))
        out: list[CallRecord] = []
        for i in range(0, len(wanted), 500):  # below SQLite's limit on parameters
            chunk = wanted[i : i + 500]
            query = self._select.replace(
                "ORDER BY", f"AND id IN ({', '.join('?' * len(chunk))}) ORDER BY"
            )
            with self._errors("read call records"):
                rows = self._conn().execute(query, (run_id, *chunk)).fetchall()
            out.extend(columns.from_row(row) for row in rows)
        return out

    def sink(self, run_id: str) -> CallSink:
        """A :class:`CallSink` that group-commits records of ``run_id`` into this store.

        The store keeps (weakly) every sink it made, and :meth:`close` flushes the open ones.
        """
        sink = CallSink(self, run_id)
        self._sinks.add(sink)
        return sink

    # -- prices ------------------------------------------------------------------------------

    def put_prices(self, run_id: str, model: str, prices: Prices | None) -> None:
        """Record the prices the calls of ``model`` in run ``run_id`` were priced at
        (``None``: unknown), so that a run read back splits its dollars by token class."""
        blob = None if prices is None else _dumps(prices.as_dict(), "prices")
        with self._errors("write prices"), self._write() as db:
            db.execute("INSERT OR REPLACE INTO prices VALUES (?, ?, ?)", (run_id, model, blob))

    def prices(self, run_id: str) -> dict[str, Prices | None]:
        """The prices per model recorded for ``run_id`` (an exact id)."""
        with self._errors("read prices"):
            rows = self._conn().execute(
                "SELECT model, prices FROM prices WHERE run_id = ? ORDER BY model", (run_id,)
            )
            return {
                model: None if blob is None else Prices.from_dict(json.loads(blob))
                for model, blob in rows
            }

    # -- sweep points and checkpoints --------------------------------------------------------

    def put_point(
        self,
        sweep_id: str,
        key: str,
        params: Mapping[str, Any],
        result: Any,
        run_id: str | None = None,
    ) -> None:
        """Store (or replace) the result of one sweep point."""
        blobs = (_dumps(dict(params), "sweep point parameters"), _dumps(result, "sweep result"))
        with self._errors("write a sweep point"), self._write() as db:
            db.execute(
                "INSERT INTO points VALUES (?, ?, ?, ?, ?) ON CONFLICT (sweep_id, key) DO UPDATE "
                "SET params = excluded.params, result = excluded.result, run_id = excluded.run_id",
                (sweep_id, key, *blobs, run_id),
            )

    def get_points(self, sweep_id: str) -> dict[str, SweepPoint]:
        """The stored points of a sweep, by key, in the order they were first stored."""
        with self._errors("read sweep points"):
            rows = self._conn().execute(
                "SELECT key, params, result, run_id FROM points WHERE sweep_id = ? ORDER BY rowid",
                (sweep_id,),
            )
            return {k: SweepPoint(sweep_id, k, _loads(p), _loads(r), run) for k, p, r, run in rows}

    def put_checkpoint(self, run_id: str, step: int, state: Any) -> None:
        """Store (or replace) the state of a run after ``step``."""
        blob = _dumps(state, "checkpoint state")
        with self._errors("write a checkpoint"), self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?)",
                (run_id, step, blob, time.time()),
            )

    def latest_checkpoint(self, run_id: str) -> Checkpoint | None:
        """The checkpoint with the highest step of ``run_id``, or ``None``."""
        with self._errors("read checkpoints"):
            row = (
                self._conn()
                .execute(
                    "SELECT step, state, created FROM checkpoints WHERE run_id = ? "
                    "ORDER BY step DESC LIMIT 1",
                    (run_id,),
                )
                .fetchone()
            )
        return None if row is None else Checkpoint(run_id, row[0], _loads(row[1]), row[2])

    # -- export and closing ------------------------------------------------------------------

    def export(self, ref: str, fmt: ExportFormat, out: TextIO) -> int:
        """Write the calls of run ``ref`` (id or unique prefix) to ``out``; returns how many.

        ``jsonl``: one :meth:`CallRecord.as_dict` object per line. ``csv``: a header of the
        CallRecord fields, ``parents`` as space-separated ids, ``None`` as an empty cell.
        """
        if fmt not in ("jsonl", "csv"):
            raise ConfigError(f"Unknown export format '{fmt}'. Use jsonl or csv.")
        run_id = self.run(ref).id
        if fmt == "jsonl":
            return columns.write_jsonl(self.calls(run_id), out)
        return columns.write_csv(self.calls(run_id), out)

    def close(self) -> None:
        """Flush every open sink of this store, then close the database (idempotent)."""
        with self._lock:
            if self._db is None:
                return
            for sink in list(self._sinks):
                if not sink.closed:  # raises StoreError, leaving the store open, if it cannot write
                    sink.flush()
            self._db.close()
            self._db = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
