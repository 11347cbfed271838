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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import add as _add
from operator import attrgetter
from typing import Any

from hakaru.costs import COST_MODELS, CostModel, cost_model
from hakaru.types import RECORD_FIELDS, CallRecord, RecordRow

__all__ = ["Ledger", "WorkSpan", "totals_of", "work_span"]

_COUNTS = ("attempts", "ok", "errors", "cached", "flagged")
_snapshot = attrgetter(*RECORD_FIELDS)  # a record → its row
# Where add_row finds each field it reads in a record's row.
_ROLE, _MODEL, _STATUS, _SIZE, _LATENCY = map(
    RECORD_FIELDS.index, ("role", "model", "status", "size", "latency")
)
_IN, _OUT, _REASONING, _CACHED = map(
    RECORD_FIELDS.index, ("input_tokens", "output_tokens", "reasoning_tokens", "cached_tokens")
)
_PRICE_IN, _PRICE_OUT = RECORD_FIELDS.index("price_in"), RECORD_FIELDS.index("price_out")
_STATUS_INDEX = {"ok": 1, "error": 2, "cached": 3, "flagged": 4}
_BUILTIN_NAMES = tuple(COST_MODELS)  # calls, forward_passes, aalp, linear, dollars, latency
_BUILTIN_FNS = tuple(COST_MODELS.values())


_TOKENS = ("input_tokens", "output_tokens", "reasoning_tokens", "cached_tokens")


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

    >>> ledger = Ledger()
    >>> ledger.totals()["calls"]
    0
    """

    def __init__(self, *, keep_records: bool = True, cost_models: Sequence[str] | None = None):
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
        # counts and tokens (9), then per cost model: builtin → 6 exact integer sums
        # (calls, output tokens, Σ(o·n + o(o−1)/2), Σ(n+o), Σn, latency in ns); else floats
        self._width = 9 + (6 if self._builtin else len(self.names))

    @property
    def zero(self) -> tuple[float, ...]:
        """The finish vector of "no dependency"."""
        return self._zero

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
        price_in, price_out = row[_PRICE_IN], row[_PRICE_OUT]
        # Exact integer sums per (role, model, size, prices): totals then do not depend on the
        # order in which calls finish, so the same run gives bit-identical figures with or
        # without a store, locally or on Ray.
        key = (row[_ROLE], row[_MODEL], row[_SIZE], price_in, price_out)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = [0] * self._width
        group[0] += 1
        group[_STATUS_INDEX[status]] += 1
        group[5] += n
        group[6] += o
        group[7] += row[_REASONING]
        group[8] += row[_CACHED]
        if status == "cached":  # no primitive ran: costs nothing
            finish: tuple[float, ...] = (s0, s1, s2, s3, s4, s5)
        else:
            latency = row[_LATENCY]  # seconds
            group[9] += 1
            group[14] += round(latency * 1e9)  # nanoseconds
            if status == "error":
                finish = (s0 + 1.0, s1, s2, s3, s4, s5 + latency)
            else:
                m = row[_SIZE]
                group[10] += o
                group[11] += o * n + o * (o - 1) // 2
                group[12] += n + o
                group[13] += n
                finish = (
                    s0 + 1.0,
                    s1 + o,
                    s2 + m * (o * n + o * (o - 1) / 2),
                    s3 + m * (n + o),
                    s4 + (n * price_in + o * price_out) / 1e6,
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

    def _add_custom(self, record: CallRecord, start: Sequence[float] | None) -> tuple[float, ...]:
        """:meth:`add` for a ledger with its own cost models (float sums per role and model)."""
        costs = [fn(record) for fn in self._fns]
        finish = tuple(costs) if start is None else tuple(map(_add, start, costs))
        span = self._span
        for i, f in enumerate(finish):
            if f > span[i]:
                span[i] = f
        key = (record.role, record.model)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = [0] * self._width
        group[0] += 1
        group[_STATUS_INDEX[record.status]] += 1
        group[5] += record.input_tokens
        group[6] += record.output_tokens
        group[7] += record.reasoning_tokens
        group[8] += record.cached_tokens
        group[9:] = map(_add, group[9:], costs)
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
            return list(vals[9:])
        size, price_in, price_out = key[2], key[3], key[4]
        return [
            float(vals[9]),
            float(vals[10]),
            size * vals[11],
            size * vals[12],
            (vals[13] * price_in + vals[10] * price_out) / 1e6,
            vals[14] / 1e9,
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
                row = acc[name] = [0] * 9 + [0.0] * len(self.names)
            for i in range(9):
                row[i] += vals[i]
            for i, c in enumerate(self._costs(key, vals)):
                row[9 + i] += c
        return acc

    def _row(self, values: Sequence[float]) -> dict[str, float]:
        keys = (*_COUNTS, *_TOKENS, *self.names)
        return dict(zip(keys, values, strict=True))

    def group_by(self, key: str = "role") -> dict[str, dict[str, float]]:
        """Per-role or per-model totals (``key`` is ``"role"`` or ``"model"``)."""
        index = {"role": 0, "model": 1}[key]
        return {name: self._row(vals) for name, vals in sorted(self._rows_by(index).items())}

    def work(self, cost: str) -> float:
        i = self.names.index(cost)
        rows = self._rows_by(None)
        return rows[""][9 + i] if rows else 0.0

    def span(self, cost: str) -> float:
        return self._span[self.names.index(cost)]

    def work_span(self, cost: str) -> WorkSpan:
        return WorkSpan(self.work(cost), self.span(cost), int(self.span("calls")))

    def totals(self) -> dict[str, Any]:
        """Flat totals, with the key names of ``hakaru run --json``.

        ``calls`` counts attempts sent to a backend (failed ones included, cache hits not);
        ``sim_seconds`` is the span under simulated latency (the run's simulated wall time with
        unbounded concurrency).
        """
        rows = self._rows_by(None)
        row = self._row(rows.get("", [0] * 9 + [0.0] * len(self.names)))
        out: dict[str, Any] = {
            "calls": row["attempts"] - row["cached"],
            "ok_calls": row["ok"],
            "failed_calls": row["errors"],
            "cached_calls": row["cached"],
            "flagged_calls": row["flagged"],
            "input_tokens": row["input_tokens"],
            "output_tokens": row["output_tokens"],
            "reasoning_tokens": row["reasoning_tokens"],
        }
        for name in self.names:
            label = {"aalp": "aalp_cost"}.get(name, name)
            if name == "calls":
                continue
            out[label] = row[name]
            out[f"span_{name}"] = self.span(name)
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


def totals_of(records: Iterable[CallRecord]) -> dict[str, Any]:
    """Ledger totals of stored records (span recomputed from their parent links)."""
    ledger = Ledger(keep_records=False)
    finish: dict[int, tuple[float, ...]] = {}
    for rec in sorted(records, key=lambda r: r.id):
        start = list(ledger.zero)
        for p in rec.parents:
            f = finish.get(p)
            if f is not None:
                start = [max(a, b) for a, b in zip(start, f, strict=True)]
        finish[rec.id] = ledger.add(rec, start)
    return ledger.totals()
