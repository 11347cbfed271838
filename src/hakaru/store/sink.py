"""Group commit of call records: one transaction per asyncio loop iteration.

A session finishes many attempts concurrently. Committing each one alone would cost one
transaction per call; committing on a timer would leave completed calls unwritten for a while.
Instead the first record queued in a loop iteration schedules a flush with ``loop.call_soon``:
asyncio runs that callback after every task already ready in the iteration, so all the records
they queue share one commit, and a caller that awaits :meth:`CallSink.durable` resumes in the
very next iteration with its record on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from hakaru.errors import StoreError
from hakaru.types import CallRecord, RecordRow, record_of

if TYPE_CHECKING:
    from hakaru.store.database import RunStore

__all__ = ["CallSink"]


class CallSink:
    """Queues call records of one run and writes them in group commits.

    ``add`` queues; the first record queued in an asyncio loop iteration schedules a flush with
    ``loop.call_soon``, so everything queued in that iteration is written in one transaction.
    ``await durable()`` returns once every record queued before it was committed. A failed write
    keeps the records queued and raises :class:`StoreError` from ``durable``/``flush``; the next
    flush tries again. Outside a running loop nothing is scheduled: call :meth:`flush`.
    Make sinks with :meth:`RunStore.sink <hakaru.store.database.RunStore.sink>`: the store
    registers them, and closing it flushes the open ones.

    >>> from hakaru.store import RunStore
    >>> store = RunStore(":memory:")
    >>> sink = store.sink(store.new_run("workload", "demo"))
    >>> async def record() -> None:
    ...     for i in range(100):
    ...         sink.add(CallRecord(i, (), "worker", "tiny"))
    ...     await sink.durable()
    >>> asyncio.run(record())
    >>> (sink.written, sink.batches)
    (100, 1)
    """

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.written = 0  # records committed
        self.batches = 0  # transactions committed
        self._queue: list[RecordRow] = []  # records as rows (hakaru.types.record_row)
        self._added = 0  # records ever queued; durable() waits until `written` reaches it
        self._waiters: list[asyncio.Future[None]] = []
        self._scheduled_on: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (the sink takes no more records)."""
        return self._closed

    @property
    def pending(self) -> int:
        """Records queued and not yet committed."""
        return len(self._queue)

    def add(self, record: CallRecord) -> None:
        """Queue one record; it is committed when the current loop iteration ends."""
        if self._closed:
            raise StoreError(f"The call sink of run {self.run_id} is closed. Open a new sink.")
        if not isinstance(record, CallRecord):
            raise TypeError(f"CallSink.add takes a CallRecord, not {type(record).__name__}")
        self.add_row(record_of(record))

    def add_row(self, row: RecordRow) -> None:
        """:meth:`add` for a record given as its row (what the session builds: no
        :class:`CallRecord` object is needed)."""
        if self._closed:
            raise StoreError(f"The call sink of run {self.run_id} is closed. Open a new sink.")
        self._queue.append(row)
        self._added += 1
        on = self._scheduled_on  # a flush is pending on a loop that can still run it
        if on is None or on.is_closed():
            self._schedule()

    def _schedule(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        # Compared by identity: a flush scheduled on a loop that has since closed never runs.
        if self._scheduled_on is not loop:
            self._scheduled_on = loop
            loop.call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        self._scheduled_on = None
        with contextlib.suppress(Exception):  # delivered to the waiters; the records stay queued
            self.flush()

    def flush(self) -> int:
        """Write every queued record now, in one transaction; returns how many."""
        batch = self._queue
        if batch:
            try:
                self.store.add_rows(self.run_id, batch)
            except Exception as exc:
                self._wake(exc)
                raise
            self._queue = []
            self.written += len(batch)
            self.batches += 1
        self._wake(None)
        return len(batch)

    def _wake(self, exc: Exception | None) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if fut.done():  # its task was cancelled
                continue
            if exc is None:
                fut.set_result(None)
            else:
                err = StoreError(str(exc))  # one instance per waiter: tracebacks stay apart
                err.__cause__ = exc
                fut.set_exception(err)

    async def durable(self) -> None:
        """Return once every record queued so far is committed; raise StoreError if it failed."""
        target = self._added
        while self.written < target:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            self._schedule()
            await fut

    def close(self) -> None:
        """Flush, then refuse further records (the store stays open)."""
        self.flush()
        self._closed = True
