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
from dataclasses import dataclass, fields
from operator import add as _add
from operator import attrgetter
from typing import Any

from hakaru.costs import COST_MODELS, CostModel, cost_model
from hakaru.types import CallRecord

__all__ = ["Ledger", "WorkSpan", "totals_of", "work_span"]

_COUNTS = ("attempts", "ok", "errors", "cached", "flagged")
_snapshot = attrgetter(*(f.name for f in fields(CallRecord)))
_STATUS_INDEX = {"ok": 1, "error": 2, "cached": 3, "flagged": 4}
_BUILTIN_NAMES = tuple(COST_MODELS)  # calls, forward_passes, aalp, linear, dollars, latency
_BUILTIN_FNS = tuple(COST_MODELS.values())


def _builtin_costs(r: CallRecord) -> list[float]:
    """All built-in cost models of one record at once (the same formulas as hakaru.costs)."""
    status = r.status
    if status == "cached":
        return [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    if status == "error":
        return [1.0, 0.0, 0.0, 0.0, 0.0, r.latency]
    n, o, m = r.input_tokens, r.output_tokens, r.size
    return [
        1.0,
        float(o),
        m * (o * n + o * (o - 1) / 2),
        m * (n + o),
        (n * r.price_in + o * r.price_out) / 1e6,
        r.latency,
    ]


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
        # Records are kept as plain tuples: the garbage collector stops tracking tuples of
        # atomic values, so a million kept records cost no collection time. ``records``
        # rebuilds CallRecord objects on demand.
        self._rows: list[tuple[Any, ...]] = []
        self._materialised: list[CallRecord] = []
        self._width = len(_COUNTS) + len(_TOKENS) + len(self.names)
        self._groups: dict[tuple[str, str], list[float]] = {}
        self._span = [0.0] * len(self.names)
        self._zero = (0.0,) * len(self.names)
        self._builtin = self.names == _BUILTIN_NAMES and all(
            COST_MODELS[n] is f for n, f in zip(self.names, _BUILTIN_FNS, strict=True)
        )

    @property
    def zero(self) -> tuple[float, ...]:
        """The finish vector of "no dependency"."""
        return self._zero

    def add(self, record: CallRecord, start: Sequence[float] | None = None) -> tuple[float, ...]:
        """Account one record whose dependencies finish at ``start`` (per cost model).

        Returns the record's own finish vector: ``start + cost(record)`` per cost model.
        """
        costs = _builtin_costs(record) if self._builtin else [fn(record) for fn in self._fns]
        finish = tuple(costs) if start is None else tuple(map(_add, start, costs))
        self._span = list(map(max, self._span, finish))
        key = (record.role, record.model)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = [0.0] * self._width
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

    def _row(self, values: Sequence[float]) -> dict[str, float]:
        keys = (*_COUNTS, *_TOKENS, *self.names)
        return {
            k: (int(v) if k in _COUNTS or k in _TOKENS else v)
            for k, v in zip(keys, values, strict=True)
        }

    def group_by(self, key: str = "role") -> dict[str, dict[str, float]]:
        """Per-role or per-model totals (``key`` is ``"role"`` or ``"model"``)."""
        index = {"role": 0, "model": 1}[key]
        acc: dict[str, list[float]] = {}
        for names, values in self._groups.items():
            row = acc.setdefault(names[index], [0.0] * self._width)
            for i, v in enumerate(values):
                row[i] += v
        return {name: self._row(vals) for name, vals in sorted(acc.items())}

    def work(self, cost: str) -> float:
        i = self.names.index(cost)
        return sum(vals[9 + i] for vals in self._groups.values())

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
        tot = [0.0] * self._width
        for vals in self._groups.values():
            for i, v in enumerate(vals):
                tot[i] += v
        row = self._row(tot)
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

    >>> from hakaru.types import CallRecord
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
