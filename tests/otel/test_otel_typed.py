"""The typed reading of a JSON line (msgspec structs) gives exactly what the dict reading
gives, or hands the line to it: random OTLP-shaped lines with hostile pieces anywhere."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hakaru.otel import reader
from hakaru.otel.reader import ReadProblems

msgspec = pytest.importorskip("msgspec")
from hakaru.otel import otlp_structs  # noqa: E402  (needs msgspec)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _dicts(line: bytes) -> tuple[Any, ReadProblems]:
    """What the dict reading makes of ``line`` (or the exception it raises)."""
    problems = ReadProblems()
    try:
        return list(reader._batch(reader._loads(line), problems, "line")), problems
    except Exception as exc:  # the dict reading's own failures: the typed one must decline
        return exc, problems


def _same_or_declined(line: bytes) -> bool:
    """True when the typed reading read ``line``; then it gave the dict reading's spans, types
    included (``repr``: 1, 1.0 and True are equal but not the same)."""
    typed = otlp_structs.spans_of(line)
    if typed is None:
        return False
    expected, problems = _dicts(line)
    assert not isinstance(expected, Exception), expected
    assert not problems.skipped
    assert repr(typed) == repr(expected)
    return True


def _kv(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


def _line(*spans: Any, resource: Any = None) -> bytes:
    rs: dict[str, Any] = {"scopeSpans": [{"scope": {"name": "x"}, "spans": list(spans)}]}
    if resource is not None:
        rs["resource"] = resource
    return json.dumps({"resourceSpans": [rs]}).encode() + b"\n"


def _span(**fields: Any) -> dict[str, Any]:
    span = {
        "traceId": TRACE, "spanId": "00f067aa0ba902b7", "name": "chat", "kind": 3,
        "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000500000000",
        "attributes": [
            _kv("gen_ai.operation.name", {"stringValue": "chat"}),
            _kv("gen_ai.usage.input_tokens", {"intValue": "120"}),
            _kv("gen_ai.usage.output_tokens", {"intValue": 7}),
            _kv("llm.cost.total", {"doubleValue": 0.25}),
            _kv("n", {"doubleValue": 3}),
            _kv("stream", {"boolValue": True}),
            _kv("stop", {"arrayValue": {"values": [{"stringValue": "stop"}, {"intValue": "2"}]}}),
            _kv("kv", {"kvlistValue": {"values": [_kv("a", {"intValue": "1"})]}}),
            _kv("b", {"bytesValue": "AAE="}),
            _kv("empty", {}),
        ],
        "links": [{"traceId": TRACE, "spanId": "a1"}, {"traceId": "other", "spanId": "a2"}],
        "status": {"code": 2, "message": "boom"},
    }  # fmt: skip
    span.update(fields)
    return {k: v for k, v in span.items() if v is not ...}


def test_a_well_formed_line_is_read_typed_with_the_dict_readings_values() -> None:
    resource = {"attributes": [_kv("service.name", {"stringValue": "agent ✓"})]}
    line = _line(_span(), _span(spanId="2", status={}, links=[]), resource=resource)
    assert _same_or_declined(line)
    ((res, spans),) = otlp_structs.spans_of(line)  # type: ignore[misc]
    assert res == {"service.name": "agent ✓"}
    _, _, start, end, attrs, links, failed, message = spans[0]
    assert (start, end, links, failed, message) == (
        1700000000000000000,
        1700000000500000000,
        ["a1"],
        True,
        "boom",
    )
    assert attrs["stop"] == ["stop", 2] and attrs["kv"] == {"a": 1} and attrs["empty"] is None
    assert spans[1][5:] == (None, False, "")


@pytest.mark.parametrize(
    "line",
    [
        _line(_span(traceId="")),  # a span the importer skips: the dict reading counts it
        _line(_span(spanId=...)),
        _line(_span(startTimeUnixNano="soon")),
        _line(_span(startTimeUnixNano=1.7e18)),  # int() of a float: the dict reading takes it
        _line(_span(startTimeUnixNano="-5")),
        _line(_span(attributes=[_kv("x", {"intValue": "seven"})])),  # read one by one
        _line(_span(attributes=[_kv("x", {"intValue": 2.5})])),
        _line(_span(attributes=[_kv("x", {"boolValue": True, "doubleValue": 1.0})])),  # order
        _line(_span(attributes=[_kv("x", {"stringValue": None, "intValue": "3"})])),
        _line(_span(attributes=[_kv("x", {"intValue": 2**64})])),  # orjson: a float
        _line(_span(attributes=[_kv("x", {"arrayValue": [1]})])),
        _line(_span(attributes=[{"key": 1, "value": {"stringValue": "x"}}])),
        _line(_span(attributes=["not an item"])),
        _line(_span(attributes={"not": "a list"})),
        _line(_span(links="no")),
        _line(_span(status="OK")),
        _line(_span(status={"code": 2.0})),
        _line(_span(status={"code": 2, "message": None})),
        _line(_span(), resource=[]),
        _line(_span(name="é")).decode().encode("utf-16"),  # not UTF-8
        repr({"resourceSpans": [{"scopeSpans": [{"spans": [_span()]}]}]}).encode(),  # not JSON
        b'{"resourceSpans": [], "name": "\xff"}\n',  # invalid UTF-8 where nothing reads it
        b'{"resourceSpans": [], "name": "\xed\xa0\x80"}\n',  # an encoded surrogate
        b'{"resourceSpans": []} x\n',
        b'{"resourceSpans": [' + b"[" * 1100 + b"]" * 1100 + b"]}\n",  # deeper than orjson
        b'{"nothing": 1}\n',
        b"[1, 2]\n",
    ],
)
def test_odd_lines_are_left_to_the_dict_reading(line: bytes) -> None:
    assert not _same_or_declined(line)


# Hostile pieces: any JSON value, in place of any field
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=4)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


def _or_odd(good: Any, odd: Any = _json) -> st.SearchStrategy[Any]:
    """Mostly ``good``; else ``odd``, any JSON value, or ``...``: the field left out."""
    return st.integers(0, 29).flatmap(lambda k: good if k > 2 else (odd, _json, st.just(...))[k])


_odd_numbers = st.sampled_from(["", "x", " 7", "1_0", "0x1", "-3", 2.5, True, 2**64, -(2**63) - 1])
_ns = _or_odd(st.integers(0, 2**63 - 1).map(str) | st.integers(0, 2**63 - 1), _odd_numbers)
_scalar = st.one_of(
    st.fixed_dictionaries({"stringValue": _or_odd(st.text(max_size=4))}),
    st.fixed_dictionaries({"intValue": _ns}),
    st.fixed_dictionaries({"doubleValue": _or_odd(
        st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**63), 2**63 - 1))}),
    st.fixed_dictionaries({"boolValue": _or_odd(st.booleans())}),
    st.fixed_dictionaries({"bytesValue": _or_odd(st.text(max_size=4))}),
)  # fmt: skip
_odd_value = st.fixed_dictionaries({}, optional={
    "stringValue": _json, "intValue": _json, "doubleValue": _json, "boolValue": _json,
    "fooValue": _json,
})  # fmt: skip
_value = st.recursive(
    _or_odd(_scalar, _odd_value),
    lambda inner: st.fixed_dictionaries({"arrayValue": _or_odd(
        st.fixed_dictionaries({"values": _or_odd(st.lists(inner, max_size=3))}))})
    | st.fixed_dictionaries({"kvlistValue": _or_odd(st.fixed_dictionaries({"values": st.lists(
        st.fixed_dictionaries({"key": st.text(max_size=2), "value": inner}), max_size=2)}))}),
    max_leaves=4,
)  # fmt: skip
_kvs = st.lists(
    _or_odd(st.fixed_dictionaries({"key": _or_odd(st.sampled_from(["a", "b", "gen_ai.x"])),
                                   "value": _value})),
    max_size=4,
)  # fmt: skip


def _present(x: Any) -> Any:
    """``x`` without the fields left out (``...``), at any depth."""
    if isinstance(x, dict):
        return {k: _present(v) for k, v in x.items() if v is not ...}
    if isinstance(x, list):
        return [_present(v) for v in x if v is not ...]
    return x


_links = st.lists(
    _or_odd(st.fixed_dictionaries({"traceId": _or_odd(st.sampled_from([TRACE, "t2"])),
                                   "spanId": _or_odd(st.sampled_from(["a1", "c3"]))})),
    max_size=2,
)  # fmt: skip
_status = st.fixed_dictionaries({
    "code": _or_odd(st.sampled_from([0, 1, 2, "STATUS_CODE_ERROR"]), st.just(2.0)),
    "message": _or_odd(st.text(max_size=3)),
}).map(_present)  # fmt: skip
_spans = st.fixed_dictionaries({
    "traceId": _or_odd(st.sampled_from([TRACE, "t2"]), st.just("")),
    "spanId": _or_odd(st.sampled_from(["a1", "b2"]), st.just("")),
    "startTimeUnixNano": _ns,
    "endTimeUnixNano": _ns,
    "attributes": _or_odd(_kvs),
    "links": _or_odd(_links),
    "status": _or_odd(_status),
    "name": _json,
}).map(_present)  # fmt: skip
_scopes = st.lists(
    st.fixed_dictionaries({"spans": _or_odd(st.lists(_or_odd(_spans), max_size=3))}).map(_present),
    max_size=2,
)
_resource_spans = st.fixed_dictionaries({
    "resource": _or_odd(st.fixed_dictionaries({"attributes": _or_odd(_kvs)}).map(_present)),
    "scopeSpans": _or_odd(_scopes),
    "instrumentationLibrarySpans": _or_odd(_scopes),
}).map(_present)  # fmt: skip
_docs = st.fixed_dictionaries(
    {"resourceSpans": _or_odd(st.lists(_resource_spans, max_size=2))}
).map(_present)

_one_span = st.tuples(_or_odd(_kvs), _spans).map(
    lambda rs: {"resourceSpans": [{"resource": {"attributes": rs[0]},
                                   "scopeSpans": [{"spans": [rs[1]]}]}]}
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(doc=_docs | _one_span, ascii_only=st.booleans())
def test_random_lines_are_read_alike_or_left_to_the_dict_reading(
    doc: dict[str, Any], ascii_only: bool
) -> None:
    _same_or_declined(json.dumps(_present(doc), ensure_ascii=ascii_only).encode() + b"\n")
