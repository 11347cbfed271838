"""OTLP/JSON lines decoded straight into spans with msgspec's typed decoder (the ``otel``
extra): no dict is made for what the importer never reads.

The shape of an ``ExportTraceServiceRequest`` — resource spans, scope spans, spans, attributes —
is declared as :class:`msgspec.Struct` types holding only the fields the importer reads;
msgspec checks the types as it parses, skips the other fields, and the attribute lists become
dicts from the structs. This is the fast path: a line that does not fit the shape exactly
(a field of another type, a missing id, a ``null``, an ``AnyValue`` with two fields, a span
the importer would skip, text that is not UTF-8) gives ``None``, and the caller
(:mod:`hakaru.otel.reader`) parses that line as dicts with orjson — so every odd line is read,
skipped and counted as it is without msgspec, and a line read here gives what the dict reading
gives. One difference is left: in a field the importer does not read, msgspec accepts a number
beyond a double's range (``1e400``), which orjson refuses (the line skipped as not JSON).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, Raw, Struct, UnsetType

from hakaru.otel.values import DECODE, ERROR_CODES, Attributes, Batch, Span, loads

__all__ = ["spans_of"]

_I64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]  # orjson makes larger integers floats


class _Value(Struct, gc=False):  # AnyValue: one field is set
    stringValue: str | UnsetType = UNSET
    intValue: _I64 | str | UnsetType = UNSET
    doubleValue: _I64 | float | UnsetType = UNSET
    boolValue: bool | UnsetType = UNSET
    arrayValue: Raw | UnsetType = UNSET  # rare: decoded as dicts (values.DECODE)
    kvlistValue: Raw | UnsetType = UNSET
    bytesValue: str | UnsetType = UNSET


class _KeyValue(Struct, gc=False):
    key: str
    value: _Value


class _Status(Struct, gc=False):
    code: int | str = 0
    message: str = ""


class _Link(Struct, gc=False):
    traceId: str | None = None
    spanId: str | None = None


class _Span(Struct, gc=False):
    traceId: str
    spanId: str
    startTimeUnixNano: _I64 | str
    endTimeUnixNano: _I64 | str
    attributes: list[_KeyValue] | None = None
    links: list[_Link] | None = None
    status: _Status | None = None


class _ScopeSpans(Struct, gc=False):
    spans: list[_Span] | None = None


class _Resource(Struct, gc=False):
    attributes: list[_KeyValue] | None = None


class _ResourceSpans(Struct, gc=False):
    resource: _Resource | None = None
    scopeSpans: list[_ScopeSpans] | None = None
    instrumentationLibrarySpans: list[_ScopeSpans] | None = None  # before OTLP 1.0


class _Request(Struct, gc=False):
    resourceSpans: list[_ResourceSpans] | None


_decode = msgspec.json.Decoder(_Request).decode


class _Unlike(ValueError):
    """The line is not read here: the dict reading reads it (and says what is wrong)."""


def spans_of(line: bytes) -> list[Batch] | None:
    """The batches of spans in one JSON line of OTLP, or ``None`` where the line does not fit
    the shape exactly (it is then read as dicts)."""
    try:
        if not line.isascii():
            line.decode()  # orjson refuses text that is not UTF-8; msgspec checks what it reads
        doc = _decode(line)
        out: list[Batch] = []
        for rs in doc.resourceSpans or ():
            r = rs.resource
            resource = _attributes(r.attributes) if r is not None and r.attributes else {}
            for ss in rs.scopeSpans or rs.instrumentationLibrarySpans or ():
                if ss.spans:
                    out.append((resource, _spans(ss.spans)))
        return out
    except (ValueError, TypeError, AttributeError, RecursionError):  # msgspec's errors too
        return None


def _spans(spans: list[_Span]) -> list[Span | None]:
    out: list[Span | None] = []
    add = out.append
    for sp in spans:  # once per span
        trace, span_id = sp.traceId, sp.spanId
        start, end = int(sp.startTimeUnixNano), int(sp.endTimeUnixNano)
        if not trace or not span_id or start < 0:
            raise _Unlike("a span the importer skips")
        items = sp.attributes
        links: list[str] | None = None
        if sp.links:
            links = [
                link.spanId
                for link in sp.links
                if link.traceId == trace and link.spanId is not None
            ] or None
        attrs = _attributes(items) if items else {}
        st = sp.status
        if st is None:
            add((trace, span_id, start, end, attrs, links, False, ""))
        else:
            add((trace, span_id, start, end, attrs, links, st.code in ERROR_CODES, st.message))
    return out


def _attributes(items: list[_KeyValue]) -> Attributes:
    """The attribute list as a dict: strings and integers read inline (as the dict reading's
    one comprehension reads them first)."""
    return {
        kv.key: (
            s
            if (s := (v := kv.value).stringValue) is not UNSET
            else int(i)
            if (i := v.intValue) is not UNSET
            else _other(v)
        )
        for kv in items
    }


def _other(v: _Value) -> Any:
    """A value that is neither a string nor an integer: its one field, else ``None``."""
    set_ = [
        (kind, x)
        for kind, x in (
            ("doubleValue", v.doubleValue),
            ("boolValue", v.boolValue),
            ("arrayValue", v.arrayValue),
            ("kvlistValue", v.kvlistValue),
            ("bytesValue", v.bytesValue),
        )
        if x is not UNSET
    ]
    if not set_:
        return None
    if len(set_) > 1:  # the dict reading takes the first in the text: order is lost here
        raise _Unlike("an AnyValue with more than one field")
    kind, x = set_[0]
    if isinstance(x, Raw):
        return DECODE[kind](loads(bytes(x)))
    return x
