"""The span processor: finished LLM spans become call records of the active capture.

:class:`CaptureProcessor` is an OpenTelemetry SDK ``SpanProcessor``. It follows every span
(its path of enclosing spans, from the span context), and reports each *LLM call* to the
:class:`~hakaru.capture.recording.Recorder` that is active (a run of its own, or a live
``Session``'s: :mod:`hakaru.capture.session_run`): started when its span starts
(so its parents are the calls that finished before — :mod:`hakaru.capture.recording`), recorded
when it ends, with what :func:`~hakaru.capture.spans.read_call` reads from it.

**One call, one record.** Frameworks report a model call at several levels: LangChain's
``ChatOpenAI`` span holds the openai SDK's span of the same request, pydantic-ai's ``chat`` span
holds it too. An LLM span started inside an LLM span that has not yet handed its call on is the
*same* call: it takes the outer span's id and parents, and its own attributes (the SDK's,
closest to the wire, with the provider's usage) make the record; the outer span is then
ignored. An outer span with no LLM span inside (the SDK not instrumented) is recorded itself.

**Enclosing spans.** A span's parent is the one in OpenTelemetry's context. LangChain's
instrumentor keeps its spans (a LangGraph node, a chain) out of that context — it reports
them from callbacks — so the SDK's span of a call made inside a node would have no parent;
for a span without one, the processor asks the :attr:`~CaptureProcessor.resolvers` (for
LangChain, OpenInference's public ``get_current_span()``) which span encloses the running code.

**Roles** are the name of the nearest enclosing span that is not an LLM call (a LangGraph
node, an agent), ``default`` outside any. A failure in hakaru's own bookkeeping never reaches
the program: it is kept in :attr:`CaptureProcessor.problems` and reported when the capture ends.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode

from hakaru.capture.recording import Recorder, Started
from hakaru.capture.spans import is_llm_span, read_call

__all__ = ["CaptureProcessor"]

#: Exception type names (any module) → the error kinds of :mod:`hakaru.errors`.
_ERROR_KINDS = {
    "RateLimitError": "rate_limited",
    "InternalServerError": "server_error",
    "APITimeoutError": "timeout",
    "APIConnectionError": "connection",
    "TimeoutError": "timeout",
}


class _Live:
    __slots__ = ("call", "handed", "llm", "name", "path", "run")

    def __init__(self, path: tuple[int, ...], name: str, llm: bool) -> None:
        self.path = path
        self.name = name
        self.llm = llm
        self.call: Started | None = None
        self.run: Recorder | None = None
        self.handed = False  # an inner LLM span took this call over


def _error(span: ReadableSpan) -> tuple[str, str]:
    """The error kind and message of a failed span (``("", "")`` when it did not fail)."""
    if span.status.status_code is not StatusCode.ERROR:
        return "", ""
    kind, message = "rejected", span.status.description or ""
    for event in span.events:
        if event.name != "exception":
            continue
        attrs = event.attributes or {}
        name = str(attrs.get("exception.type", "")).rpartition(".")[2]
        kind = _ERROR_KINDS.get(name, kind)
        message = str(attrs.get("exception.message", message))
    return kind, message or "the call failed"


class CaptureProcessor(SpanProcessor):
    """Turns LLM spans into records of the innermost active :class:`Recorder`."""

    def __init__(self) -> None:
        self._runs: list[Recorder] = []
        self._live: dict[int, _Live] = {}
        self._lock = threading.Lock()
        self.problems: list[str] = []
        #: Functions that return the span enclosing the running code (or ``None``), asked for
        #: a span that has no parent in OpenTelemetry's context.
        self.resolvers: list[Callable[[], Any]] = []

    def push(self, run: Recorder) -> None:
        """Record LLM calls into ``run`` from now on (until :meth:`pop`)."""
        with self._lock:
            self._runs.append(run)

    def pop(self, run: Recorder) -> None:
        with self._lock:
            if run in self._runs:
                self._runs.remove(run)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            self._start(span)
        except Exception as exc:  # never break the program being captured
            self.problems.append(f"span start: {exc!r}")

    def _start(self, span: Span) -> None:
        attributes = span.attributes or {}
        parent = span.parent
        parent_id = parent.span_id if parent is not None else None
        if parent_id is None:
            parent_id = self._logical_parent()
        with self._lock:
            run = self._runs[-1] if self._runs else None
            above = self._live.get(parent_id) if parent_id is not None else None
            path: tuple[int, ...] = ()
            if parent_id is not None:
                path = (*above.path, parent_id) if above is not None else (parent_id,)
            entry = _Live(path, span.name, is_llm_span(attributes))
            self._live[span.context.span_id] = entry
            if not entry.llm or run is None:
                return
            outer, role = self._enclosing(path)
        if outer is not None and outer.call is not None and outer.run is run:
            entry.call, entry.run = outer.call, run  # the same call, seen closer to the wire
            outer.handed = True
            return
        entry.call = run.start(path, role, span.start_time or 0)
        entry.run = run

    def _logical_parent(self) -> int | None:
        """The span a framework says encloses the code running now, where it keeps its spans
        out of OpenTelemetry's context (LangChain's runs: :attr:`resolvers`)."""
        for resolve in self.resolvers:
            try:
                enclosing = resolve()
            except Exception:
                continue
            if enclosing is not None:
                span_id: int = enclosing.get_span_context().span_id
                return span_id
        return None

    def _enclosing(self, path: tuple[int, ...]) -> tuple[_Live | None, str]:
        """The innermost enclosing LLM span still holding its call, and the role."""
        outer: _Live | None = None
        role = ""
        for span_id in reversed(path):
            entry = self._live.get(span_id)
            if entry is None:
                continue
            if entry.llm:
                if outer is None and not entry.handed:
                    outer = entry
            elif not role:
                role = entry.name
        return outer, role or "default"

    def on_end(self, span: ReadableSpan) -> None:
        try:
            self._end(span)
        except Exception as exc:
            self.problems.append(f"span end: {exc!r}")

    def _end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None:
            return
        with self._lock:
            entry = self._live.pop(context.span_id, None)
            run = self._runs[-1] if self._runs else None
        end = span.end_time or 0
        if entry is None or (entry.handed and entry.call is not None):
            return
        attributes = span.attributes or {}
        if entry.call is None:
            if run is None:
                return
            if not is_llm_span(attributes):
                run.span_ended(context.span_id, end)
                return
            # Said to be an LLM call only when it ended: started now, by what it says.
            with self._lock:
                _, role = self._enclosing(entry.path)
            entry.call, entry.run = run.start(entry.path, role, span.start_time or end), run
        assert entry.run is not None
        if entry.run.closed:  # the capture ended while the call was in flight
            return
        if entry.run.pid != os.getpid():  # a forked child: the store's connection is not its
            self.problems.append(f"a call in forked process {os.getpid()} was not recorded")
            return
        kind, message = _error(span)
        entry.run.finish(entry.call, read_call(attributes), end, error_kind=kind, error=message)

    def shutdown(self) -> None:
        with self._lock:
            self._live.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def live_spans(self) -> int:
        """Spans started and not yet ended (a test's check that nothing leaks)."""
        return len(self._live)

    def __repr__(self) -> str:
        return f"CaptureProcessor(runs={len(self._runs)}, live={len(self._live)})"
