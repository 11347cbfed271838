"""The importer's spill: the first span read of each span id is the one kept, wherever its
duplicates fall in the trace's order, and ids that are not strings are counted skips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hakaru.otel import importer
from hakaru.otel.importer import import_traces
from hakaru.store import RunStore

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _span(span_id: Any, start: int, end: int, tokens: int, trace: Any = TRACE) -> Any:
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
             "gen_ai.usage.input_tokens": tokens, "gen_ai.usage.output_tokens": 5}  # fmt: skip
    return {
        "traceId": trace, "spanId": span_id, "name": "chat",
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
        "attributes": [{"key": k, "value": {"intValue": str(v)} if isinstance(v, int)
                        else {"stringValue": v}} for k, v in attrs.items()],
    }  # fmt: skip


def _import(tmp_path: Path, *lines: list[Any]) -> tuple[Any, list[Any]]:
    path = tmp_path / "t.jsonl"
    docs = [{"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]} for spans in lines]
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    with RunStore(tmp_path / "r.db") as store:
        report = import_traces(store, [path])
        return report, [list(store.calls(r.run_id)) for r in report.runs]


@pytest.mark.parametrize("chunk", [1, 2, 4096])  # calls held before a spill to SQLite
def test_the_first_span_read_of_an_id_is_kept_in_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(importer, "_CHUNK", chunk)
    # "b" read first at 50-60, again (later in the file) at 5-6: the first stays, at 50
    report, runs = _import(
        tmp_path,
        [_span("b", 50, 60, 300), _span("a", 10, 20, 100)],
        [_span("b", 5, 6, 999), _span("c", 70, 80, 200)],
    )
    assert report.skipped == {"duplicate span id": 1}
    assert [r.input_tokens for r in runs[0]] == [100, 300, 200]
    assert [r.parents for r in runs[0]] == [(), (1,), (2,)]


def test_ids_that_are_not_strings_are_counted_skips(tmp_path: Path) -> None:
    report, runs = _import(
        tmp_path, [_span("a", 10, 20, 100), _span({"id": 1}, 30, 40, 5), _span("b", 30, 40, 5, 7)]
    )
    assert report.skipped == {"span without trace id, span id or times": 2}
    assert report.calls == 1 and len(runs[0]) == 1


def test_a_status_attribute_that_is_not_text_is_ignored(tmp_path: Path) -> None:
    odd = _span("a", 10, 20, 100)
    odd["attributes"].append(
        {"key": "hakaru.call.status", "value": {"arrayValue": {"values": [{"stringValue": "ok"}]}}}
    )
    report, runs = _import(tmp_path, [odd])
    assert report.calls == 1 and runs[0][0].status == "ok"


@pytest.mark.parametrize("typed", [True, False])  # msgspec's reading first, or dicts only
@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"resourceSpans": "x"}, "resourceSpans that is not a list"),
        ({"resourceSpans": [1]}, "resourceSpans item that is not an object"),
        ({"resourceSpans": [{"scopeSpans": 5}]}, "scopeSpans that is not a list"),
        ({"resourceSpans": [{"scopeSpans": [3]}]}, "scopeSpans item that is not an object"),
        ({"resourceSpans": [{"scopeSpans": [{"spans": "abc"}]}]}, "spans that are not a list"),
    ],
)
def test_a_batch_of_another_shape_than_otlp_is_a_counted_skip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, doc: Any, reason: str, typed: bool
) -> None:
    from hakaru.otel import reader

    if not typed:
        monkeypatch.setattr(reader, "_typed", None)
    good = {"resourceSpans": [{"scopeSpans": [{"spans": [_span("a", 10, 20, 100)]}]}]}
    odd = {"resourceSpans": [{"resource": 5, "scopeSpans": [{"spans": [_span("b", 30, 40, 7)]}]}]}
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in (good, doc, odd)))
    with RunStore(tmp_path / "r.db") as store:
        report = import_traces(store, [path])
    assert report.skipped == {reason: 1}
    assert report.calls == 2  # the good line's call, and the one under a resource of no shape
