"""``hakaru diff A B``: what changed between two runs, two sweeps or two cassettes.

Each side is read into a :class:`Side`: totals (calls by status, tokens by class, dollars,
forward passes, AALP cost, work, span, depth), the same per role and per model, and for a sweep
the fitted complexity class of each metric against its swept parameter (per variant, with
:func:`hakaru.analysis.fit_series`). :func:`diff` sets two sides side by side, row by row, with
the relative change; :meth:`Diff.grew_over` names the totals that grew by more than a
percentage (``--fail-over``).

A sweep's totals are the sums over its points (span and depth included: the sum of the
points' critical paths). A cassette holds the answers but not the program's timing or its
awaits, so its span and depth are not known and are left out; its tokens are the usage the
answers reported (the proxy's readers of the OpenAI and Anthropic wire formats), priced with
:class:`hakaru.pricing.PriceBook`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal

from hakaru.analysis import fit_series
from hakaru.errors import ConfigError
from hakaru.ledger import Ledger, ledger_of
from hakaru.pricing import PriceBook, Prices, dollars_of
from hakaru.store import RunStore
from hakaru.types import CallRecord

__all__ = ["HEADLINE", "METRICS", "ClassChange", "Diff", "Row", "Side", "diff", "read_side"]

#: (label, key of the totals) in the order a diff shows them.
METRICS: Final[tuple[tuple[str, str], ...]] = (
    ("calls", "calls"),
    ("  ok", "ok_calls"),
    ("  failed", "failed_calls"),
    ("  cached", "cached_calls"),
    ("  flagged", "flagged_calls"),
    ("input tokens", "input_tokens"),
    ("  uncached", "uncached_input_tokens"),
    ("  cache read", "cache_read_tokens"),
    ("  cache write", "cache_write_tokens"),
    ("output tokens", "output_tokens"),
    ("  reasoning", "reasoning_tokens"),
    ("dollars", "dollars"),
    ("forward passes", "forward_passes"),
    ("AALP cost", "aalp_cost"),
    ("work (forward passes)", "work"),
    ("span (forward passes)", "span_forward_passes"),
    ("depth (calls)", "depth"),
)
#: The totals ``--fail-over`` watches: every metric but the breakdowns (indented above).
HEADLINE: Final[frozenset[str]] = frozenset(k for label, k in METRICS if not label.startswith(" "))
#: The metrics fitted per variant of a sweep.
FITTED: Final[tuple[str, ...]] = (
    "calls",
    "input_tokens",
    "output_tokens",
    "dollars",
    "forward_passes",
    "aalp_cost",
    "span_forward_passes",
    "depth",
)
Kind = Literal["run", "sweep", "cassette"]


@dataclass
class Side:
    """One side of a diff: what it is, and its figures."""

    label: str
    kind: Kind
    totals: dict[str, float]
    by_role: dict[str, dict[str, float]] = field(default_factory=dict)
    by_model: dict[str, dict[str, float]] = field(default_factory=dict)
    classes: dict[tuple[str, str], str] = field(default_factory=dict)  # (variant, metric)
    x_name: str = ""


@dataclass(frozen=True)
class Row:
    """One figure on both sides; ``change`` is relative (None: both 0 or not known)."""

    scope: str  # "total", "role qa", "model sim-small"
    metric: str
    a: float | None
    b: float | None

    @property
    def change(self) -> float | None:
        if self.a is None or self.b is None:
            return None
        if self.a == 0:
            return None if self.b == 0 else math.inf
        return (self.b - self.a) / abs(self.a)


@dataclass(frozen=True)
class ClassChange:
    """The fitted class of one metric of one variant, on both sides."""

    variant: str
    metric: str
    a: str | None
    b: str | None

    @property
    def changed(self) -> bool:
        return self.a != self.b


@dataclass
class Diff:
    """Two sides, row by row."""

    a: Side
    b: Side
    rows: list[Row]
    classes: list[ClassChange]

    def grew_over(self, percent: float) -> list[Row]:
        """The headline totals (:data:`HEADLINE`: not their breakdowns by status or class)
        that grew by more than ``percent`` % — from 0 to anything counts as growth."""
        return [
            r
            for r in self.rows
            if r.scope == "total"
            and r.metric in HEADLINE
            and r.change is not None
            and r.change * 100 > percent
        ]

    def as_json(self) -> dict[str, Any]:
        def num(v: float | None) -> float | str | None:
            return "inf" if v is not None and math.isinf(v) else v

        return {
            "a": {"label": self.a.label, "kind": self.a.kind},
            "b": {"label": self.b.label, "kind": self.b.kind},
            "rows": [
                {"scope": r.scope, "metric": r.metric, "a": r.a, "b": r.b, "change": num(r.change)}
                for r in self.rows
            ],
            "classes": [
                {"variant": c.variant, "metric": c.metric, "a": c.a, "b": c.b, "changed": c.changed}
                for c in self.classes
            ],
        }


# -- reading a side ----------------------------------------------------------------------------


def _flat(totals: Mapping[str, Any]) -> dict[str, float]:
    out = {k: float(v) for k, v in totals.items() if isinstance(v, (int, float))}
    if "forward_passes" in out:
        out["work"] = out["forward_passes"]
    return out


def _group(row: Mapping[str, float]) -> dict[str, float]:
    """A ledger group's row under the names of the totals."""
    out = {
        "calls": row["attempts"] - row["cached"],
        "ok_calls": row["ok"],
        "failed_calls": row["errors"],
        "cached_calls": row["cached"],
        "flagged_calls": row["flagged"],
        "uncached_input_tokens": row["input_tokens"]
        - row["cache_read_tokens"]
        - row["cache_write_tokens"],
    }
    for key in ("input_tokens", "output_tokens", "reasoning_tokens", "dollars", "forward_passes"):
        out[key] = row[key]
    for key in ("cache_read_tokens", "cache_write_tokens"):
        out[key] = row[key]
    out["aalp_cost"] = row["aalp"]
    out["work"] = row["forward_passes"]
    return out


def _groups(ledger: Ledger) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    return (
        {k: _group(v) for k, v in ledger.group_by("role").items()},
        {k: _group(v) for k, v in ledger.group_by("model").items()},
    )


def _is_cassette(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as fh:
        return b'"hakaru_cassette"' in fh.readline()


def read_side(ref: str, store: RunStore | None) -> Side:
    """A cassette file, or a run or sweep id (or unique prefix) in ``store``."""
    path = Path(ref)
    if _is_cassette(path):
        return _cassette_side(path)
    if path.suffix == ".jsonl" or path.exists():
        raise ConfigError(
            f"{ref} is a file but not a hakaru cassette (no 'hakaru_cassette' header on its "
            "first line). Give a cassette, or a run or sweep id from 'hakaru runs list'"
        )
    if store is None:
        raise ConfigError(f"{ref} is not a file; give --store to look it up as a run or sweep")
    info = store.run(ref)
    if info.kind == "sweep":
        return _sweep_side(store, info.id)
    records = list(store.calls(info.id))
    ledger = ledger_of(records, store.prices(info.id))
    role, model = _groups(ledger)
    label = f"run {info.id} ({info.kind} {info.name})".replace(" )", ")")
    return Side(label, "run", _flat(ledger.totals()), role, model)


def _sweep_side(store: RunStore, sweep_id: str) -> Side:
    from hakaru.sweeps import load_sweep

    sweep = load_sweep(store, sweep_id)
    swept = [k for k, v in sweep.spec.grid.items() if len(v) > 1] or list(sweep.spec.grid)
    if not swept:
        raise ConfigError(f"sweep {sweep.sweep_id} sweeps no parameter; nothing to fit")
    x_name = "n" if "n" in swept else swept[0]
    totals: dict[str, float] = {}
    records: list[CallRecord] = []
    prices: dict[str, Prices | None] = {}
    next_id = 0
    for point in sweep.points:
        for key, value in _flat(point.totals).items():
            totals[key] = totals.get(key, 0.0) + value
        if point.run_id:
            prices.update(store.prices(point.run_id))
            for rec in store.calls(point.run_id):  # ids made unique across the points' runs
                parents = tuple(p + next_id for p in rec.parents)
                records.append(_renumber(rec, rec.id + next_id, parents))
            next_id = max((r.id for r in records), default=next_id) + 1
    role, model = _groups(ledger_of(records, prices))
    where = {k: v[0] for k, v in sweep.spec.grid.items() if k != x_name and len(v) == 1}
    classes: dict[tuple[str, str], str] = {}
    for variant in dict.fromkeys(p.variant for p in sweep.points):
        for metric in FITTED:
            try:
                series = sweep.series(variant, x=x_name, y=metric, where=where)
                classes[variant, metric] = fit_series(series.x, series.y).complexity
            except ConfigError:  # too few sizes, or a metric zero everywhere
                continue
    label = f"sweep {sweep.sweep_id} ({sweep.spec.workload} {', '.join(sweep.spec.variants)})"
    return Side(label, "sweep", totals, role, model, classes, x_name)


def _renumber(rec: CallRecord, new_id: int, parents: tuple[int, ...]) -> CallRecord:
    return replace(rec, id=new_id, parents=parents)


def _cassette_side(path: Path) -> Side:
    from hakaru.backends.base import create_backend
    from hakaru.testing.cassette_records import cassette_records

    sim = create_backend("sim")  # the simulated models' prices, for cassettes of sim sessions
    book = PriceBook()
    records = cassette_records(path)
    prices = {m: book.resolve(m, sim.model_spec(m)) for m in {r.model for r in records}}
    priced = []
    for r in records:
        priced.append(replace(r, dollars=dollars_of(prices[r.model], r)))
    ledger = ledger_of(priced, prices)
    totals = _flat(ledger.totals())
    for unknown in ("span_forward_passes", "depth"):
        totals.pop(unknown, None)
    role, model = _groups(ledger)
    return Side(f"cassette {path}", "cassette", totals, role, model)


# -- the diff ----------------------------------------------------------------------------------


def _rows(scope: str, a: Mapping[str, float], b: Mapping[str, float]) -> Iterable[Row]:
    for _, key in METRICS:
        if a.get(key) or b.get(key):  # a figure that is 0 (or unknown) on both sides is left out
            yield Row(scope, key, a.get(key), b.get(key))


def diff(a: Side, b: Side) -> Diff:
    """Set ``a`` and ``b`` side by side: totals, per role, per model, fitted classes."""
    rows = list(_rows("total", a.totals, b.totals))
    for name in sorted(set(a.by_role) | set(b.by_role)):
        rows += _rows(f"role {name}", a.by_role.get(name, {}), b.by_role.get(name, {}))
    for name in sorted(set(a.by_model) | set(b.by_model)):
        rows += _rows(f"model {name}", a.by_model.get(name, {}), b.by_model.get(name, {}))
    classes: list[ClassChange] = []
    va = list(dict.fromkeys(v for v, _ in a.classes))
    vb = list(dict.fromkeys(v for v, _ in b.classes))
    # Same variants pair by name; one variant on each side (roleplay vs focused) pair together.
    pairs = [(v, v) for v in va if v in vb] or (
        [(va[0], vb[0])] if len(va) == 1 and len(vb) == 1 else []
    )
    for left, right in pairs:
        name = left if left == right else f"{left} → {right}"
        for metric in FITTED:
            ca, cb = a.classes.get((left, metric)), b.classes.get((right, metric))
            if ca is not None or cb is not None:
                classes.append(ClassChange(name, metric, ca, cb))
    return Diff(a, b, rows, classes)
