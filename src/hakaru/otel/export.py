"""Export a stored run as OpenTelemetry spans: an OTLP/JSON file, or OTLP over HTTP.

Both go through the OpenTelemetry SDK's own exporters — ``FileSpanExporter`` of
``opentelemetry-exporter-otlp-json-file`` (OTLP/JSON lines, one ``ExportTraceServiceRequest``
per line, as the collector's file exporter writes) and ``OTLPSpanExporter`` of
``opentelemetry-exporter-otlp-proto-http`` — in batches of :data:`BATCH` spans, so a
million-call run streams from the store without being held in memory. The root span carries the
run's totals, computed in a first pass over the records (:func:`hakaru.ledger.totals_of`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from hakaru.errors import ConfigError
from hakaru.ledger import totals_of

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter

    from hakaru.store import RunStore

__all__ = [
    "BATCH",
    "Exported",
    "export_run",
    "http_exporter",
    "otlp_traces_url",
    "require_otel",
    "run_spans",
]

BATCH = 512  # spans per export request (the SDK's BatchSpanProcessor default)


def require_otel() -> None:
    """Raise a :class:`ConfigError` that says how to install the ``otel`` extra when the
    OpenTelemetry packages are missing."""
    try:
        import opentelemetry.exporter.otlp.json.file
        import opentelemetry.exporter.otlp.proto.http
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"OpenTelemetry is not installed ({exc.name} is missing). Install it with "
            "pip install 'hakaru[otel]'."
        ) from None


def otlp_traces_url(endpoint: str) -> str:
    """The traces URL of an OTLP/HTTP endpoint: ``http://host:4318`` (the base, as in
    ``OTEL_EXPORTER_OTLP_ENDPOINT``) becomes ``http://host:4318/v1/traces``; a URL that already
    ends in ``/v1/traces`` is kept."""
    url = endpoint.strip()
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"OTLP endpoint '{endpoint}' is not an http(s) URL. Give one like "
            "http://localhost:4318 (hakaru sends OTLP over HTTP to <URL>/v1/traces)."
        )
    return url if url.rstrip("/").endswith("/v1/traces") else url.rstrip("/") + "/v1/traces"


def http_exporter(endpoint: str, timeout: float = 10.0) -> SpanExporter:
    """The SDK's OTLP/HTTP (protobuf) span exporter for ``endpoint`` (:func:`otlp_traces_url`)."""
    require_otel()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=otlp_traces_url(endpoint), timeout=timeout)


@dataclass(frozen=True)
class Exported:
    """What an export wrote: the run, its trace id (32 hex digits) and the spans sent."""

    run_id: str
    trace_id: str
    spans: int


def run_spans(store: RunStore, run_id: str) -> Iterator[ReadableSpan]:
    """The spans of run ``run_id`` (an exact id): the root first, then one per record."""
    from hakaru.otel.spans import (
        call_span,
        problem_size,
        provider_of,
        resource_of,
        root_span,
        trace_id_of,
    )

    info = store.run(run_id)
    totals = totals_of(store.calls(run_id), store.prices(run_id))
    trace_id = trace_id_of(run_id)
    resource = resource_of()
    last = info.created
    provider, size = provider_of(info.params), problem_size(info.params)
    spans = []
    for rec in store.calls(run_id):
        last = max(last, info.created + rec.ended)
        span = call_span(
            rec,
            trace_id=trace_id,
            t0=info.created,
            provider=provider,
            resource=resource,
            size=size,
        )
        spans.append(span)
        if len(spans) >= BATCH:
            yield from spans
            spans = []
    yield root_span(info, totals, trace_id=trace_id, resource=resource, end=last)
    yield from spans


def export_run(
    store: RunStore,
    ref: str,
    *,
    out: TextIO | None = None,
    endpoint: str | None = None,
    timeout: float = 10.0,
) -> Exported:
    """Export run ``ref`` (id or unique prefix) to ``out`` as OTLP/JSON lines, or to the OTLP/HTTP
    ``endpoint`` (exactly one of the two).

    >>> import io
    >>> from hakaru.store import RunStore
    >>> from hakaru.types import CallRecord
    >>> store = RunStore(":memory:")
    >>> rid = store.new_run("session", "demo")
    >>> _ = store.add_calls(rid, [CallRecord(1, (), "worker", "m", output_tokens=3)])
    >>> buf = io.StringIO()
    >>> export_run(store, rid, out=buf).spans
    2
    """
    if (out is None) == (endpoint is None):
        raise ConfigError("Give either a file or an OTLP endpoint to export to, not both.")
    require_otel()
    from opentelemetry.sdk.trace.export import SpanExportResult

    from hakaru.otel.spans import trace_id_of

    run_id = store.run(ref).id
    exporter: SpanExporter
    if out is not None:
        from opentelemetry.exporter.otlp.json.file import FileSpanExporter

        exporter = FileSpanExporter(stream=out)
        where = "the file"
    else:
        assert endpoint is not None
        exporter = http_exporter(endpoint, timeout)
        where = otlp_traces_url(endpoint)
    n = 0
    batch: list[ReadableSpan] = []
    try:
        for span in run_spans(store, run_id):
            batch.append(span)
            if len(batch) >= BATCH:
                _send(exporter, batch, where, SpanExportResult.SUCCESS)
                n += len(batch)
                batch = []
        if batch:
            _send(exporter, batch, where, SpanExportResult.SUCCESS)
            n += len(batch)
    finally:
        exporter.shutdown()
    return Exported(run_id, f"{trace_id_of(run_id):032x}", n)


def _send(exporter: SpanExporter, batch: list[ReadableSpan], where: str, ok: object) -> None:
    if exporter.export(batch) is not ok:
        raise ConfigError(
            f"{where} did not accept the spans (the exporter reported failure; its log above "
            "says why). Check that an OTLP/HTTP receiver listens there, then export again."
        )
