"""The run store: runs, their call records, sweep points and checkpoints in one SQLite file.

Design choice: one SQLite database in WAL mode with ``synchronous=NORMAL``. A commit appends to
the write-ahead log without an fsync, so a commit costs tens of microseconds, and the log is
replayed on the next open: a process killed at any moment (SIGKILL included) loses nothing it
committed and never corrupts the file. (A power cut or kernel crash may lose the last commits
before a checkpoint, still without corruption; that is the price of not fsyncing every commit.)

Records reach the store through a :class:`CallSink`, which group-commits: ``add`` only queues a
record, and the first record queued in an asyncio loop iteration schedules one flush with
``loop.call_soon``, so every record queued in that iteration shares one transaction. A session
awaits :meth:`CallSink.durable` before it hands a response to its caller, so a completed call is
on disk before anyone can act on it; only calls still in flight die with the process.

Tables: ``runs``, ``call_rows`` with ``kinds`` and ``strings`` (the call records in lean rows,
:mod:`hakaru.store.rows`; the view ``calls`` shows them one column per
:class:`~hakaru.types.CallRecord` field, see :mod:`hakaru.store.columns`), ``prices``, ``points``
(sweep points, for resumable sweeps) and ``checkpoints`` (for resumable step drivers); the
schema version is ``PRAGMA user_version`` (:mod:`hakaru.store.schema`). Run ids are 12 hex
characters sortable by creation time (10 of milliseconds since 2020-01-01 UTC, 2 random); any
unique prefix names a run.

Modules: :mod:`~hakaru.store.database` (:class:`RunStore`), :mod:`~hakaru.store.entries` (what
it holds, as values: :class:`RunInfo`, :class:`SweepPoint`, :class:`Checkpoint`; run ids and
owners), :mod:`~hakaru.store.sink` (:class:`CallSink`), :mod:`~hakaru.store.columns` (record ↔
row, JSONL and CSV export).

>>> from hakaru.types import CallRecord
>>> store = RunStore(":memory:")
>>> run_id = store.new_run("workload", "tree_sum", {"n": 8})
>>> store.add_calls(run_id, [CallRecord(1, (), "leaf", "tiny", output_tokens=3)])
1
>>> [r.output_tokens for r in store.calls(run_id)]
[3]
"""

from hakaru.store.database import SCHEMA_VERSION, RunStore, default_store_path
from hakaru.store.entries import Checkpoint, RunInfo, RunNotFound, SweepPoint
from hakaru.store.sink import CallSink

__all__ = [
    "SCHEMA_VERSION",
    "CallSink",
    "Checkpoint",
    "RunInfo",
    "RunNotFound",
    "RunStore",
    "SweepPoint",
    "default_store_path",
]
