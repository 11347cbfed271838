"""``hakaru import`` reads JSON lines with msgspec's typed decoder, else as dicts with orjson,
or with :mod:`json` where orjson is not installed: all three give the same report and the same
records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hakaru.otel import reader
from hakaru.otel.importer import import_traces
from hakaru.store import RunStore
from hakaru.types import RECORD_FIELDS, record_of

orjson = pytest.importorskip("orjson")


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def _span(trace: str, sid: str, start: int, end: int, attrs: dict[str, Any], **extra: Any) -> Any:
    return {
        "traceId": trace,
        "spanId": sid,
        "name": "s",
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": [_attr(k, v) for k, v in attrs.items()],
        **extra,
    }


def _file(path: Path) -> Path:
    chat = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 7,
        "app.size": 4,
        "gen_ai.usage.cache_read.input_tokens": 60,
        "llm.cost.total": 0.25,
    }
    t = 1_700_000_000_000_000_000
    a, b = "1" * 32, "2" * 32
    spans = [
        _span(a, "a1", t, t + 10**9, {"gen_ai.operation.name": "invoke_agent", "app.size": 4}),
        _span(a, "a2", t + 1, t + 5 * 10**8, chat),
        _span(a, "a3", t + 6 * 10**8, t + 9 * 10**8, {**chat, "gen_ai.usage.output_tokens": 3}),
        _span(b, "b1", t, t + 10**6, {**chat, "app.size": "8", "gen_ai.agent.name": "é ✓"}),
        _span(b, "b2", t + 2 * 10**6, t + 3 * 10**6, {"openinference.span.kind": "LLM"},
              links=[{"traceId": b, "spanId": "b1"}], status={"code": 2, "message": "boom"}),
        _span(b, "b3", t, t + 1, {"gen_ai.operation.name": "execute_tool", "x": [1, 2.5]}),
    ]  # fmt: skip
    lines = [
        json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans[:3]}]}]}),
        "not json",
        json.dumps({"nothing": 1}),
        json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans[3:]}]}]}),
        '{"resourceSpans": [',  # truncated last line
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _imported(tmp_path: Path, name: str) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    file = _file(tmp_path / "t.jsonl")
    with RunStore(tmp_path / f"{name}.db") as store:
        report = import_traces(store, [file], size_attribute="app.size").as_dict()
        records = [  # every field but the run id
            record_of(r)[:-1] for run in report["runs"] for r in store.calls(run["run_id"])
        ]
    for run in report["runs"]:
        run.pop("run_id")
    return report, records


def test_the_run_id_is_the_last_field() -> None:
    assert RECORD_FIELDS[-1] == "run_id"


def test_msgspec_and_orjson_are_the_parsers_when_installed() -> None:
    msgspec = pytest.importorskip("msgspec")
    from hakaru.otel import otlp_structs

    assert reader._loads is orjson.loads and reader._typed is otlp_structs.spans_of
    assert msgspec.__version__


def test_msgspec_orjson_and_json_give_the_same_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    typed = _imported(tmp_path, "typed")
    monkeypatch.setattr(reader, "_typed", None)  # as without msgspec
    fast = _imported(tmp_path, "orjson")
    monkeypatch.setattr(reader, "_loads", json.loads)
    slow = _imported(tmp_path, "json")
    assert typed == fast == slow
    report, records = fast
    assert report["calls"] == 4 and len(records) == 4
    assert report["skipped"] == {
        "line that is not JSON": 1,
        "line that is not OTLP (no resourceSpans)": 1,
        "truncated line": 1,
    }
    assert [r["size"] for r in report["runs"]] == [4.0, 8.0]


def test_malformed_attribute_items_are_read_one_by_one() -> None:
    """A list with a malformed item leaves the one-comprehension reading: the others keep
    their values, the malformed ones are None (a key, no readable value) or left out."""
    good = [
        {"key": "s", "value": {"stringValue": "x"}},
        {"key": "i", "value": {"intValue": "7"}},
        {"key": "d", "value": {"doubleValue": 0.5}},
        {"key": "b", "value": {"boolValue": True}},
        {"key": "a", "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}}},
        {"key": "k", "value": {"kvlistValue": {"values": [_attr("n", 2)]}}},
    ]
    expected = {"s": "x", "i": 7, "d": 0.5, "b": True, "a": ["stop"], "k": {"n": 2}}
    assert reader.attributes(good) == expected
    bad = [
        {"key": "empty", "value": {}},
        {"key": "nan", "value": {"intValue": "seven"}},
        {"key": "odd", "value": {"fooValue": 1}},
        {"value": {"stringValue": "no key"}},
        "not an item",
    ]
    got = reader.attributes(good[:3] + bad + good[3:])
    assert got == {**expected, "empty": None, "nan": None, "odd": None}
    assert reader.attributes(None) == {} and reader.attributes([]) == {}


def test_without_msgspec_the_lines_are_read_as_dicts_alike(tmp_path: Path) -> None:
    """A Python where msgspec cannot be imported (as without the otel extra): the reader
    falls back to the dict reading, and the import is the same."""
    typed = _imported(tmp_path, "typed")
    program = (
        "import sys, json; sys.modules['msgspec'] = None\n"  # import msgspec: ImportError
        "from pathlib import Path\n"
        "from hakaru.otel import reader\n"
        "from hakaru.otel.importer import import_traces\n"
        "from hakaru.store import RunStore\n"
        "from hakaru.types import record_of\n"
        "assert reader._typed is None and 'hakaru.otel.otlp_structs' not in sys.modules\n"
        "folder = Path(sys.argv[1])\n"
        "with RunStore(folder / 'plain.db') as store:\n"
        "    report = import_traces(store, [folder / 't.jsonl'], size_attribute='app.size')\n"
        "    report = report.as_dict()\n"
        "    records = [record_of(r)[:-1] for run in report['runs']\n"
        "               for r in store.calls(run['run_id'])]\n"
        "for run in report['runs']:\n"
        "    run.pop('run_id')\n"
        "print(json.dumps([report, records]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(tmp_path)], capture_output=True, text=True, check=True
    )
    report, records = json.loads(done.stdout)
    assert report == json.loads(json.dumps(typed[0]))
    assert records == json.loads(json.dumps(typed[1]))
