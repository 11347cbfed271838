"""Traces written by others (OTLP/JSON) imported as runs: ``hakaru import``.

Each span that is a model call — ``gen_ai.operation.name`` ``chat``/``text_completion``/…, or
OpenInference's ``openinference.span.kind`` ``LLM``/``EMBEDDING`` — becomes a
:class:`~hakaru.types.CallRecord`; every other span (agent, tool, chain, workflow) is structure:
counted by kind, costing nothing. Runs are one per trace, or one per value of a *size
attribute* (``--size-attribute KEY``: the traces whose spans carry the same value form the run
of that problem size), so that ``fit`` and ``report`` see how cost grows with the size.

Happens-before: a trace whose spans carry links (what ``hakaru runs export`` writes: a call's
parents) keeps them; any other trace gets the dependencies its timing allows
(:class:`~hakaru.dependencies.InferredDependencies`: B may depend on A when A finished before
B started). A link to a span that does not precede it (a cycle) is dropped and counted.

Usage is never invented as zero: a call without token counts takes an estimate from its
captured text where there is some (``usage_source = "estimated"``), and is left unpriced
(``dollars`` unknown) — both counted in the report. Dollars are the span's own
(``hakaru.call.dollars``, OpenInference ``llm.cost.total``) or priced from the model
(:class:`~hakaru.pricing.PriceBook`: the genai-prices snapshot), else unknown.

Memory stays bounded: spans are parsed as a stream (:mod:`hakaru.otel.reader`) and the model
calls spilled into a temporary SQLite file, read back trace by trace in order.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hakaru.dependencies import InferredDependencies
from hakaru.errors import ConfigError
from hakaru.ledger import totals_of
from hakaru.otel.attributes import CALL, GEN_AI, OPENINFERENCE, RUN
from hakaru.otel.reader import Attributes, ReadProblems, attributes, read_spans
from hakaru.pricing import PriceBook, Prices
from hakaru.store import RunStore
from hakaru.tokenizer import count_tokens
from hakaru.types import CallRecord, ModelSpec

__all__ = ["ImportReport", "ImportedRun", "import_traces"]

_NS = 1e9
_CHUNK = 4096  # records written per transaction


@dataclass(frozen=True)
class ImportedRun:
    """One run made by an import: its id, problem size, traces and totals."""

    run_id: str
    size: float | None
    traces: int
    totals: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "size": self.size,
            "traces": self.traces,
            "totals": self.totals,
        }


@dataclass
class ImportReport:
    """What an import read, made and skipped."""

    files: list[str]
    spans: int = 0
    calls: int = 0
    structure: Counter[str] = field(default_factory=Counter)  # non-LLM spans by kind
    estimated: int = 0  # calls whose tokens were estimated from text
    unpriced: int = 0  # executed calls without known dollars
    no_usage: int = 0  # calls with neither token counts nor text to estimate from
    skipped: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    runs: list[ImportedRun] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "spans": self.spans,
            "calls": self.calls,
            "structure": dict(self.structure),
            "estimated_calls": self.estimated,
            "unpriced_calls": self.unpriced,
            "calls_without_usage": self.no_usage,
            "skipped": dict(self.skipped),
            "skip_examples": self.examples,
            "runs": [r.as_dict() for r in self.runs],
        }


def _first(attrs: Attributes, *keys: str) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None:
            return value
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return None


def _kind(attrs: Attributes) -> str | None:
    """``None`` for a model call, else the structure kind of the span."""
    op = attrs.get(GEN_AI.OPERATION)
    oi = attrs.get(OPENINFERENCE.SPAN_KIND)
    if op in GEN_AI.MODEL_OPERATIONS or oi in OPENINFERENCE.MODEL_KINDS:
        return None
    if isinstance(op, str):
        return op
    return str(oi).lower() if oi else "other"


def _text(attrs: Attributes, keys: Sequence[str], prefix: str) -> str:
    parts = [str(attrs[k]) for k in keys if attrs.get(k) is not None]
    parts += [str(v) for k, v in attrs.items() if k.startswith(prefix) and k.endswith("content")]
    return "\n".join(parts)


class _Spill:
    """The model calls of every file, kept in a temporary SQLite file until all are read."""

    def __init__(self, folder: str) -> None:
        self.db = sqlite3.connect(Path(folder) / "spans.db")
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute(
            "CREATE TABLE calls (trace TEXT, span TEXT, ord REAL, start INTEGER, end INTEGER,"
            " data TEXT, PRIMARY KEY (trace, span)) WITHOUT ROWID"
        )
        self.db.execute("CREATE TABLE sizes (trace TEXT PRIMARY KEY, size TEXT) WITHOUT ROWID")
        self.pending: list[tuple[Any, ...]] = []
        self.sizes: list[tuple[str, str]] = []
        self.duplicates = 0

    def add(self, row: tuple[Any, ...]) -> None:
        self.pending.append(row)
        if len(self.pending) >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            before = self.db.total_changes
            self.db.executemany("INSERT OR IGNORE INTO calls VALUES (?,?,?,?,?,?)", self.pending)
            self.duplicates += len(self.pending) - (self.db.total_changes - before)
            self.pending = []
        if self.sizes:
            self.db.executemany("INSERT OR IGNORE INTO sizes VALUES (?,?)", self.sizes)
            self.sizes = []


def import_traces(
    store: RunStore,
    paths: Iterable[str | Path],
    *,
    size_attribute: str | None = None,
    size: float | None = None,
    name: str = "",
) -> ImportReport:
    """Import the OTLP/JSON files at ``paths`` into ``store``; returns what was made.

    ``size_attribute``: the span or resource attribute holding each trace's problem size
    (one run per value); ``size``: the size of every run made (one run per trace).
    """
    if size_attribute is not None and size is not None:
        raise ConfigError("Give --size-attribute or --size, not both.")
    files = [Path(p) for p in paths]
    if not files:
        raise ConfigError("No file given. Name the OTLP/JSON files to import.")
    report = ImportReport([str(p) for p in files])
    problems = ReadProblems()
    with tempfile.TemporaryDirectory(prefix="hakaru-import-") as folder:
        spill = _Spill(folder)
        for path in files:
            for resource, span in read_spans(path, problems):
                _take(span, resource, spill, report, size_attribute, problems)
        spill.flush()
        if spill.duplicates:
            report.skipped["duplicate span id"] += spill.duplicates
        spill.db.execute("CREATE INDEX calls_order ON calls (trace, ord, start, end)")
        _make_runs(store, spill.db, report, size_attribute, size, name or files[0].name)
        spill.db.close()
    for reason, n in problems.skipped.items():
        report.skipped[reason] += n
    report.examples = problems.examples + report.examples
    if report.calls == 0 and report.spans > 0 and not report.runs:
        report.examples.append(
            "no span was a model call (no gen_ai.operation.name 'chat' or "
            "openinference.span.kind 'LLM')"
        )
    return report


def _take(
    span: dict[str, Any],
    resource: Attributes,
    spill: _Spill,
    report: ImportReport,
    size_attribute: str | None,
    problems: ReadProblems,
) -> None:
    report.spans += 1
    trace, span_id = span.get("traceId"), span.get("spanId")
    try:
        start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
    except (KeyError, TypeError, ValueError):
        start = end = -1
    if not trace or not span_id or start < 0:
        problems.skip("span without trace id, span id or times", f"span {span.get('name', '?')}")
        return
    attrs = attributes(span.get("attributes"))
    if size_attribute is not None:
        value = _first(attrs, size_attribute)
        if value is None:
            value = resource.get(size_attribute)
        if value is not None:
            spill.sizes.append((trace, json.dumps(value)))
    kind = _kind(attrs)
    if kind is not None:
        report.structure[kind] += 1
        return
    links = [
        link["spanId"]
        for link in span.get("links") or ()
        if isinstance(link, dict) and link.get("traceId") == trace and link.get("spanId")
    ]
    status = attrs.get(CALL.STATUS)
    if status not in ("ok", "error", "cached", "flagged"):
        code = (span.get("status") or {}).get("code")
        status = "error" if code in (2, "STATUS_CODE_ERROR") else "ok"
    data = {
        "attrs": attrs,
        "links": links,
        "status": status,
        "message": (span.get("status") or {}).get("message", ""),
        "resource_size": resource.get(RUN.SIZE),
    }
    call_id = _int(attrs.get(CALL.ID))
    spill.add((trace, span_id, call_id if call_id is not None else 0, start, end, json.dumps(data)))


def _make_runs(
    store: RunStore,
    db: sqlite3.Connection,
    report: ImportReport,
    size_attribute: str | None,
    size: float | None,
    name: str,
) -> None:
    """One run per trace (or per size value), written in chunks as the rows stream out."""
    if size_attribute is not None:
        rows = db.execute(
            "SELECT s.size, c.trace, c.span, c.start, c.end, c.data FROM calls c "
            "LEFT JOIN sizes s ON s.trace = c.trace ORDER BY s.size, c.trace, c.ord, c.start, c.end"
        )
    else:
        rows = db.execute(
            "SELECT NULL, trace, span, start, end, data FROM calls ORDER BY trace, ord, start, end"
        )
    book = PriceBook(None)
    current: _RunBuilder | None = None
    trace_rows: list[tuple[Any, ...]] = []
    last: tuple[Any, Any] | None = None
    for row in rows:
        key = (row[0], row[1])
        if last is not None and key != last:
            assert current is not None
            current.add_trace(trace_rows)
            trace_rows = []
            if size_attribute is None or key[0] != last[0]:
                report.runs.append(current.finish())
                current = None
        if current is None:
            group_size = size if size_attribute is None else _size(row[0], size_attribute)
            current = _RunBuilder(store, report, book, name, group_size, size_attribute)
        trace_rows.append(row)
        last = key
    if current is not None:
        current.add_trace(trace_rows)
        report.runs.append(current.finish())


def _size(blob: str | None, key: str) -> float | None:
    if blob is None:
        return None
    value = json.loads(blob)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"The size attribute {key} has the value {value!r}, which is not a number. Choose "
            "an attribute that holds each trace's problem size as a number."
        ) from None


class _RunBuilder:
    """The run being made: records, in chunks, and what is known of its prices."""

    def __init__(
        self,
        store: RunStore,
        report: ImportReport,
        book: PriceBook,
        name: str,
        size: float | None,
        size_attribute: str | None,
    ) -> None:
        self.store, self.report, self.book = store, report, book
        self.size = size
        params: dict[str, Any] = {"source": "otlp-json", "files": report.files}
        if size_attribute is not None:
            params["size_attribute"] = size_attribute
        self.params = params
        self.name = name
        self.run_id = ""
        self.next_id = 1
        self.traces = 0
        self.t0: float | None = None
        self.pending: list[CallRecord] = []
        self.prices: dict[str, Prices | None] = {}

    def _open(self, first_size: Any) -> None:
        if self.size is None and isinstance(first_size, int | float):
            self.size = float(first_size)  # hakaru.problem.size of an exported run
        if self.size is not None:
            self.params["n"] = self.size
        self.run_id = self.store.new_run("import", self.name, self.params)

    def add_trace(self, rows: list[tuple[Any, ...]]) -> None:
        spans = [(r[2], r[3], r[4], json.loads(r[5])) for r in rows]
        if not self.run_id:
            first = spans[0][3]
            self._open(first["attrs"].get(RUN.SIZE, first["resource_size"]))
        self.traces += 1
        if self.t0 is None:
            self.t0 = min(s[1] for s in spans) / _NS
        linked = any(s[3]["links"] for s in spans)
        if linked:
            ids = {s[0]: self.next_id + i for i, s in enumerate(spans)}
            parents = [self._linked(ids, s, self.next_id + i) for i, s in enumerate(spans)]
        else:
            spans.sort(key=lambda s: (s[1], s[2], s[0]))
            parents = _by_timing([(s[1], s[2]) for s in spans], self.next_id)
        for i, s in enumerate(spans):
            self.pending.append(self._record(self.next_id + i, parents[i], s))
        self.next_id += len(spans)
        if len(self.pending) >= _CHUNK:
            self._write()

    def _linked(self, ids: dict[str, int], span: tuple[Any, ...], own: int) -> tuple[int, ...]:
        out = []
        for link in span[3]["links"]:
            parent = ids.get(link)
            if parent is None:
                continue  # a link to a span that is not a model call here
            if parent >= own:
                self.report.skipped["link that would make a cycle (dropped)"] += 1
                continue
            out.append(parent)
        return tuple(out)

    def _record(self, rid: int, parents: tuple[int, ...], span: tuple[Any, ...]) -> CallRecord:
        _, start_ns, end_ns, data = span
        a: Attributes = data["attrs"]
        status = data["status"]
        model = str(
            _first(a, GEN_AI.RESPONSE_MODEL, GEN_AI.REQUEST_MODEL, OPENINFERENCE.MODEL) or "unknown"
        )
        tokens = [
            _int(_first(a, GEN_AI.INPUT_TOKENS, GEN_AI.PROMPT_TOKENS, OPENINFERENCE.PROMPT_TOKENS)),
            _int(
                _first(
                    a, GEN_AI.OUTPUT_TOKENS, GEN_AI.COMPLETION_TOKENS,
                    OPENINFERENCE.COMPLETION_TOKENS,
                )
            ),
            _int(_first(a, GEN_AI.REASONING, OPENINFERENCE.REASONING)) or 0,
            _int(_first(a, GEN_AI.CACHE_READ, OPENINFERENCE.CACHE_READ)) or 0,
            _int(_first(a, GEN_AI.CACHE_CREATION, OPENINFERENCE.CACHE_WRITE)) or 0,
        ]  # fmt: skip
        source = a.get(CALL.USAGE_SOURCE)
        estimated = source == "estimated"
        if tokens[0] is None or tokens[1] is None:
            estimated = True
            if tokens[0] is None:
                tokens[0] = count_tokens(
                    _text(a, ("input.value", "gen_ai.input.messages"), "llm.input_messages")
                )
            if tokens[1] is None:
                tokens[1] = count_tokens(
                    _text(a, ("output.value", "gen_ai.output.messages"), "llm.output_messages")
                )
            self.report.estimated += 1
            if tokens[0] == 0 and tokens[1] == 0 and status in ("ok", "flagged"):
                self.report.no_usage += 1
        n_in, n_out, reasoning, read, write = (int(t or 0) for t in tokens)
        n_in = max(n_in, read + write)
        n_out = max(n_out, reasoning)
        executed = status in ("ok", "flagged")
        dollars: float | None = 0.0
        if executed:
            dollars = self._dollars(a, model, estimated, n_in, n_out, reasoning, read, write)
            if dollars is None:
                self.report.unpriced += 1
        t0 = self.t0 or 0.0
        started, ended = start_ns / _NS - t0, max(end_ns, start_ns) / _NS - t0
        finish = a.get(GEN_AI.FINISH_REASONS)
        error = a.get(CALL.ERROR) or (data["message"] if status == "error" else "")
        self.report.calls += 1
        return CallRecord(
            id=rid,
            parents=parents,
            role=str(_first(a, GEN_AI.AGENT_NAME) or "llm"),
            model=model,
            attempt=_int(a.get(CALL.ATTEMPT)) or 1,
            status=status,
            error_kind=str(a.get(GEN_AI.ERROR_TYPE) or "") if status != "ok" else "",
            error=str(error or ""),
            input_tokens=n_in,
            output_tokens=n_out,
            reasoning_tokens=reasoning,
            cache_read_tokens=read,
            cache_write_tokens=write,
            usage_source="estimated" if estimated else "reported",
            size=float(a.get(CALL.MODEL_SIZE) or 1.0),
            dollars=dollars,
            latency=float(a.get(CALL.LATENCY, ended - started)),
            started=started,
            ended=ended,
            sim_start=float(a.get(CALL.SIM_START, started)),
            sim_end=float(a.get(CALL.SIM_END, ended)),
            step=_int(a.get(CALL.STEP)),
            vote=_int(a.get(CALL.VOTE)),
            candidate=str(a.get(CALL.CANDIDATE) or ""),
            finish_reason=str(finish[0]) if isinstance(finish, list) and finish else "",
            reasoning_budget=_int(a.get(CALL.REASONING_BUDGET)),
        )

    def _dollars(self, a: Attributes, model: str, estimated: bool, *tokens: int) -> float | None:
        if CALL.DOLLARS_KNOWN in a:  # exported by hakaru: its own dollars, or unknown
            value = a.get(CALL.DOLLARS)
            return float(value) if a[CALL.DOLLARS_KNOWN] and value is not None else None
        cost = a.get(OPENINFERENCE.COST_TOTAL)
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            return float(cost)
        if estimated:
            return None  # tokens not reported: the dollars are not known either
        if model not in self.prices:
            self.prices[model] = self.book.resolve(model, ModelSpec(model))
            self.store.put_prices(self.run_id, model, self.prices[model])
        prices = self.prices[model]
        return None if prices is None else prices.dollars(*tokens)

    def _write(self) -> None:
        self.store.add_calls(self.run_id, self.pending)
        self.pending = []

    def finish(self) -> ImportedRun:
        self._write()
        totals = totals_of(self.store.calls(self.run_id), self.store.prices(self.run_id))
        summary = {**totals, "traces": self.traces, "size": self.size}
        self.store.finish_run(self.run_id, "done", summary)
        return ImportedRun(self.run_id, self.size, self.traces, totals)


def _by_timing(times: Sequence[tuple[int, int]], first_id: int) -> list[tuple[int, ...]]:
    """Parents of calls (sorted by start) inferred from their (start, end) times: events in
    time order, a finish before a start at the same instant."""
    deps = InferredDependencies()
    events: list[tuple[int, int, int]] = []
    for i, (start, end) in enumerate(times):
        events.append((start, 1, i))
        events.append((max(end, start), 0, i))
    events.sort()
    parents: list[tuple[int, ...]] = [()] * len(times)
    local: dict[int, int] = {}
    for _, is_start, i in events:
        if is_start:
            cid, ps = deps.start()
            local[i] = cid
            parents[i] = ps
        else:
            deps.finish(local[i], parents[i])
    offset = first_id - 1
    return [tuple(p + offset for p in ps) for ps in parents]
