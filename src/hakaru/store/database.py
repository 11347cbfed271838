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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TextIO

from hakaru.errors import ConfigError, StoreError
from hakaru.pricing.prices import Prices
from hakaru.store import columns, opening, rows, schema
from hakaru.store.entries import (
    Checkpoint,
    RunInfo,
    RunNotFound,
    SweepPoint,
    new_run_id,
    owner,
    owner_alive,
)
from hakaru.store.schema import SCHEMA_VERSION
from hakaru.store.sink import CallSink
from hakaru.types import CallRecord, RecordRow, record_of

__all__ = ["SCHEMA_VERSION", "RunStore", "default_store_path"]

RunStatus = Literal["running", "done", "failed"]
ExportFormat = Literal["jsonl", "csv"]


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
        names = ", ".join(f'"{n}"' for n in rows.PHYSICAL)
        self._insert = (
            f"INSERT INTO call_rows ({names}) VALUES ({', '.join('?' * len(rows.PHYSICAL))})"
        )
        marks = ", ".join("?" * (1 + len(rows.KIND_FIELDS)))
        self._insert_kind = f"INSERT INTO kinds VALUES ({marks})"
        self._codec = rows.RowCodec()
        self._nums: dict[str, int] = {}  # run id → run number, of the runs written here
        self._lean = True  # False: a schema-3 store opened read-only (read as it is)
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
            # Checkpoint the log into the file every ~32 MB rather than every 4 MB: a checkpoint
            # syncs both files, and a million-call run would pay for a few hundred of them.
            db.execute("PRAGMA wal_autocheckpoint=8192")
            schema.migrate(db, self.path)
            self._db = db

    def _open_readonly(self, timeout: float) -> bool:
        """Open an existing store in SQLite's read-only mode, which creates, switches and
        migrates nothing; ``False`` when the file must first be written (an empty file, or one
        made by an older hakaru: it is then opened read-write once, to be upgraded)."""
        with opening.failures(self.path, timeout, "open", readonly=True) as db:
            self.journal_mode = str(db.execute("PRAGMA journal_mode").fetchone()[0])
            version, missing = schema.schema_state(db, self.path)
            if version == 0 or [m for m in missing if m not in ("num", "calls")]:
                db.close()
                return False
            self._lean = version >= SCHEMA_VERSION  # else read the schema-3 table as it is
            self._db = db
        return True

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
                            "INSERT INTO runs (id, created, kind, name, params, status, owner, "
                            "num) VALUES (?, ?, ?, ?, ?, 'running', ?, "
                            "(SELECT COALESCE(max(num), 0) + 1 FROM runs))",
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
        return self.add_rows(run_id, [record_of(r) for r in records])

    def add_rows(self, run_id: str, batch: Sequence[RecordRow]) -> int:
        """:meth:`add_calls` for records given as rows (:func:`~hakaru.types.record_row`)."""
        if not batch:
            return 0
        codec = self._codec
        try:
            with self._errors("write call records"), self._write() as db:
                count = "UPDATE runs SET calls = calls + ? WHERE id = ?"
                if db.execute(count, (len(batch), run_id)).rowcount == 0:
                    raise RunNotFound.unknown(run_id, self.path)
                num = self._nums.get(run_id)
                if num is None:
                    found = db.execute("SELECT num FROM runs WHERE id = ?", (run_id,))
                    num = self._nums[run_id] = int(found.fetchone()[0])
                tops = "SELECT (SELECT max(id) FROM strings), (SELECT max(id) FROM kinds)"
                top, top_kind = db.execute(tops).fetchone()
                codec.begin((top or 0) + 1, (top_kind or 0) + 1)
                encoded = codec.encode(batch, num)
                new = codec.new_strings()
                if new:
                    db.executemany("INSERT INTO strings VALUES (?, ?)", new)
                kinds = codec.new_kinds()
                if kinds:
                    db.executemany(self._insert_kind, kinds)
                db.executemany(self._insert, encoded)
        except BaseException as exc:
            codec.rollback()  # the texts it interned were not committed
            if isinstance(exc, StoreError) and isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise StoreError(
                    f"A call id is already stored for run {run_id} in {self.path} "
                    f"({exc.__cause__}). Give every call record of a run its own id."
                ) from None
            raise
        codec.commit()
        return len(batch)

    def calls(self, run_id: str) -> Iterator[CallRecord]:
        """Stream the call records of run ``run_id`` (an exact id), ordered by call id."""
        if not self._lean:  # a schema-3 store opened read-only: its own table, as it is
            yield from self._legacy_calls(run_id)
            return
        with self._errors("read call records"):
            db = self._conn()
            found = db.execute("SELECT num FROM runs WHERE id = ?", (run_id,)).fetchone()
            if found is None or found[0] is None:
                return
            cursor = db.execute(rows.read_sql(), rows.key_range(found[0]))
        decode = rows.decode
        while True:  # in chunks, so that the lock is not held while the caller works
            with self._errors("read call records"):
                chunk = cursor.fetchmany(1024)
            if not chunk:
                return
            for row in chunk:
                yield decode(row, run_id)

    def _legacy_calls(self, run_id: str) -> Iterator[CallRecord]:
        names = ", ".join(f'"{n}"' for n in columns.FIELDS)
        with self._errors("read call records"):
            cursor = self._conn().execute(
                f"SELECT {names} FROM calls WHERE run_id = ? ORDER BY id", (run_id,)
            )
        while True:
            with self._errors("read call records"):
                chunk = cursor.fetchmany(1024)
            if not chunk:
                return
            for row in chunk:
                yield columns.from_row(row)

    def calls_by_id(self, run_id: str, ids: Iterable[int]) -> list[CallRecord]:
        """The records of run ``run_id`` with call ids ``ids`` (those stored), ordered by id."""
        wanted = sorted(set(ids))
        out: list[CallRecord] = []
        with self._errors("read call records"):
            db = self._conn()
            if self._lean:
                found = db.execute("SELECT num FROM runs WHERE id = ?", (run_id,)).fetchone()
                if found is None or found[0] is None:
                    return out
                num: int = found[0]
                key: Any = rows.key_range(num)
                query = rows.read_sql("c.key IN ({})")
            else:  # a schema-3 store opened read-only: its own table, as it is
                num, key = 0, (run_id,)
                names = ", ".join(f'"{n}"' for n in columns.FIELDS)
                query = f"SELECT {names} FROM calls WHERE run_id = ? AND id IN ({{}}) ORDER BY id"
            for i in range(0, len(wanted), 500):  # below SQLite's limit on parameters
                chunk = wanted[i : i + 500]
                if self._lean:  # the rows' keys (an id no key can hold matches nothing)
                    keys = (rows.key_of(num, c) for c in chunk)
                    chunk = [k for k in keys if k is not None]
                found_rows = db.execute(
                    query.format(", ".join("?" * len(chunk))), (*key, *chunk)
                ).fetchall()
                if self._lean:
                    out.extend(rows.decode(row, run_id) for row in found_rows)
                else:
                    out.extend(columns.from_row(row) for row in found_rows)
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
