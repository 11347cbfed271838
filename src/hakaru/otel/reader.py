"""OTLP/JSON files read as a stream of spans, in bounded memory.

Two layouts are read. *JSON lines* — one ``ExportTraceServiceRequest`` object per line — is what
the OpenTelemetry collector's file exporter, the SDK's ``FileSpanExporter`` and
``hakaru runs export --format otlp-json`` write; each line is parsed with orjson (the ``otel``
extra; :mod:`json` where it is not installed — the same values for OTLP, which has no NaN
literals nor integers beyond 64 bits), a line being one batch, so memory is bounded by the
largest batch. *One object* — a single
``{"resourceSpans": [...]}`` document, possibly pretty-printed and as large as the file — is
parsed incrementally with ijson (its C backend, yajl2), span by span, so a 1 GB file is never
held in memory. A file is read as JSON lines when its first line (at most
:data:`MAX_LINE` bytes) is a complete OTLP object.

Problems are not silent: a line that is not JSON (a truncated last line, say) or not OTLP is
skipped and counted in :class:`ReadProblems`; a file whose first object is not OTLP at all is
a :class:`~hakaru.errors.ConfigError` that says what the file looks like instead.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from hakaru.errors import ConfigError

_loads: Callable[[bytes], Any]  # the parser of a line (tests run both)
try:
    from orjson import loads as _loads
except ImportError:  # the otel extra brings orjson
    _loads = json.loads

__all__ = ["MAX_LINE", "ReadProblems", "attributes", "read_spans", "value_of"]

MAX_LINE = 256 << 20  # bytes: a JSON line longer than this is read as one streamed object
_BUFFER = 1 << 20  # bytes read at a time (a line of 512 spans is some 370 kB)
Attributes = dict[str, Any]


@dataclass
class ReadProblems:
    """What could not be read, counted by reason, with the first few places it happened."""

    skipped: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def skip(self, reason: str, where: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples) < 10:
            self.examples.append(f"{where}: {reason}")


def _same(v: Any) -> Any:
    return v


def _array(v: Any) -> list[Any]:
    return [value_of(x) for x in v.get("values", ())]


def _kvlist(v: Any) -> Attributes:
    return attributes(v.get("values", ()))


# The Python value of each field of an OTLP ``AnyValue``, by the field's name.
_DECODE: dict[str, Callable[[Any], Any]] = {
    "stringValue": _same,
    "boolValue": _same,
    "doubleValue": _same,
    "intValue": int,
    "arrayValue": _array,
    "kvlistValue": _kvlist,
    "bytesValue": _same,
}


def value_of(value: dict[str, Any]) -> Any:
    """The Python value of an OTLP ``AnyValue`` (``{"intValue": "3"}`` → 3)."""
    for kind, v in value.items():
        decode = _DECODE.get(kind)
        if decode is not None:
            return decode(v)
    return None


def attributes(items: Any) -> Attributes:
    """An OTLP attribute list (``[{"key": …, "value": {…}}]``) as a dict."""
    if not isinstance(items, list):
        return {}
    try:  # every item well formed: one comprehension, strings and ints read inline (per span)
        return {
            item["key"]: (
                s
                if (s := (v := item["value"]).get("stringValue")) is not None
                else int(i)
                if (i := v.get("intValue")) is not None
                else value_of(v)
            )
            for item in items
        }
    except (KeyError, TypeError, AttributeError, ValueError):
        return _attributes_one_by_one(items)


def _attributes_one_by_one(items: list[Any]) -> Attributes:
    """:func:`attributes` of a list with malformed items: those are ``None`` or left out."""
    out: Attributes = {}
    for item in items:
        try:
            value = item["value"]
            kind, v = next(iter(value.items()))  # the one field of an AnyValue
            if kind == "intValue":
                v = int(v)
            elif kind != "stringValue" and kind != "doubleValue" and kind != "boolValue":
                v = value_of(value)
            out[item["key"]] = v
        except (KeyError, TypeError, AttributeError, StopIteration, ValueError):
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                out[item["key"]] = None  # an attribute without a value we can read
    return out


def _not_otlp(path: Path, what: str) -> ConfigError:
    return ConfigError(
        f"{path} is not OTLP/JSON: {what}. hakaru import reads OpenTelemetry traces as OTLP/JSON "
        "(objects with 'resourceSpans', one per line as the collector's file exporter writes, or "
        "one document); export them from your tracing tool in that format."
    )


Spans = list[Any]  # OTLP span objects


def read_spans(path: Path, problems: ReadProblems) -> Iterator[tuple[Attributes, Spans]]:
    """(resource attributes, its OTLP span objects) for every batch of spans in the file at
    ``path``: the spans of one ``scopeSpans`` item (one at a time in a streamed document)."""
    try:
        fh = path.open("rb", buffering=_BUFFER)
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}. Check the path.") from None
    with fh:
        first = fh.readline(MAX_LINE)
        try:
            doc = _loads(first) if first.strip() else None
        except ValueError:
            doc = None
        if isinstance(doc, dict) and "resourceSpans" in doc and first.endswith(b"\n"):
            yield from _lines(path, fh, doc, problems)
            return
        if first.strip() and isinstance(doc, dict | list | str | int | float):
            raise _not_otlp(path, f"its first line is JSON without 'resourceSpans' ({_shape(doc)})")
        fh.seek(0)
        yield from _streamed(path, fh, problems)


def _shape(doc: Any) -> str:
    if isinstance(doc, dict):
        keys = ", ".join(list(doc)[:5])
        return f"an object with keys {keys}" if keys else "an empty object"
    return f"a JSON {type(doc).__name__}"


def _batch(doc: dict[str, Any]) -> Iterator[tuple[Attributes, Spans]]:
    for rs in doc.get("resourceSpans") or ():
        resource = attributes((rs.get("resource") or {}).get("attributes"))
        for ss in rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or ():
            spans = ss.get("spans")
            if spans:
                yield resource, spans if isinstance(spans, list) else list(spans)


def _lines(
    path: Path, fh: IO[bytes], doc: dict[str, Any], problems: ReadProblems
) -> Iterator[tuple[Attributes, Spans]]:
    yield from _batch(doc)
    number = 1
    while True:
        line = fh.readline(MAX_LINE)
        if not line:
            return
        number += 1
        if not line.strip():
            continue
        if len(line) >= MAX_LINE and not line.endswith(b"\n"):
            problems.skip("line longer than the limit", f"{path}:{number}")
            while line and not line.endswith(b"\n"):  # skip the rest of it
                line = fh.readline(MAX_LINE)
            continue
        try:
            doc = _loads(line)
        except ValueError:
            reason = "truncated line" if not line.endswith(b"\n") else "line that is not JSON"
            problems.skip(reason, f"{path}:{number}")
            continue
        if not isinstance(doc, dict) or "resourceSpans" not in doc:
            problems.skip("line that is not OTLP (no resourceSpans)", f"{path}:{number}")
            continue
        yield from _batch(doc)


_RESOURCE = "resourceSpans.item.resource"
_SPAN = "resourceSpans.item.scopeSpans.item.spans.item"
_SPAN_OLD = "resourceSpans.item.instrumentationLibrarySpans.item.spans.item"


def _streamed(
    path: Path, fh: IO[bytes], problems: ReadProblems
) -> Iterator[tuple[Attributes, Spans]]:
    """One OTLP document, span by span (ijson): the resource of each ``resourceSpans`` item is
    built before its spans (exporters write it first)."""
    try:
        import ijson
    except ImportError:
        raise ConfigError(
            f"{path} is one JSON document; reading it as a stream needs ijson. Install it with "
            "pip install 'hakaru[otel]', or give the traces as JSON lines."
        ) from None
    resource: Attributes = {}
    builder: Any = None
    building = ""
    seen_root = has_spans = False
    try:
        for prefix, event, value in ijson.parse(fh, use_float=True):
            if builder is not None:
                if prefix == building and event in ("end_map", "end_array"):
                    builder.event(event, value)
                    obj = builder.value
                    builder = None
                    if building == _RESOURCE:
                        resource = attributes(obj.get("attributes"))
                    else:
                        yield resource, [obj]
                    continue
                builder.event(event, value)
                continue
            if prefix == "" and event == "start_map":
                seen_root = True
            elif prefix == "" and event not in ("map_key", "end_map"):
                raise _not_otlp(path, "it is not a JSON object")
            elif prefix == "resourceSpans.item" and event == "start_map":
                resource = {}
            elif event == "start_map" and prefix in (_RESOURCE, _SPAN, _SPAN_OLD):
                builder = ijson.ObjectBuilder()
                builder.event(event, value)
                building = prefix
            elif prefix == "" and event == "map_key" and value == "resourceSpans":
                has_spans = True
    except ijson.JSONError as exc:
        if not seen_root:
            raise _not_otlp(path, f"it is not JSON ({exc})") from None
        problems.skip("truncated or malformed document (the spans after the break)", str(path))
        return
    if not has_spans:
        raise _not_otlp(path, "it is a JSON object without 'resourceSpans'")
