"""Bad input to ``hakaru import``: a clear error, or a counted and reported skip — never a
crash, never a silent zero."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hakaru.cli.main import cli
from hakaru.errors import ConfigError
from hakaru.otel.importer import import_traces
from hakaru.store import RunStore

TRACE = "0af7651916cd43dd8448eb211c80319c"


def span(
    span_id: str, start: int, end: int, attrs: dict[str, Any], links: tuple[str, ...] = ()
) -> dict[str, Any]:
    def value(v: Any) -> dict[str, Any]:
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        if isinstance(v, float):
            return {"doubleValue": v}
        return {"stringValue": str(v)}

    return {
        "traceId": TRACE,
        "spanId": span_id,
        "name": "chat",
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": [{"key": k, "value": value(v)} for k, v in attrs.items()],
        "links": [{"traceId": TRACE, "spanId": s} for s in links],
    }


def chat(model: str = "gpt-4o-mini", **usage: int) -> dict[str, Any]:
    return {"gen_ai.operation.name": "chat", "gen_ai.request.model": model, **usage}


def doc(*spans: dict[str, Any]) -> dict[str, Any]:
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": list(spans)}]}]}


USAGE = {"gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 10}


def write_lines(path: Path, *docs: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


def run_import(tmp_path: Path, path: Path, **options: Any) -> Any:
    with RunStore(tmp_path / "runs.db") as store:
        report = import_traces(store, [path], **options)
        records = [list(store.calls(r.run_id)) for r in report.runs]
    return report, records


def test_a_file_that_is_not_otlp_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text('{"id": 1, "role": "worker"}\n')
    with pytest.raises(ConfigError, match=r"is not OTLP/JSON: its first line is JSON without"):
        run_import(tmp_path, path)
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(ConfigError, match=r"is not OTLP/JSON: it is not JSON"):
        run_import(tmp_path, text)
    result = CliRunner().invoke(cli, ["import", str(path), "--store", str(tmp_path / "c.db")])
    assert isinstance(result.exception, ConfigError) and "is not OTLP/JSON" in str(result.exception)


def test_a_truncated_file_keeps_what_was_read_and_counts_the_rest(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", doc(span("01", 0, 10, chat(**USAGE))))
    whole = json.dumps(doc(span("02", 20, 30, chat(**USAGE))))
    with path.open("a") as fh:
        fh.write(whole[: len(whole) // 2])  # the writer died mid-line
    report, records = run_import(tmp_path, path)
    assert report.skipped == {"truncated line": 1} and len(records[0]) == 1
    # one document cut short, streamed with ijson
    one = tmp_path / "one.json"
    one.write_text(
        json.dumps(doc(span("01", 0, 10, chat(**USAGE)), span("02", 20, 30, chat())))[:-40]
    )
    report, records = run_import(tmp_path, one)
    assert len(records[0]) == 1
    assert report.skipped == {"truncated or malformed document (the spans after the break)": 1}


def test_spans_without_usage_are_estimated_and_unpriced_never_zero(tmp_path: Path) -> None:
    text = {"input.value": "What is the sum of 2 and 40? Answer with the number only."}
    path = write_lines(
        tmp_path / "u.jsonl",
        doc(
            span("01", 0, 10, chat(**USAGE)),
            span("02", 20, 30, {**chat(), **text}),
            span("03", 40, 50, chat()),  # nothing to estimate from
        ),
    )
    report, records = run_import(tmp_path, path)
    a, b, c = records[0]
    assert (a.usage_source, b.usage_source, c.usage_source) == (
        "reported",
        "estimated",
        "estimated",
    )
    assert a.dollars is not None and a.dollars > 0  # gpt-4o-mini: priced from genai-prices
    assert b.input_tokens > 0 and b.dollars is None and c.dollars is None
    assert (report.estimated, report.no_usage) == (2, 1)
    totals = report.runs[0].totals
    assert totals["unpriced_calls"] == 2 and totals["dollars_complete"] is False


def test_cycles_in_links_and_duplicate_span_ids_are_counted_skips(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "c.jsonl",
        doc(
            span("01", 0, 10, chat(**USAGE), links=("02",)),  # a cycle: 01 ↔ 02
            span("02", 20, 30, chat(**USAGE), links=("01",)),
            span("02", 20, 30, chat(**USAGE)),  # the same span id again
        ),
    )
    report, records = run_import(tmp_path, path)
    assert report.skipped == {"duplicate span id": 1, "link that would make a cycle (dropped)": 1}
    assert [r.parents for r in records[0]] == [(), (1,)]


def test_structure_spans_cost_nothing_and_sizes_split_runs(tmp_path: Path) -> None:
    agent = {"gen_ai.operation.name": "invoke_agent", "app.n": 3}
    tool = {"openinference.span.kind": "TOOL"}
    path = write_lines(
        tmp_path / "s.jsonl",
        doc(span("0a", 0, 100, agent), span("0b", 1, 5, tool), span("01", 10, 20, chat(**USAGE))),
    )
    report, records = run_import(tmp_path, path, size_attribute="app.n")
    assert report.structure == {"invoke_agent": 1, "tool": 1}
    assert [r.size for r in report.runs] == [3.0] and len(records[0]) == 1
    result = CliRunner().invoke(
        cli, ["import", str(path), "--size-attribute", "app.n", "--store", str(tmp_path / "d.db"),
              "--series", str(tmp_path / "s.csv")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "structure spans (invoke_agent 1, tool 1)" in result.output
    assert (tmp_path / "s.csv").read_text().splitlines()[1].split(",")[1:3] == ["3.0", "1"]


def test_one_pretty_printed_document_streams_like_json_lines(tmp_path: Path) -> None:
    spans = [span(f"{i:02x}", 10 * i, 10 * i + 5, chat(**USAGE)) for i in range(1, 6)]
    lines = write_lines(tmp_path / "l.jsonl", doc(*spans[:2]), doc(*spans[2:]))
    one = tmp_path / "one.json"
    one.write_text(json.dumps(doc(*spans), indent=2))  # one document over many lines
    a, _ = run_import(tmp_path, lines)
    b, _ = run_import(tmp_path, one)
    assert a.runs[0].totals == b.runs[0].totals and a.calls == b.calls == 5
    assert a.runs[0].totals["depth"] == 5  # one after another: a chain, from timing
    bad = write_lines(tmp_path / "b.jsonl", doc(*spans[:1]), {"not": "otlp"})
    report, _ = run_import(tmp_path, bad)
    assert report.skipped == {"line that is not OTLP (no resourceSpans)": 1}


def test_runs_per_size_come_in_numeric_order(tmp_path: Path) -> None:
    docs = []
    for n, trace in ((10, "a" * 32), (9, "b" * 32), ("9.0", "c" * 32)):
        agent = span("0a", 0, 100, {"gen_ai.operation.name": "invoke_agent", "app.n": n})
        call = span("01", 10, 20, chat(**USAGE))
        for s in (agent, call):
            s["traceId"] = trace
        docs.append(doc(agent, call))
    report, _ = run_import(
        tmp_path, write_lines(tmp_path / "n.jsonl", *docs), size_attribute="app.n"
    )
    assert [(r.size, r.traces) for r in report.runs] == [(9.0, 2), (10.0, 1)]


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_left_as_it_was(tmp_path: Path, enabled: bool) -> None:
    """The import pauses the cyclic collector; it is restored after, a failed import too."""
    import gc

    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.json"
    write_lines(good, doc(span("a1", 1, 2, chat(**USAGE))))
    bad.write_text('{"hello": 1}\n')
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with RunStore(tmp_path / "r.db") as store:
            assert import_traces(store, [good]).calls == 1
            assert gc.isenabled() is enabled
            with pytest.raises(ConfigError):
                import_traces(store, [bad])
            assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


@pytest.mark.parametrize(
    ("parts", "skipped"),
    [
        ([5], {"resourceSpans item that is not an object": 1}),
        ([{"scopeSpans": 5}], {"scopeSpans that is not a list": 1}),
        ([{"scopeSpans": [3, [1]]}], {"scopeSpans item that is not an object": 2}),
        ([{"scopeSpans": [{"spans": "abc"}]}], {"spans that are not a list": 1}),
        (
            [{"scopeSpans": [{"spans": [5, None, [2]]}]}],
            {"span without trace id, span id or times": 3},
        ),
        ([{"scopeSpans": None}, {"scopeSpans": [{"spans": None}, {"spans": []}]}], {}),
    ],
)
def test_parts_of_another_shape_are_counted_alike_streamed_or_as_lines(
    tmp_path: Path, parts: list[Any], skipped: dict[str, int]
) -> None:
    whole = doc(span("01", 10, 20, chat(**USAGE)))
    whole["resourceSpans"] += parts
    lines = write_lines(tmp_path / "l.jsonl", whole)
    one = tmp_path / "one.json"
    one.write_text(json.dumps(whole, indent=2))  # read as a stream, by ijson
    for path in (lines, one):
        report, records = run_import(tmp_path, path)
        assert report.skipped == skipped, path.name
        assert [r.input_tokens for r in records[0]] == [100]


def test_a_binary_file_is_refused_in_printable_words(tmp_path: Path) -> None:
    path = tmp_path / "random.bin"
    path.write_bytes(bytes([0x5C, 0x40, 0x2D, 0xC5, 0xCE, 0x83, 0x00, 0x1B, 0x07]) * 300)
    with pytest.raises(ConfigError, match=r"is not OTLP/JSON: it is not JSON") as err:
        run_import(tmp_path, path)
    assert str(err.value).isprintable()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"size": -5.0}, "--size is -5. Give the problem size as a positive number."),
        ({"size": 0.0}, "--size is 0. Give the problem size as a positive number."),
        ({"size": float("nan")}, "--size is nan. Give the problem size as a positive number."),
        ({"size": float("inf")}, "--size is inf. Give the problem size as a positive number."),
        ({"size_attribute": " "}, "--size-attribute is empty. Name the span attribute"),
    ],
)
def test_a_size_that_is_no_problem_size_is_refused(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    path = write_lines(tmp_path / "t.jsonl", doc(span("01", 10, 20, chat(**USAGE))))
    with pytest.raises(ConfigError) as err:
        run_import(tmp_path, path, **options)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("value", ["abc", "NaN", -3, 0, True])
def test_a_size_attribute_that_holds_no_problem_size_is_refused(tmp_path: Path, value: Any) -> None:
    path = write_lines(tmp_path / "t.jsonl", doc(span("01", 10, 20, chat(**USAGE, **{"app.n": 1}))))
    good, _ = run_import(tmp_path, path, size_attribute="app.n")
    assert [r.size for r in good.runs] == [1.0]
    bad = write_lines(
        tmp_path / "b.jsonl", doc(span("02", 10, 20, {**chat(**USAGE), "app.n": value}))
    )
    with pytest.raises(
        ConfigError, match=r"The size attribute app.n has the value .*, which is not a"
    ):
        run_import(tmp_path, bad, size_attribute="app.n")
