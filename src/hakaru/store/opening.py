"""Opening the SQLite file of a run store: read-write in WAL mode, or read-only.

Design choice: every way opening can fail becomes one :class:`StoreError` that says what to
do, in one place. Two cases need more than a message:

- **several processes creating the same new store at once.** Switching a new file to WAL needs
  its exclusive lock, and SQLite answers "database is locked" at once, without waiting on its
  busy timeout, while another connection holds any lock; :func:`use_wal` retries the switch for
  the store's timeout. (Creating the schema is a ``BEGIN IMMEDIATE`` transaction that checks it
  is still missing: ``RunStore._migrate``.)
- **a store the user may only read.** Listing and reporting open it for reading only
  (:func:`_for_reading`): nothing is created, migrated or switched, so no write access is
  needed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hakaru.errors import StoreError

__all__ = ["failures", "use_wal"]


def use_wal(db: sqlite3.Connection, timeout: float) -> str:
    """Switch ``db`` to WAL (a no-op when it already is), retrying for ``timeout`` seconds while
    another connection holds a lock; return the journal mode."""
    deadline = time.monotonic() + timeout
    delay = 0.005  # s, doubled up to 0.1
    while True:
        try:
            return str(db.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if not _locked(exc) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


@contextmanager
def failures(
    path: Path, timeout: float, action: str, *, readonly: bool = False
) -> Iterator[sqlite3.Connection]:
    """A connection to the store file at ``path`` for the ``with`` block; closed again if the
    block fails, and SQLite's errors turned into a :class:`StoreError` saying what to do."""
    if readonly and not path.is_file():
        raise StoreError(
            f"There is no run store at {path}. Run something first (e.g. 'hakaru run tree-sum "
            "--n 64'), or give the store's path with --store or HAKARU_HOME."
        )
    db: sqlite3.Connection | None = None
    try:
        db = _for_reading(path, timeout) if readonly else _connect(str(path), timeout)
        yield db
    except BaseException as exc:
        if db is not None:
            db.close()
        if not isinstance(exc, sqlite3.Error):
            raise
        raise StoreError(
            f"Cannot {action} the run store at {path}: {_hint(exc, timeout)} with --store or "
            "HAKARU_HOME."
        ) from None


def _connect(target: str, timeout: float, *, uri: bool = False) -> sqlite3.Connection:
    return sqlite3.connect(
        target, uri=uri, timeout=timeout, isolation_level=None, check_same_thread=False
    )


def _for_reading(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection that reads ``path`` and never writes it.

    SQLite's read-only mode (``mode=ro``) first. It cannot read a WAL-mode file whose index (the
    ``-shm`` file) does not exist and may not be created — a store closed cleanly, in a folder
    the user may only read (SQLite's documentation, "Write-Ahead Logging", read-only databases).
    Then, and only when no ``-wal`` file exists either (so no connection has the store open in
    WAL mode: every such connection keeps both files), the file is opened ``immutable``: read
    without locks, as a file nobody writes.
    """
    uri = path.resolve().as_uri()
    db = _connect(f"{uri}?mode=ro", timeout, uri=True)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError as exc:
        db.close()
        wal = path.with_name(path.name + "-wal")
        if "readonly" not in str(exc) or wal.exists():
            raise
    return _connect(f"{uri}?mode=ro&immutable=1", timeout, uri=True)


def _locked(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def _hint(exc: sqlite3.Error, timeout: float) -> str:
    """What went wrong, and what to do (the caller adds where to choose another store)."""
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
        return "it is not a SQLite database. Move the file away, or choose another store"
    if _locked(exc):
        return (
            f"another process held its lock for more than {timeout:g} s. Wait for that process "
            "to finish and try again, or choose another store"
        )
    if "readonly" in text or "read-only" in text:
        return f"{text}; you may read it but not write it. Choose a store you may write"
    return f"{text}. Check that the file can be read and written, or choose another store"
