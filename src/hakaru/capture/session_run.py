"""Captured calls into a live :class:`~hakaru.session.Session`: ``hakaru.capture(session=s)``.

:class:`SessionRun` is the recorder the span processor reports calls to when a program that
uses hakaru's own ``Session`` also calls an instrumented SDK (openai, anthropic, LangGraph, …).
Each captured call becomes a record *of the session*: the same run, ledger, budget and store,
its id from the session's counter, built by the session's one recording chokepoint
(:meth:`Session.record_external <hakaru.session.Session.record_external>`).

**Parents.** Here hakaru's own happens-before is known, and it wins over timing: the span
processor's ``on_start`` runs in the context of the code that made the SDK call, so the call's
parents are the session's frontier *there* (:mod:`hakaru.happens_before`); its span ends in the
same context, where the call then joins the frontier — a later ``session.call`` in that task
depends on it, and ``session.gather`` merges it like any call of its children. Span context and
timing are not consulted.

**Threads.** A ``Session`` belongs to one event loop. An SDK call made on another thread (a
thread pool, ``asyncio.to_thread``) is still recorded once, with the frontier of the context
the thread ran in; its place in the frontier stays in that thread's context (a copy), so later
calls on the loop do not see it — declare such dependencies with ``session.after`` or fork
with ``session.gather``. Records of such calls are serialised by a lock among themselves only.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any

from hakaru.capture.recording import Started
from hakaru.capture.spans import LlmCall
from hakaru.errors import BackendError
from hakaru.types import CallRecord, Request, Response, Usage

if TYPE_CHECKING:
    from hakaru.ledger import Ledger
    from hakaru.session import Session
    from hakaru.store import RunStore

__all__ = ["SessionRun"]

_NS = 1e-9


class SessionRun:
    """The calls captured into ``session`` (see the module docstring)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.pid = os.getpid()
        self.recorded = 0
        self._lock = threading.Lock()

    @property
    def run_id(self) -> str:
        return self.session.run_id

    @property
    def store(self) -> RunStore | None:
        return self.session.store

    @property
    def ledger(self) -> Ledger:
        return self.session.ledger

    @property
    def closed(self) -> bool:
        return self.session.closed

    def start(self, path: tuple[int, ...], role: str, start_ns: int) -> Started:
        """A call begins (in the caller's context): its parents are the session's frontier."""
        after = self.session.frontier()
        # The start on perf_counter's clock, the session's (start_ns is the span's, epoch ns).
        began = time.perf_counter() - max(time.time_ns() - start_ns, 0) * _NS
        return Started(0, after[0], path, role, start_ns, (after, began))

    def span_ended(self, span_id: int, end_ns: int) -> None:
        """Spans that are not calls do not matter here: the session's frontier decides."""

    def finish(
        self,
        started: Started,
        call: LlmCall,
        end_ns: int,
        *,
        error_kind: str = "",
        error: str = "",
    ) -> CallRecord:
        """The call ended: record it in the session (committed before this returns)."""
        after, began = started.after
        request = Request(model=call.model, messages=(), role=started.role)
        response: Response | None = None
        failure: BackendError | None = None
        if error_kind:
            failure = BackendError(error)
            failure.kind = error_kind
        else:
            usage = Usage(
                call.input_tokens,
                call.output_tokens,
                call.reasoning_tokens,
                call.cache_read_tokens,
                call.cache_write_tokens,
                source="estimated" if call.estimated else "reported",
            )
            response = Response(
                "",
                usage,
                model=call.model,
                finish_reason=call.finish_reason,
                latency=max(end_ns - started.start_ns, 0) * _NS,
            )
        with self._lock:
            record = self.session.record_external(
                request, response, after=after, began=began, error=failure
            )
            self.recorded += 1
        return record

    def totals(self) -> dict[str, Any]:
        """The session's totals so far."""
        return self.session.totals()

    def end_live(self) -> dict[str, int]:
        """The session streams its own spans (``Session(otlp_endpoint=...)``): nothing here."""
        return {}

    def close(self) -> None:
        """The session's run is the session's to finish: nothing here."""
