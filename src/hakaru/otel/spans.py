"""A run as OpenTelemetry spans: one trace per run, a root span with its totals, a span per call.

Spans are built as the SDK's own :class:`~opentelemetry.sdk.trace.ReadableSpan` objects (what
any ``SpanExporter`` takes), with the times the records hold, so that the SDK's exporters —
the OTLP/HTTP exporter, the OTLP JSON file exporter, a ``BatchSpanProcessor`` — encode and send
them. Ids are derived, not drawn: the trace id is a digest of the run id (the same run exports
to the same trace), a call's span id is its call id, the root's is :data:`ROOT_SPAN_ID`. A
call's span is a child of the root; its happens-before parents are span *links* (a call may
have several, and they are causal, not containment). Every attempt is a span — failed,
retried, cached and red-flagged ones too — with ``hakaru.call.status`` saying which.

Imported only where spans are made (``opentelemetry-sdk`` is the ``otel`` extra).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from hakaru.costs import COST_MODELS
from hakaru.otel.attributes import CALL, GEN_AI, RUN, SCHEMA_URL
from hakaru.store.entries import RunInfo
from hakaru.types import CallRecord

__all__ = [
    "ROOT_SPAN_ID",
    "call_span",
    "problem_size",
    "provider_of",
    "resource_of",
    "root_span",
    "trace_id_of",
]

ROOT_SPAN_ID = (1 << 64) - 1  # the root span's id; a call's span id is its call id
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_SCOPE = InstrumentationScope("hakaru", "0.1.0", schema_url=SCHEMA_URL)
_FORWARD_PASSES = COST_MODELS["forward_passes"]
_AALP = COST_MODELS["aalp"]
_NS = 1_000_000_000  # nanoseconds per second


def trace_id_of(run_id: str) -> int:
    """The 128-bit trace id of a run: the first 16 bytes of the SHA-256 of its id."""
    return int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:16], "big") or 1


def problem_size(params: Mapping[str, Any]) -> float | None:
    """The size of the problem a run solved: its ``n`` (workload runs keep it in
    ``params["params"]``), ``size`` or MAKER's ``disks``; ``None`` when it has none."""
    for where in (params.get("params"), params):
        if isinstance(where, Mapping):
            for key in ("n", "size", "disks"):
                value = where.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    return float(value)
    return None


def provider_of(params: Mapping[str, Any]) -> str:
    """``gen_ai.provider.name`` of a run's calls: its backend (``sim``, ``openai``, …)."""
    backend = params.get("backend")
    return backend if isinstance(backend, str) and backend else "hakaru"


def resource_of(service: str = "hakaru") -> Resource:
    """The resource of exported spans (``service.name``)."""
    return Resource.create({"service.name": service})


def _context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(trace_id, span_id, is_remote=False, trace_flags=_SAMPLED)


def call_span(
    rec: CallRecord,
    *,
    trace_id: int,
    t0: float,
    provider: str,
    resource: Resource,
    size: float | None = None,
) -> ReadableSpan:
    """The span of one attempt. ``t0`` is the epoch second the run began (records keep seconds
    since then); ``size`` the run's problem size."""
    attrs: dict[str, Any] = {
        GEN_AI.OPERATION: "chat",
        GEN_AI.PROVIDER: provider,
        GEN_AI.REQUEST_MODEL: rec.model,
        GEN_AI.RESPONSE_MODEL: rec.model,
        GEN_AI.INPUT_TOKENS: rec.input_tokens,
        GEN_AI.OUTPUT_TOKENS: rec.output_tokens,
        GEN_AI.CACHE_READ: rec.cache_read_tokens,
        GEN_AI.CACHE_CREATION: rec.cache_write_tokens,
        GEN_AI.REASONING: rec.reasoning_tokens,
        GEN_AI.AGENT_NAME: rec.role,
        CALL.ID: rec.id,
        CALL.ATTEMPT: rec.attempt,
        CALL.STATUS: rec.status,
        CALL.FORWARD_PASSES: _FORWARD_PASSES(rec),
        CALL.AALP_COST: _AALP(rec),
        CALL.DOLLARS_KNOWN: rec.dollars is not None,
        CALL.USAGE_SOURCE: rec.usage_source,
        CALL.MODEL_SIZE: rec.size,
        CALL.LATENCY: rec.latency,
        CALL.SIM_START: rec.sim_start,
        CALL.SIM_END: rec.sim_end,
    }
    if rec.dollars is not None:
        attrs[CALL.DOLLARS] = rec.dollars
    if rec.finish_reason:
        attrs[GEN_AI.FINISH_REASONS] = (rec.finish_reason,)
    optional = (
        (CALL.STEP, rec.step),
        (CALL.VOTE, rec.vote),
        (CALL.REASONING_BUDGET, rec.reasoning_budget),
        (CALL.CANDIDATE, rec.candidate or None),
        (RUN.SIZE, size),
    )
    for key, value in optional:
        if value is not None:
            attrs[key] = value
    status = Status(StatusCode.UNSET)
    if rec.status == "error":
        attrs[GEN_AI.ERROR_TYPE] = rec.error_kind or "error"
        attrs[CALL.ERROR] = rec.error
        status = Status(StatusCode.ERROR, rec.error or rec.error_kind)
    elif rec.status == "flagged":
        attrs[CALL.ERROR] = rec.error
    links = [Link(_context(trace_id, p), {CALL.PARENT_LINK: "happens_before"}) for p in rec.parents]
    start = round((t0 + rec.started) * _NS)
    return ReadableSpan(
        name=f"chat {rec.model}",
        context=_context(trace_id, rec.id),
        parent=_context(trace_id, ROOT_SPAN_ID),
        resource=resource,
        attributes=attrs,
        links=links,
        kind=SpanKind.CLIENT,
        instrumentation_scope=_SCOPE,
        status=status,
        start_time=start,
        end_time=max(start, round((t0 + rec.ended) * _NS)),
    )


def root_span(
    info: RunInfo,
    totals: Mapping[str, Any],
    *,
    trace_id: int,
    resource: Resource,
    end: float,
) -> ReadableSpan:
    """The run's root span: ``invoke_workflow`` with the run's totals (``end``: epoch second
    the run ended, used when the run has not recorded one)."""
    size = problem_size(info.params)
    attrs: dict[str, Any] = {
        GEN_AI.OPERATION: "invoke_workflow",
        RUN.ID: info.id,
        RUN.KIND: info.kind,
        RUN.NAME: info.name,
        RUN.STATUS: info.status,
        RUN.CALLS: int(totals.get("calls", 0)),
        RUN.WORK: float(totals.get("forward_passes", 0.0)),
        RUN.SPAN: float(totals.get("span_forward_passes", 0.0)),
        RUN.DEPTH: int(totals.get("depth", 0)),
        RUN.PARALLELISM: float(totals.get("parallelism", 0.0)),
        RUN.AALP_COST: float(totals.get("aalp_cost", 0.0)),
        RUN.DOLLARS: float(totals.get("dollars", 0.0)),
        RUN.DOLLARS_COMPLETE: bool(totals.get("dollars_complete", True)),
        RUN.INPUT_TOKENS: int(totals.get("input_tokens", 0)),
        RUN.OUTPUT_TOKENS: int(totals.get("output_tokens", 0)),
    }
    if size is not None:
        attrs[RUN.SIZE] = size
    start = round(info.created * _NS)
    return ReadableSpan(
        name=f"invoke_workflow {info.name or info.kind}",
        context=_context(trace_id, ROOT_SPAN_ID),
        parent=None,
        resource=resource,
        attributes=attrs,
        kind=SpanKind.INTERNAL,
        instrumentation_scope=_SCOPE,
        status=Status(StatusCode.ERROR if info.status == "failed" else StatusCode.UNSET),
        start_time=start,
        end_time=max(start, round((info.ended or end) * _NS)),
    )
