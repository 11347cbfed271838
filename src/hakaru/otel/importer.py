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

import gc
import json
import marshal
import math
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from heapq import heappop, heappush
from itertools import chain, groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from hakaru.errors import ConfigError
from hakaru.ledger import Ledger
from hakaru.otel.attributes import CALL, GEN_AI, RUN
from hakaru.otel.call_of import Pricing, call_fields, structure_kind
from hakaru.otel.import_report import ImportedRun, ImportReport
from hakaru.otel.reader import Attributes, ReadProblems, Span, read_spans
from hakaru.store import RunStore
from hakaru.types import RecordRow

__all__ = ["ImportReport", "ImportedRun", "import_traces"]

_NS = 1e9
_CHUNK = 4096  # calls held before they are spilled; records written per store transaction
_STATUS, _DOLLARS = 3, 13  # in CallFields.row
# A spilled call (a tuple): where its order, times, span id, links and CallFields.row are
_ORD, _START, _END, _SPAN, _LINKS, _PRICED, _ROW = range(7)
_OPERATION, _MODEL_OPERATIONS = GEN_AI.OPERATION, GEN_AI.MODEL_OPERATIONS
_RUN_SIZE, _CALL_ID = RUN.SIZE, CALL.ID
_BY_TIME = itemgetter(_START, _END, _ORD, _SPAN)
_TIMES, _SPANS, _LINKS_OF = itemgetter(_START, _END), itemgetter(_SPAN), itemgetter(_LINKS)
_DATA = itemgetter(2)  # of a row read back: size, trace id, data


class _Spill:
    """The model calls of every file, kept in a temporary SQLite file until all are read.

    The calls read are held by trace id until some thousands are; then each trace's calls go
    into one row appended to ``calls``: the trace id, and the calls as one ``marshal`` blob (a
    list of tuples, read back by this process only) — a row per trace and chunk, not per call,
    and no key to keep up while spilling. An index on the trace id, made once every file is
    read, gives each trace's rows back in the order they were written, so its calls in the
    order they were read; duplicate span ids and the order of the calls are settled a trace at
    a time."""

    def __init__(self, folder: str) -> None:
        self.db = sqlite3.connect(Path(folder) / "spans.db")
        self.db.execute("PRAGMA journal_mode=OFF")  # a scratch file: nothing to recover
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA locking_mode=EXCLUSIVE")
        self.db.execute("CREATE TABLE calls (trace TEXT, data BLOB)")
        self.db.execute("CREATE TABLE sizes (trace TEXT PRIMARY KEY, size TEXT) WITHOUT ROWID")
        self.pending: dict[str, list[tuple[Any, ...]]] = {}  # trace id → its calls read
        self.held = 0  # calls in pending
        self.sizes: list[tuple[str, str]] = []

    def flush(self) -> None:
        if self.pending:
            dumps = marshal.dumps
            rows = [(trace, dumps(calls)) for trace, calls in self.pending.items()]
            self.db.executemany("INSERT INTO calls VALUES (?,?)", rows)
            self.pending, self.held = {}, 0
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
    if size is not None and not (math.isfinite(size) and size > 0):
        raise ConfigError(f"--size is {size:g}. Give the problem size as a positive number.")
    if size_attribute is not None and not size_attribute.strip():
        raise ConfigError(
            "--size-attribute is empty. Name the span attribute that holds the problem size "
            "(e.g. --size-attribute app.problem.size)."
        )
    files = [Path(p) for p in paths]
    if not files:
        raise ConfigError("No file given. Name the OTLP/JSON files to import.")
    report = ImportReport([str(p) for p in files])
    problems = ReadProblems()
    with _cyclic_gc_paused(), tempfile.TemporaryDirectory(prefix="hakaru-import-") as folder:
        spill = _Spill(folder)
        pricing = Pricing()
        for path in files:
            for resource, spans in read_spans(path, problems):
                _take(spans, resource, spill, report, size_attribute, pricing)
        spill.flush()
        spill.db.execute("CREATE INDEX calls_trace ON calls (trace)")
        _make_runs(store, spill.db, report, size_attribute, size, name or files[0].name, pricing)
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


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while an import runs: every parsed line makes some
    ten thousand dicts and lists, freed by reference counting (the import makes no cycles),
    and the collections they set off were a large share of the import's time. The collector's
    state is restored after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _take(
    spans: list[Span | None],
    resource: Attributes,
    spill: _Spill,
    report: ImportReport,
    size_attribute: str | None,
    pricing: Pricing,
) -> None:
    """Classify the spans of one batch; spill their model calls (the loop runs once per span:
    what it calls is bound to locals)."""
    report.spans += len(spans)
    pending, sizes, structure = spill.pending, spill.sizes, report.structure
    held = 0
    sized = None  # the trace whose size the last span gave
    last: str | None = None  # the trace of the last call
    calls: list[tuple[Any, ...]] = []  # its calls held
    for span in spans:
        if span is None:  # no ids or times: counted by the reader
            continue
        trace, span_id, start, end, attrs, links, failed, message = span
        if trace == sized:
            pass  # the first size of a trace is its size: the span before gave this trace's
        elif size_attribute is not None:
            value = attrs.get(size_attribute)
            if value is None:
                value = resource.get(size_attribute)  # on every span of the resource
            if value is not None:
                sizes.append((trace, json.dumps(_number(value))))  # 2, 2.0 and "2": one size
                sized = trace
        elif _RUN_SIZE in attrs:  # an exported hakaru run: its problem size
            sizes.append((trace, json.dumps(attrs[_RUN_SIZE])))
            sized = trace
        op = attrs.get(_OPERATION)  # a GenAI model call, else structure_kind says
        if type(op) is not str or op not in _MODEL_OPERATIONS:
            kind = structure_kind(attrs)
            if kind is not None:
                structure[kind] += 1
                continue
        row, estimated, no_usage, from_model = call_fields(
            attrs, "error" if failed else "ok", message, pricing
        )
        if estimated:
            report.estimated += 1
        if no_usage:
            report.no_usage += 1
        if row[_DOLLARS] is None and row[_STATUS] in ("ok", "flagged"):
            report.unpriced += 1
        order = attrs.get(_CALL_ID)
        if not isinstance(order, int):
            order = 0
        held += 1
        if trace != last:  # the spans of a trace mostly come one after another
            held_now = pending.get(trace)
            if held_now is None:
                held_now = pending[trace] = []
            calls, last = held_now, trace
        # read back by this process: _ORD, _START, _END, _SPAN, _LINKS, _PRICED, then _ROW
        calls.append((order, start, end, span_id, links, from_model, *row))
    spill.held += held
    if spill.held >= _CHUNK:
        spill.flush()


def _make_runs(
    store: RunStore,
    db: sqlite3.Connection,
    report: ImportReport,
    size_attribute: str | None,
    size: float | None,
    name: str,
    pricing: Pricing,
) -> None:
    """One run per trace (or per size value), written in chunks as the rows stream out."""
    if size_attribute is None:
        sql = (
            "SELECT s.size, c.trace, c.data FROM calls c INDEXED BY calls_trace "
            "LEFT JOIN sizes s ON s.trace = c.trace ORDER BY c.trace, c.rowid"
        )
    else:  # traces in order of size (an index), each trace's calls as read (another): the
        # rows come out sorted a trace at a time, never all of them at once
        db.execute("INSERT OR IGNORE INTO sizes SELECT trace, NULL FROM calls GROUP BY trace")
        db.execute("CREATE INDEX sizes_order ON sizes (CAST(size AS REAL), size, trace)")
        sql = (
            "SELECT s.size, c.trace, c.data FROM sizes s CROSS JOIN calls c INDEXED BY "
            "calls_trace ON c.trace = s.trace ORDER BY CAST(s.size AS REAL), s.size, s.trace, "
            "c.rowid"
        )
    rows = db.execute(sql)
    current: _RunBuilder | None = None
    last: Any = None
    for _, trace in groupby(rows, key=itemgetter(1)):  # one trace at a time (by its id)
        got = list(trace)
        value = got[0][0]  # its size
        if current is not None and (size_attribute is None or value != last):
            report.runs.append(current.finish())
            current = None
        if current is None:
            group = size if size is not None else _size(value, size_attribute or RUN.SIZE)
            current = _RunBuilder(store, report, pricing, name, group, size_attribute)
        current.add_trace(got)
        last = value
    if current is not None:
        report.runs.append(current.finish())


def _number(value: Any) -> Any:
    """``value`` as a float when it is a number or a string that spells one, else as it is."""
    if isinstance(value, bool):
        return value
    try:
        return float(value) if isinstance(value, int | float | str) else value
    except ValueError:
        return value


def _size(blob: str | None, key: str) -> float | None:
    if blob is None:
        return None
    value = json.loads(blob)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and math.isfinite(value) and value > 0:
        return float(value)
    raise ConfigError(
        f"The size attribute {key} has the value {value!r}, which is not a positive number. "
        "Choose an attribute that holds each trace's problem size as a number above 0."
    )


class _RunBuilder:
    """The run being made: its records, written in chunks, and its totals, kept online."""

    def __init__(
        self,
        store: RunStore,
        report: ImportReport,
        pricing: Pricing,
        name: str,
        size: float | None,
        size_attribute: str | None,
    ) -> None:
        self.store, self.report, self.pricing = store, report, pricing
        self.size = size
        params: dict[str, Any] = {"source": "otlp-json", "files": report.files}
        if size_attribute is not None:
            params["size_attribute"] = size_attribute
        if size is not None:
            params["n"] = size
        self.run_id = store.new_run("import", name, params)
        self.next_id = 1
        self.traces = 0
        self.t0 = 0.0
        self.started = False
        self.pending: list[RecordRow] = []
        self.priced: set[str] = set()
        self.ledger = Ledger(keep_records=False)

    def add_trace(self, rows: list[tuple[Any, ...]]) -> None:
        """The model calls of one trace (rows of ``calls``, in the order they were read): the
        first of each span id, in the order of their hakaru call ids, else of their times."""
        self.traces += 1
        if len(rows) == 1:  # its calls were all read in one chunk
            calls = marshal.loads(rows[0][2])
        else:
            calls = list(chain.from_iterable(map(marshal.loads, map(_DATA, rows))))
        if len(set(map(_SPANS, calls))) < len(calls):
            calls = self._first_of_each(calls)
        if not self.started:
            self.t0, self.started = min(c[_START] for c in calls) / _NS, True
        first = self.next_id
        if any(map(_LINKS_OF, calls)):  # links: the parents it names
            calls.sort()  # by _ORD, _START, _END, _SPAN (span ids are distinct)
            ids = {c[_SPAN]: first + i for i, c in enumerate(calls)}
            parents = [self._linked(ids, c[_LINKS], first + i) for i, c in enumerate(calls)]
        else:
            calls.sort(key=_BY_TIME)
            parents = _by_timing(list(map(_TIMES, calls)), first)
        finish: dict[int, tuple[float, ...]] = {}  # per trace: parents are in the same trace
        zero, add_row, keep = self.ledger.zero, self.ledger.add_row, self.pending.append
        priced, t0 = self.priced, self.t0
        rid = first - 1
        for c, ps in zip(calls, parents, strict=True):  # once per call: written out
            rid += 1
            # c[6:] (_ROW) is CallFields.row: c[6:20] role to dollars, c[20] latency,
            # c[21] sim_start, c[22] sim_end, c[23:] step to reasoning_budget; c[7] the model
            if c[5] and c[7] not in priced:  # c[5] (_PRICED): priced from the model's prices
                self._price(c[7])
            began = c[1]  # _START, _END: nanoseconds
            started, ended = began / _NS - t0, (c[2] if c[2] > began else began) / _NS - t0
            latency, sim_start, sim_end = c[20], c[21], c[22]
            rec: RecordRow = (
                rid, ps, *c[6:20],
                ended - started if latency is None else latency,
                started, ended,
                started if sim_start is None else sim_start,
                ended if sim_end is None else sim_end,
                *c[23:], "",  # run_id: the store's
            )  # fmt: skip
            if not ps:  # the finish of its parents (all in this trace, made before it)
                start = zero
            elif len(ps) == 1:
                start = finish[ps[0]]
            else:
                start = tuple(map(max, *[finish[p] for p in ps]))
            finish[rid] = add_row(rec, start)
            keep(rec)
        self.report.calls += len(calls)
        self.next_id += len(calls)
        if len(self.pending) >= _CHUNK:
            self._write()

    def _first_of_each(self, calls: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The first call read of each span id; the others are counted skips."""
        first: dict[str, tuple[Any, ...]] = {}
        for c in calls:
            first.setdefault(c[_SPAN], c)
        self.report.skipped["duplicate span id"] += len(calls) - len(first)
        return list(first.values())

    def _linked(self, ids: dict[str, int], links: list[str] | None, own: int) -> tuple[int, ...]:
        out = []
        for link in links or ():
            parent = ids.get(link)
            if parent is None:
                continue  # a link to a span that is not a model call here
            if parent >= own:
                self.report.skipped["link that would make a cycle (dropped)"] += 1
                continue
            out.append(parent)
        return tuple(out)

    def _price(self, model: str) -> None:
        """The run's first call priced from ``model``'s prices: the run records them."""
        self.priced.add(model)
        prices = self.pricing.of(model)
        self.store.put_prices(self.run_id, model, prices)
        self.ledger.set_prices(model, prices)

    def _write(self) -> None:
        self.store.add_rows(self.run_id, self.pending)
        self.pending = []

    def finish(self) -> ImportedRun:
        self._write()
        totals = self.ledger.totals()
        summary = {**totals, "traces": self.traces, "size": self.size}
        self.store.finish_run(self.run_id, "done", summary)
        return ImportedRun(self.run_id, self.size, self.traces, totals)


def _by_timing(times: Sequence[tuple[int, int]], first_id: int) -> list[tuple[int, ...]]:
    """Parents of calls (sorted by start; ids from ``first_id``) inferred from their (start,
    end) times by the rule of :class:`~hakaru.dependencies.InferredDependencies`: a call's
    parents are the frontier of the calls that finished before it started (at or before its
    start instant), each finished call replacing its own parents there. The calls still in
    flight wait in a heap by end time (a call never ends before it starts); a test checks the
    parents against :class:`~hakaru.dependencies.InferredDependencies` replayed event by event.
    """
    parents: list[tuple[int, ...]] = []
    frontier: dict[int, None] = {}  # insertion-ordered set of call ids
    running: list[tuple[int, int]] = []  # (end, index) of the calls in flight
    push, pop, drop = heappush, heappop, frontier.pop
    for i, (start, end) in enumerate(times):
        while running and running[0][0] <= start:
            j = pop(running)[1]
            for p in parents[j]:
                drop(p, None)
            frontier[first_id + j] = None
        parents.append(tuple(frontier))
        push(running, (end if end > start else start, i))
    return parents
