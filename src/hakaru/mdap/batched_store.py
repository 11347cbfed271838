"""Batched commits for step drivers, whose event loop turns once or twice per step."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import Any

from hakaru.store import RunStore
from hakaru.types import RecordRow

__all__ = ["BatchedStore"]


class BatchedStore(RunStore):
    """A run store that commits call records in large transactions, for long step-driven runs.

    A :class:`~hakaru.store.CallSink` commits once per event-loop turn. A step driver's loop turns
    once or twice per step, so a million-step run would commit about a million small
    transactions — a fifth of its CPU time, and far more wall time under I/O contention. This
    store queues what the sink writes and commits it when ``max_records`` are queued, at most
    ``max_delay`` seconds after the first one (a loop timer), before every checkpoint and
    ``finish_run``, and on ``close``. A checkpoint therefore never gets ahead of the records it
    covers; a SIGKILL loses at most ``max_delay`` seconds of records (steps after the last
    checkpoint, which a resumed run redoes anyway). Use it only with ``durability="batch"``:
    with ``"call"`` a returned call would not yet be on disk.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_records: int = 4096,
        max_delay: float = 0.25,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(path, timeout=timeout)
        self.max_records = max_records
        self.max_delay = max_delay  # seconds
        self._pending: dict[str, list[RecordRow]] = {}  # records as rows, per run
        self._queued = 0
        self._timer: asyncio.TimerHandle | None = None
        self._direct = False

    def add_rows(self, run_id: str, batch: Sequence[RecordRow]) -> int:
        if self._direct:
            return super().add_rows(run_id, batch)
        self._pending.setdefault(run_id, []).extend(batch)
        self._queued += len(batch)
        if self._queued >= self.max_records:
            self.commit_pending()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.commit_pending()  # no loop to come back later: write now
            else:
                self._timer = loop.call_later(self.max_delay, self.commit_pending)
        return len(batch)

    def commit_pending(self) -> int:
        """Commit every queued record now (one transaction per run); returns how many."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending, self._queued = self._pending, {}, 0
        written = 0
        try:
            for run_id in list(pending):
                written += RunStore.add_rows(self, run_id, pending.pop(run_id))
        except BaseException:
            for run_id, recs in pending.items():  # keep what was not written for the next try
                self._pending.setdefault(run_id, [])[:0] = recs
                self._queued += len(recs)
            raise
        return written

    def put_checkpoint(self, run_id: str, step: int, state: Any) -> None:
        self.commit_pending()
        super().put_checkpoint(run_id, step, state)

    def finish_run(self, run_id: str, status: Any = "done", summary: Any = None) -> None:
        self.commit_pending()
        super().finish_run(run_id, status, summary)

    def calls(self, run_id: str) -> Any:
        self.commit_pending()
        return super().calls(run_id)

    def close(self) -> None:
        self._direct = True  # the sinks flushed by close() write straight through
        try:
            self.commit_pending()
        finally:
            super().close()
