"""The ledger: totals, per-role and per-model shares, work and span of every call.

Work is the sum of a cost over all records; span is the heaviest chain of dependent calls (the
critical path) under the same cost; depth is the span counted in calls; parallelism = work/span.

The ledger keeps its aggregates *online*: each record arrives with the finish vector of its
happens-before frontier (the largest finish time, per cost model, among the calls it depends on),
so span needs no lookup of old records and memory stays bounded when ``keep_records=False`` (a
million-step run streams its records to the store instead). :func:`work_span` computes the same
figures offline from any list of records, for any cost model; tests check that both agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import add as _add
from operator import attrgetter
from typing import Any

from hakaru.costs import COST_MODELS, CostModel, cost_model
from hakaru.pricing.prices import TOKEN_CLASSES, Prices, class_tokens
from hakaru.types import RECORD_FIELDS, CallRecord, RecordRow

__all__ = ["Ledger", "WorkSpan", "ledger_of", "totals_of", "work_span"]

_COUNTS = ("attempts", "ok", "errors", "cached", "flagged")
_TOKENS = (
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
)
_snapshot = attrgetter(*RECORD_FIELDS)  # a record → its row
# Where add_row finds each field it reads in a record's row.
_ROLE, _MODEL, _STATUS, _SIZE, _LATENCY, _DOLLARS = map(
    RECORD_FIELDS.index, ("role", "model", "status", "size", "latency", "dollars")
)
_IN, _OUT, _REASONING, _CREAD, _CWRITE = map(RECORD_FIELDS.index, _TOKENS)
_STATUS_INDEX = {"ok": 1, "error": 2, "cached": 3, "flagged": 4}
_BUILTIN_NAMES = tuple(COST_MODELS)  # calls, forward_passes, aalp, linear, dollars, latency
_BUILTIN_FNS = tuple(COST_MODELS.values())

# A group's sums (one list per role, model and size). The first _SHARED entries are kept by
# every ledger: the counts, the tokens of every attempt, and the executed calls without a
# known price. A ledger of the built-in cost models then keeps exact integer sums:
_SHARED = 11  # attempts, ok, errors, cached, flagged, 5 token counts, unpriced calls
_UNPRICED = 10
# _SHARED + 0: calls sent (not cached)       + 1: output tokens of executed calls (= o)
#          + 2: Σ o·n + o(o−1)/2 (AALP / m)  + 3: Σ n + o (linear / m)
#          + 4: picodollars of priced calls  + 5: latency in nanoseconds
#          + 6..9: input, reasoning, cache-read, cache-write tokens of executed calls
#          + 10..14: picodollars per token class of calls with tiered prices
_EXEC = _SHARED + 6
_TIERED = _SHARED + 10
_WIDTH = _SHARED + 15
_PICO = 1e12  # picodollars per USD: dollars are summed as exact integers of these


@dataclass(frozen=True, slots=True)
class WorkSpan:
    """Work, span and depth of a set of calls under one cost model."""

    work: float
    span: float
    depth: int  # calls on the heaviest chain counted in calls

    @property
    def parallelism(self) -> float:
        """work/span; 0 when nothing was spent."""
        return self.work / self.span if self.span > 0 else 0.0


class Ledger:
    """Aggregates call records as they arrive.

    ``prices`` (model → :class:`~hakaru.pricing.Prices`) lets the totals split dollars by token
    class; whoever prices the records (the session, the proxy, capture) tells the ledger with
    :meth:`set_prices`. Without them the totals still hold each record's dollars.

    >>> ledger = Ledger()
    >>> ledger.totals()["calls"]
    0
    """

    def __init__(
        self,
        *,
        keep_records: bool = True,
        cost_models: Sequence[str] | None = None,
        prices: Mapping[str, Prices | None] | None = None,
    ):
        self.names: tuple[str, ...] = tuple(cost_models or COST_MODELS)
        self._fns: tuple[CostModel, ...] = tuple(cost_model(n) for n in self.names)
        self.keep_records = keep_records
        # Records are kept as rows (plain tuples, see hakaru.types.RecordRow): a million kept
        # records cost no collection time. ``records`` rebuilds CallRecord objects on demand.
        self._rows: list[RecordRow] = []
        self._materialised: list[CallRecord] = []
        self._groups: dict[tuple[Any, ...], list[Any]] = {}
        self._span = [0.0] * len(self.names)
        self._zero = (0.0,) * len(self.names)
        self._builtin = self.names == _BUILTIN_NAMES and all(
            COST_MODELS[n] is f for n, f in zip(self.names, _BUILTIN_FNS, strict=True)
        )
        self._width = _WIDTH if self._builtin else _SHARED + len(self.names)
        self.prices: dict[str, Prices | None] = {}
        self._tiered: set[str] = set()
        for model, known in (prices or {}).items():
            self.set_prices(model, known)

    @property
    def zero(self) -> tuple[float, ...]:
        """The finish vector of "no dependency"."""
        return self._zero

    def set_prices(self, model: str, prices: Prices | None) -> None:
        """The prices the records of ``model`` were priced at (for the split by class)."""
        self.prices[model] = prices
        if prices is not None and prices.tiers:
            self._tiered.add(model)
        else:
            self._tiered.discard(model)

    def add(self, record: CallRecord, start: Sequence[float] | None = None) -> tuple[float, ...]:
        """Account one record whose dependencies finish at ``start`` (per cost model).

        Returns the record's own finish vector: ``start + cost(record)`` per cost model.
        """
        return self.add_row(_snapshot(record), start)

    def add_row(self, row: RecordRow, start: Sequence[float] | None = None) -> tuple[float, ...]:
        """:meth:`add` for a record given as its row (:func:`~hakaru.types.record_row`, what
        the session builds on its hot path: no :class:`CallRecord` object is needed)."""
        if not self._builtin:
            return self._add_custom(CallRecord(*row), start)
        # The built-in cost models, unrolled (this runs once per call; the formulas are those
        # of hakaru.costs, which tests check against this): calls, forward passes = o,
        # AALP = m·(o·n + o(o−1)/2), linear = m·(n + o), dollars, latency.
        s0, s1, s2, s3, s4, s5 = self._zero if start is None else start
        status = row[_STATUS]
        n, o = row[_IN], row[_OUT]
        # Exact integer sums per (role, model, size): totals then do not depend on the order
        # in which calls finish, so the same run gives bit-identical figures with or without a
        # store, locally or on Ray.
        key = (row[_ROLE], row[_MODEL], row[_SIZE])
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = [0] * self._width
        group[0] += 1
        group[_STATUS_INDEX[status]] += 1
        group[5] += n
        group[6] += o
        group[7] += row[_REASONING]
        group[8] += row[_CREAD]
        group[9] += row[_CWRITE]
        if status == "cached":  # no primitive ran: costs nothing
            finish: tuple[float, ...] = (s0, s1, s2, s3, s4, s5)
        else:
            latency = row[_LATENCY]  # seconds
            group[11] += 1
            group[16] += round(latency * 1e9)  # nanoseconds
            if status == "error":
                finish = (s0 + 1.0, s1, s2, s3, s4, s5 + latency)
            else:
                m = row[_SIZE]
                dollars = row[_DOLLARS]
                group[12] += o
                group[13] += o * n + o * (o - 1) // 2
                group[14] += n + o
                group[17] += n
                group[18] += row[_REASONING]
                group[19] += row[_CREAD]
                group[20] += row[_CWRITE]
                if dollars is None:
                    group[_UNPRICED] += 1
                    dollars = 0.0
                else:
                    group[15] += round(dollars * _PICO)
                    if self._tiered and row[_MODEL] in self._tiered:
                        self._add_tiered(group, row)
                finish = (
                    s0 + 1.0,
                    s1 + o,
                    s2 + m * (o * n + o * (o - 1) / 2),
                    s3 + m * (n + o),
                    s4 + dollars,
                    s5 + latency,
                )
        span = self._span  # unrolled: a loop over six entries costs four times as much
        f0, f1, f2, f3, f4, f5 = finish
        if f0 > span[0]:
            span[0] = f0
        if f1 > span[1]:
            span[1] = f1
        if f2 > span[2]:
            span[2] = f2
        if f3 > span[3]:
            span[3] = f3
        if f4 > span[4]:
            span[4] = f4
        if f5 > span[5]:
            span[5] = f5
        if self.keep_records:
            self._rows.append(row)
        return finish

    def _add_tiered(self, group: list[Any], row: RecordRow) -> None:
        """A priced call of a model with tiered prices: its dollars per class, per call (the
        tier depends on the call's own input)."""
        prices = self.prices[row[_MODEL]]
        assert prices is not None
        n = row[_IN]
        parts = prices.split(
            n, class_tokens(n, row[_OUT], row[_REASONING], row[_CREAD], row[_CWRITE])
        )
        for i, usd in enumerate(parts):
            group[_TIERED + i] += round(usd * _PICO)

    def _add_custom(self, record: CallRecord, start: Sequence[float] | None) -> tuple[float, ...]:
        """:meth:`add` for a ledger with its own cost models (float sums per role and model)."""
        costs = [fn(record) for fn in self._fns]
        finish = tuple(costs) if start is None else tuple(map(_add, start, costs))
        span = self._span
        for i, f in enumerate(finish):
            if f > span[i]:
                span[i] = f
        key = (record.role, record.model, record.size)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = [0] * self._width
        group[0] += 1
        group[_STATUS_INDEX[record.status]] += 1
        group[5] += record.input_tokens
        group[6] += record.output_tokens
        group[7] += record.reasoning_tokens
        group[8] += record.cache_read_tokens
        group[9] += record.cache_write_tokens
        if record.executed and record.dollars is None:
            group[_UNPRICED] += 1
        group[_SHARED:] = map(_add, group[_SHARED:], costs)
        if self.keep_records:
            self._rows.append(_snapshot(record))
        return finish

    @property
    def records(self) -> list[CallRecord]:
        """The kept records, in arrival order (empty when ``keep_records=False``)."""
        done = self._materialised
        if len(done) < len(self._rows):
            done.extend(CallRecord(*row) for row in self._rows[len(done) :])
        return done

    # -- reading -----------------------------------------------------------------------------

    def _costs(self, key: tuple[Any, ...], vals: Sequence[float]) -> list[float]:
        """A group's work under each cost model, from its (exact) sums."""
        if not self._builtin:
            return list(vals[_SHARED:])
        size = key[2]
        b = _SHARED
        return [
            float(vals[b]),
            float(vals[b + 1]),
            size * vals[b + 2],
            size * vals[b + 3],
            vals[b + 4] / _PICO,
            vals[b + 5] / 1e9,
        ]

    def _rows_by(self, index: int | None) -> dict[str, list[float]]:
        """Counts, tokens and costs summed per role (0), per model (1) or in all (None).

        Groups are summed in sorted order, so the floats come out the same every time.
        """
        acc: dict[str, list[float]] = {}
        for key in sorted(self._groups, key=repr):
            vals = self._groups[key]
            name = "" if index is None else key[index]
            row = acc.get(name)
            if row is None:
                row = acc[name] = [0] * _SHARED + [0.0] * len(self.names)
            for i in range(_SHARED):
                row[i] += vals[i]
            for i, c in enumerate(self._costs(key, vals)):
                row[_SHARED + i] += c
        return acc

    def _row(self, values: Sequence[float]) -> dict[str, float]:
        keys = (*_COUNTS, *_TOKENS, "unpriced_calls", *self.names)
        return dict(zip(keys, values, strict=True))

    def _class_dollars(self) -> list[float] | None:
        """USD per token class (:data:`~hakaru.pricing.TOKEN_CLASSES` order) of every priced
        call, or ``None`` when a priced group's prices are not known to this ledger."""
        if not self._builtin:
            return None
        out = [0.0] * len(TOKEN_CLASSES)
        for key in sorted(self._groups, key=repr):
            vals = self._groups[key]
            executed = vals[1] + vals[4]  # ok + flagged
            if executed == vals[_UNPRICED]:  # no priced call in the group
                continue
            prices = self.prices.get(key[1])
            if prices is None:
                return None
            if prices.tiers:
                parts = [v / _PICO for v in vals[_TIERED : _TIERED + len(TOKEN_CLASSES)]]
            else:
                n, o = vals[_EXEC], vals[_SHARED + 1]
                reasoning, read, write = vals[_EXEC + 1], vals[_EXEC + 2], vals[_EXEC + 3]
                counts = (n - read - write, read, write, o - reasoning, reasoning)
                parts = [c * r / 1e6 for c, r in zip(counts, prices.rates, strict=True)]
            for i, usd in enumerate(parts):
                out[i] += usd
        return out

    def group_by(self, key: str = "role") -> dict[str, dict[str, float]]:
        """Per-role or per-model totals (``key`` is ``"role"`` or ``"model"``)."""
        index = {"role": 0, "model": 1}[key]
        return {name: self._row(vals) for name, vals in sorted(self._rows_by(index).items())}

    def work(self, cost: str) -> float:
        i = self.names.index(cost)
        rows = self._rows_by(None)
        return rows[""][_SHARED + i] if rows else 0.0

    def span(self, cost: str) -> float:
        return self._span[self.names.index(cost)]

    def work_span(self, cost: str) -> WorkSpan:
        return WorkSpan(self.work(cost), self.span(cost), int(self.span("calls")))

    def totals(self) -> dict[str, Any]:
        """Flat totals, with the key names of ``hakaru run --json``.

        ``calls`` counts attempts sent to a backend (failed ones included, cache hits not);
        ``sim_seconds`` is the span under simulated latency (the run's simulated wall time with
        unbounded concurrency). Tokens by class: ``input_tokens`` (every prompt token) is
        ``uncached_input_tokens + cache_read_tokens + cache_write_tokens``; ``output_tokens``
        (every generated token) includes ``reasoning_tokens``. ``dollars`` sums the calls whose
        price is known; ``unpriced_calls`` counts executed calls whose model has no known
        price, and ``dollars_complete`` is false when there are any. ``dollars_<class>`` split
        the dollars by token class (``dollars_output``: output tokens other than reasoning)
        when the ledger knows the prices (:meth:`set_prices`).
        """
        rows = self._rows_by(None)
        row = self._row(rows.get("", [0] * _SHARED + [0.0] * len(self.names)))
        out: dict[str, Any] = {
            "calls": row["attempts"] - row["cached"],
            "ok_calls": row["ok"],
            "failed_calls": row["errors"],
            "cached_calls": row["cached"],
            "flagged_calls": row["flagged"],
            "input_tokens": row["input_tokens"],
            "output_tokens": row["output_tokens"],
            "reasoning_tokens": row["reasoning_tokens"],
            "cache_read_tokens": row["cache_read_tokens"],
            "cache_write_tokens": row["cache_write_tokens"],
            "uncached_input_tokens": row["input_tokens"]
            - row["cache_read_tokens"]
            - row["cache_write_tokens"],
        }
        for name in self.names:
            label = {"aalp": "aalp_cost"}.get(name, name)
            if name == "calls":
                continue
            out[label] = row[name]
            out[f"span_{name}"] = self.span(name)
        out["unpriced_calls"] = int(row["unpriced_calls"])
        out["dollars_complete"] = row["unpriced_calls"] == 0
        by_class = self._class_dollars()
        if by_class is not None:
            for name, usd in zip(TOKEN_CLASSES, by_class, strict=True):
                out[f"dollars_{name}"] = usd
        out["depth"] = int(self.span("calls")) if "calls" in self.names else 0
        if "latency" in self.names:
            out["sim_seconds"] = self.span("latency")
        if "forward_passes" in self.names and out["span_forward_passes"] > 0:
            out["parallelism"] = out["forward_passes"] / out["span_forward_passes"]
        return out


def work_span(records: Iterable[CallRecord], cost: str | CostModel = "forward_passes") -> WorkSpan:
    """Work, span and depth of recorded calls under ``cost``, from their parent links.

    Parents missing from ``records`` count as finished at 0.

    >>> from hakaru.types import RECORD_FIELDS, CallRecord, RecordRow
    >>> a = CallRecord(1, (), "r", "m", output_tokens=5)
    >>> b = CallRecord(2, (1,), "r", "m", output_tokens=7)
    >>> c = CallRecord(3, (), "r", "m", output_tokens=4)
    >>> work_span([a, b, c])
    WorkSpan(work=16.0, span=12.0, depth=2)
    """
    fn = cost_model(cost) if isinstance(cost, str) else cost
    calls = COST_MODELS["calls"]
    finish: dict[int, tuple[float, float]] = {}
    work = 0.0
    best = (0.0, 0.0)
    for rec in sorted(records, key=lambda r: r.id):
        c = fn(rec)
        work += c
        start, depth = 0.0, 0.0
        for p in rec.parents:
            f = finish.get(p)
            if f is not None:
                start = max(start, f[0])
                depth = max(depth, f[1])
        own = (start + c, depth + calls(rec))
        finish[rec.id] = own
        best = (max(best[0], own[0]), max(best[1], own[1]))
    return WorkSpan(work, best[0], int(best[1]))


def totals_of(
    records: Iterable[CallRecord], prices: Mapping[str, Prices | None] | None = None
) -> dict[str, Any]:
    """Ledger totals of stored records (span recomputed from their parent links); ``prices``
    (model → prices, e.g. :meth:`hakaru.store.RunStore.prices`) splits the dollars by class.

    A list is sorted by call id first; any other iterable must come in call-id order (as
    :meth:`hakaru.store.RunStore.calls` streams it) and is read once, in bounded memory
    (:class:`~hakaru.dag.DagReplay`), so a million-call run is never held as records.
    """
    return ledger_of(records, prices).totals()


def ledger_of(
    records: Iterable[CallRecord], prices: Mapping[str, Prices | None] | None = None
) -> Ledger:
    """A ledger (records not kept) of stored records, span recomputed from their parent
    links, in the order and memory bounds of :func:`totals_of`; :meth:`Ledger.group_by` gives
    the shares per role or model."""
    from hakaru.dag import DagReplay

    if isinstance(records, Sequence):
        records = sorted(records, key=lambda r: r.id)
    ledger = Ledger(keep_records=False, prices=prices)
    with DagReplay(len(ledger.names)) as dag:
        for rec in records:
            start, level, best = dag.starts(rec.parents)
            dag.put(rec.id, ledger.add(rec, start), level, best, rec.role)
    return ledger
