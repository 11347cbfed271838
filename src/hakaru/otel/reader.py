"""OTLP/JSON files read as a stream of spans, in bounded memory.

Two layouts are read. *JSON lines* — one ``ExportTraceServiceRequest`` object per line — is what
the OpenTelemetry collector's file exporter, the SDK's ``FileSpanExporter`` and
``hakaru runs export --format otlp-json`` write; a line being one batch, memory is bounded by
the largest batch. Each line is decoded straight into spans by msgspec's typed decoder
(:mod:`hakaru.otel.otlp_structs`, the ``otel`` extra); a line that does not fit OTLP's shape
exactly, or every line where msgspec is not installed, is parsed as dicts with orjson
(:mod:`json` where that is not installed either — the same values for OTLP, which has no NaN
literals nor integers beyond 64 bits) and read here, with the same result. *One object* — a
single ``{"resourceSpans": [...]}`` document, possibly pretty-printed and as large as the file —
is parsed incrementally with ijson (its C backend, yajl2), span by span, so a 1 GB file is
never held in memory. A file is read as JSON lines when its first line (at most
:data:`MAX_LINE` bytes) is a complete OTLP object.

Problems are not silent: a line that is not JSON (a truncated last line, say) or not OTLP is
skipped and counted in :class:`ReadProblems`; a file whose first object is not OTLP at all is
a :class:`~hakaru.errors.ConfigError` that says what the file looks like instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from hakaru.errors import ConfigError
from hakaru.otel.values import (
    ERROR_CODES,
    Attributes,
    Batch,
    Span,
    attributes,
    loads,
)

_loads: Callable[[bytes], Any] = loads  # the parser of a line read as dicts (tests run both)
_typed: Callable[[bytes], list[Batch] | None] | None  # the typed reading of a line, else None
try:
    import msgspec  # noqa: F401  (the otel extra brings it)
except ImportError:
    _typed = None
else:
    from hakaru.otel.otlp_structs import spans_of as _typed

__all__ = ["MAX_LINE", "Attributes", "Batch", "ReadProblems", "Span", "attributes", "read_spans"]

MAX_LINE = 256 << 20  # bytes: a JSON line longer than this is read as one streamed object
_BUFFER = 1 << 20  # bytes read at a time (a line of 512 spans is some 370 kB)
_NO_IDS = "span without trace id, span id or times"  # what a skipped span is counted as


def _not_list(name: str) -> str:
    """The skip reason of a part ``name`` (an OTLP list) that is not a list."""
    return "spans that are not a list" if name == "spans" else f"{name} that is not a list"


def _not_object(name: str) -> str:
    """The skip reason of an item of the OTLP list ``name`` that is not an object."""
    return _NO_IDS if name == "spans" else f"{name} item that is not an object"


@dataclass
class ReadProblems:
    """What could not be read, counted by reason, with the first few places it happened."""

    skipped: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def skip(self, reason: str, where: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples) < 10:
            self.examples.append(f"{where}: {reason}")


def _not_otlp(path: Path, what: str) -> ConfigError:
    return ConfigError(
        f"{path} is not OTLP/JSON: {what}. hakaru import reads OpenTelemetry traces as OTLP/JSON "
        "(objects with 'resourceSpans', one per line as the collector's file exporter writes, or "
        "one document); export them from your tracing tool in that format."
    )


def read_spans(path: Path, problems: ReadProblems) -> Iterator[Batch]:
    """(resource attributes, its spans as :data:`Span` tuples) for every batch of spans in the
    file at ``path``: the spans of one ``scopeSpans`` item (one at a time in a streamed
    document). A span without ids or times is ``None`` in its batch, skipped and counted."""
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


def _batch(doc: dict[str, Any], problems: ReadProblems, where: str) -> Iterator[Batch]:
    """The batches of one OTLP object parsed as dicts; a part of another shape than OTLP's
    (a list that is not a list, an item that is not an object) is skipped and counted."""
    for rs in _items(doc.get("resourceSpans"), "resourceSpans", problems, where):
        res = rs.get("resource")
        resource = attributes(res.get("attributes") if isinstance(res, dict) else None)
        scopes = rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans")
        for ss in _items(scopes, "scopeSpans", problems, where):
            spans = ss.get("spans")
            if not spans:
                continue
            if not isinstance(spans, list):
                problems.skip(_not_list("spans"), where)
                continue
            yield resource, [_span_of(span, problems) for span in spans]


def _items(value: Any, name: str, problems: ReadProblems, where: str) -> Iterator[dict[str, Any]]:
    """The objects of the OTLP list ``name``; anything else in its place is a counted skip."""
    if not value:
        return
    if not isinstance(value, list):
        problems.skip(_not_list(name), where)
        return
    for item in value:
        if isinstance(item, dict):
            yield item
        else:
            problems.skip(_not_object(name), where)


def _span_of(span: Any, problems: ReadProblems) -> Span | None:
    """An OTLP span object (parsed as dicts) as the importer reads it; ``None``, a counted
    skip, when it has no trace id, span id or times."""
    try:
        trace, span_id = span["traceId"], span["spanId"]
        start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
    except (KeyError, TypeError, ValueError):
        trace = span_id = None
        start = end = -1
    if not trace or not span_id or start < 0 or type(trace) is not str or type(span_id) is not str:
        where = span.get("name", "?") if isinstance(span, dict) else "?"
        problems.skip(_NO_IDS, f"span {where}")
        return None
    links = span.get("links")
    if links:
        try:
            links = [
                link["spanId"]
                for link in links
                if isinstance(link, dict)
                and link.get("traceId") == trace
                and isinstance(link.get("spanId"), str)
            ]
        except TypeError:  # links that are not a list: none
            links = None
    state = span.get("status")
    if type(state) is not dict:
        state = {}
    attrs = attributes(span.get("attributes"))
    return (trace, span_id, start, end, attrs, links or None, state.get("code") in ERROR_CODES,
            state.get("message", ""))  # fmt: skip


def _lines(
    path: Path, fh: IO[bytes], doc: dict[str, Any], problems: ReadProblems
) -> Iterator[Batch]:
    yield from _batch(doc, problems, f"{path}:1")
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
        if _typed is not None:  # msgspec: straight to spans, else (an odd line) as dicts
            batches = _typed(line)
            if batches is not None:
                yield from batches
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
        yield from _batch(doc, problems, f"{path}:{number}")


_RESOURCE = "resourceSpans.item.resource"
# Where a streamed document's OTLP lists are (ijson's prefixes), by the list's name in the
# skip reasons; "scopeSpans" had another name before OTLP 1.0.
_LISTS = {
    "resourceSpans": "resourceSpans",
    "resourceSpans.item.scopeSpans": "scopeSpans",
    "resourceSpans.item.instrumentationLibrarySpans": "scopeSpans",
    "resourceSpans.item.scopeSpans.item.spans": "spans",
    "resourceSpans.item.instrumentationLibrarySpans.item.spans": "spans",
}
_SPAN = "resourceSpans.item.scopeSpans.item.spans.item"
_SPAN_OLD = "resourceSpans.item.instrumentationLibrarySpans.item.spans.item"
# A part of another shape than OTLP's, counted as the dict reading counts it: where a list
# belongs, anything but a list (or nothing); where an item belongs, anything but an object.
_NOT_LIST = {prefix: _not_list(name) for prefix, name in _LISTS.items()}
_NOT_OBJECT = {f"{prefix}.item": _not_object(name) for prefix, name in _LISTS.items()}
_CLOSING = ("end_map", "end_array", "map_key")


def _streamed(path: Path, fh: IO[bytes], problems: ReadProblems) -> Iterator[Batch]:
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
                        yield resource, [_span_of(obj, problems)]
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
            elif event not in _CLOSING:
                _check_shape(prefix, event, value, problems, str(path))
    except ijson.JSONError as exc:
        if not seen_root:
            raise _not_otlp(path, f"it is not JSON ({_first_line(exc)})") from None
        problems.skip("truncated or malformed document (the spans after the break)", str(path))
        return
    if not has_spans:
        raise _not_otlp(path, "it is a JSON object without 'resourceSpans'")


def _check_shape(prefix: str, event: str, value: Any, problems: ReadProblems, where: str) -> None:
    """Count a value that starts where OTLP has a list or an object of another kind (a null or
    empty value where a list belongs is nothing, as in the dict reading)."""
    reason = _NOT_OBJECT.get(prefix)
    if reason is not None:
        if event != "start_map":
            problems.skip(reason, where)
        return
    reason = _NOT_LIST.get(prefix)
    if reason is not None and event != "start_array" and (value or event == "start_map"):
        problems.skip(reason, where)


def _first_line(exc: Exception) -> str:
    """The first line of a parser's error, printable: ijson's quotes the bytes it stopped at,
    which in a binary file are not text."""
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = str(text).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return "".join(c if c.isprintable() else "?" for c in line)[:120]
