"""Spans streamed while a session runs: ``Session(..., otlp_endpoint=URL)``.

Each record the session accounts becomes a span (:func:`hakaru.otel.spans.call_span`) handed
to the SDK's ``BatchSpanProcessor``, whose worker thread batches and sends them with the
OTLP/HTTP exporter — off the event loop that makes the calls. When the session closes, the run's
root span (its totals) follows and the processor is flushed for at most :data:`GRACE` seconds.

A dead or failing endpoint never slows or fails the run: the first failed batch is reported
once (a warning on the ``hakaru.otel`` logger), every span after it is dropped at once without
another attempt, and the number dropped is counted — :attr:`LiveExport.dropped`, stored in the
run's summary as ``otlp_spans_dropped`` beside ``otlp_spans_sent``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hakaru.otel.export import http_exporter, otlp_traces_url
from hakaru.store.entries import RunInfo
from hakaru.types import CallRecord, RecordRow

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["GRACE", "LiveExport"]

GRACE = 2.0  # seconds the end of a run waits for the last spans to be sent
_log = logging.getLogger("hakaru.otel")


class _Guarded:
    """A span exporter that stops trying after the first failure, counting what it sent."""

    def __init__(self, inner: SpanExporter, url: str) -> None:
        self.inner, self.url = inner, url
        self.sent = 0
        self.failed = False
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        from opentelemetry.sdk.trace.export import SpanExportResult

        if self.failed:
            return SpanExportResult.FAILURE
        try:
            result = self.inner.export(spans)
        except Exception as exc:  # the exporter's own bug must not reach the run
            _log.debug("OTLP exporter raised", exc_info=exc)
            result = SpanExportResult.FAILURE
        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self.sent += len(spans)
            elif not self.failed:
                self.failed = True
                _log.warning(
                    "hakaru: the OTLP endpoint %s did not accept spans; the run goes on and "
                    "its remaining spans are dropped (counted in the run's summary as "
                    "otlp_spans_dropped).",
                    self.url,
                )
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class LiveExport:
    """Stream a session's records as spans to an OTLP/HTTP endpoint (see the module doc)."""

    def __init__(
        self,
        endpoint: str,
        *,
        run_id: str,
        kind: str,
        name: str,
        params: Mapping[str, Any],
        t0: float,
        timeout: float = GRACE,
    ) -> None:
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from hakaru.otel.spans import problem_size, provider_of, resource_of, trace_id_of

        self.url = otlp_traces_url(endpoint)
        self.run = (run_id, kind, name, dict(params))
        self.t0 = t0  # epoch seconds at the session's time 0
        self.trace_id = trace_id_of(run_id)
        self.resource = resource_of()
        self.provider = provider_of(params)
        self.size = problem_size(params)
        self.exporter = _Guarded(http_exporter(endpoint, timeout), self.url)
        self.processor = BatchSpanProcessor(
            self.exporter,  # type: ignore[arg-type]
            max_queue_size=1 << 16,
            schedule_delay_millis=200,
            max_export_batch_size=512,
        )
        self.submitted = 0
        self.last_end = 0.0
        self.closed = False

    def add(self, row: RecordRow) -> None:
        """Queue the span of one record given as its row (what the session builds)."""
        self.add_record(CallRecord(*row))

    def add_record(self, rec: CallRecord) -> None:
        """Queue the span of one record (cheap; sent by the processor's thread)."""
        from hakaru.otel.spans import call_span

        self.last_end = max(self.last_end, rec.ended)
        span = call_span(
            rec,
            trace_id=self.trace_id,
            t0=self.t0,
            provider=self.provider,
            resource=self.resource,
            size=self.size,
        )
        self.submitted += 1
        self.processor.on_end(span)

    @property
    def dropped(self) -> int:
        """Spans not sent (so far; final after :meth:`close`)."""
        return self.submitted - self.exporter.sent

    def close(self, totals: Mapping[str, Any], *, failed: bool = False) -> dict[str, int]:
        """Send the root span with ``totals``, flush for at most :data:`GRACE` seconds and stop;
        returns ``otlp_spans_sent`` and ``otlp_spans_dropped``."""
        if not self.closed:
            self.closed = True
            from hakaru.otel.spans import root_span

            run_id, kind, name, params = self.run
            status = "failed" if failed else "done"
            ended = self.t0 + self.last_end
            info = RunInfo(run_id, kind, name, params, status, self.t0, ended, None, self.submitted)
            self.submitted += 1
            self.processor.on_end(
                root_span(
                    info,
                    totals,
                    trace_id=self.trace_id,
                    resource=self.resource,
                    end=time.time(),
                )
            )
            stopper = threading.Thread(target=self.processor.shutdown, daemon=True)
            stopper.start()
            stopper.join(GRACE)
        return {"otlp_spans_sent": self.exporter.sent, "otlp_spans_dropped": self.dropped}
