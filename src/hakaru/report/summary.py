"""What a report says about sweeps: fitted classes, comparisons and claims, per study.

Design choice: a report is computed once, as plain records, and then *shown* three ways — the
HTML sections (:mod:`hakaru.report.sections`), the terminal tables (``hakaru report``, ``hakaru
demo``) and ``--json``. So every figure in any of them comes from here (and, for single runs,
from :mod:`hakaru.report.run_summary`), and they cannot disagree.

A **study** is one question asked of a sweep: how does each variant's cost grow in one swept
parameter ``x``, the others held fixed (``where``)? Its answer (:class:`StudyResult`) holds a fit
of every metric worth showing (:data:`METRICS`) for each variant — fitted on every repeat, not on
the means, so that the prediction intervals see the scatter —, the comparison of the two designs
on the study's primary metric (the whole system's AALP cost by default; one role's share when
asked), the check against the paper's claimed improvement when the workload has one, and where the
money goes (cost per role at the largest size). :func:`default_studies` chooses the studies of any
sweep; the demo uses the same.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

from hakaru.errors import ConfigError
from hakaru.workloads.base import get_workload

if TYPE_CHECKING:
    from hakaru.analysis.claims import ClaimCheck
    from hakaru.analysis.compare import Comparison
    from hakaru.analysis.result import FitResult
    from hakaru.sweeps import PointResult, SweepResult

__all__ = [
    "METRICS",
    "MetricFit",
    "Study",
    "StudyResult",
    "analyze",
    "default_studies",
    "exactness",
    "format_size",
    "format_value",
]

#: Metrics a sweep report fits and plots: totals key → label.
METRICS: Final[dict[str, str]] = {
    "calls": "calls",
    "input_tokens": "input tokens",
    "output_tokens": "output tokens",
    "forward_passes": "forward passes",
    "aalp_cost": "AALP cost",
    "dollars": "USD",
    "depth": "depth (calls)",
    "span_forward_passes": "span (forward passes)",
    "sim_seconds": "simulated time (s)",
}

_ROLE_KEY = {"aalp_cost": "aalp"}  # totals key → key of a ledger group row
_ROLE_COLUMNS = ("calls", "input_tokens", "output_tokens", "forward_passes", "aalp", "dollars")


# -- numbers as people read them ----------------------------------------------------------------


def format_value(value: float | None, log10: float | None = None) -> str:
    """A cost as text: ``1,234``, ``3.5e+09``, or ``10^301,030`` past the float range."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isinf(value):
        if log10 is None:
            return "∞"
        return f"10^{log10:,.0f}" if log10 >= 1e4 else f"10^{log10:.1f}"
    if value == 0:
        return "0"
    if abs(value) >= 1e7 or abs(value) < 1e-3:
        return f"{value:.3g}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def format_size(n: float) -> str:
    """A problem size: ``64``, ``1.5``, ``10⁶`` for powers of ten from a million on."""
    if n >= 1e6 and float(math.log10(n)).is_integer():
        return "10" + str(int(math.log10(n))).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return format_value(n)


# -- sweeps: studies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Study:
    """One question asked of a sweep: how each variant's cost grows in ``x``.

    ``where`` fixes the other swept parameters. ``metric`` (a totals key) is what the two designs
    are compared on; with ``role`` it is that role's share only. ``claim`` overrides the paper's
    claimed improvement (``None``: the workload's, when ``x`` appears in it; ``""``: none).
    ``variants`` are (optimistic, optimized); by default the workload's pair.
    """

    x: str
    where: Mapping[str, int] = field(default_factory=dict)
    metric: str = "aalp_cost"
    role: str | None = None
    claim: str | None = None
    variants: tuple[str, str] | None = None
    title: str = ""


@dataclass(frozen=True)
class MetricFit:
    """One metric of one variant against ``x``: every measured row and its fit (or why none)."""

    variant: str
    metric: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    fit: FitResult | None
    problem: str | None = None

    def means(self) -> dict[float, float]:
        """The mean over repeats at each size, ascending."""
        groups: dict[float, list[float]] = {}
        for x, y in zip(self.x, self.y, strict=True):
            groups.setdefault(x, []).append(y)
        return {x: sum(v) / len(v) for x, v in sorted(groups.items())}

    def to_dict(self) -> dict[str, Any]:
        fit = self.fit
        return {
            "class": fit.complexity if fit else None,
            "formula": fit.best.formula() if fit else None,
            "r2": fit.r2 if fit else None,
            "runner_up": (fit.runner_up.complexity if fit and fit.runner_up else None),
            "ambiguous": fit.ambiguous if fit else None,
            "warning": fit.warning if fit else self.problem,
        }


@dataclass(frozen=True)
class StudyResult:
    """A study answered: fits per metric and variant, the comparison, the claim, role shares."""

    workload: str
    sweep_id: str
    study: Study
    labels: tuple[str, ...]  # the variants shown; (optimistic, optimized) when compared
    fits: dict[str, dict[str, MetricFit]]  # metric → variant → fit
    primary: dict[str, MetricFit]  # variant → the compared metric (of ``study.role`` if set)
    comparison: Comparison | None
    claim: ClaimCheck | None
    claim_text: str | None
    roles: dict[str, dict[str, dict[str, float]]]  # variant → role → figures at the largest x
    role_size: float  # the x the role figures are at
    correct: dict[str, tuple[int, int]]  # variant → (right, runs)
    errors: int  # points that ended in an error (left out of every fit)
    notes: tuple[str, ...]
    backend: str = "sim"  # where the sweep ran: "sim" makes every verdict exact by construction

    @property
    def x(self) -> str:
        return self.study.x

    @property
    def metric_label(self) -> str:
        label = METRICS.get(self.study.metric, self.study.metric)
        return f"{self.study.role} {label}" if self.study.role else label

    @property
    def title(self) -> str:
        if self.study.title:
            return self.study.title
        fixed = ", ".join(f"{k}={v}" for k, v in self.study.where.items())
        share = f", {self.study.role}'s share" if self.study.role else ""
        return f"{self.workload} over {self.x}" + (f" ({fixed}{share})" if fixed or share else "")

    @property
    def cost_label(self) -> str:
        """Whose cost the study compares: ``system`` or the role, e.g. ``developer``."""
        return self.study.role or "system"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``studies`` entries of ``hakaru demo --json``)."""
        c = self.comparison
        return {
            "workload": self.workload,
            "sweep_id": self.sweep_id,
            "title": self.title,
            "x": self.x,
            "where": dict(self.study.where),
            "metric": self.study.metric,
            "role": self.study.role,
            "variants": {
                v: {
                    **self.primary[v].to_dict(),
                    "correct": list(self.correct.get(v, (0, 0))),
                    "classes": {m: _class(fits.get(v)) for m, fits in self.fits.items()},
                }
                for v in self.labels
                if v in self.primary
            },
            "ratio_of": list(c.ratio_of) if c else None,
            "ratio_class": c.ratio.complexity if c else None,
            "ratio_label": c.ratio.label if c else None,
            "ratio_formula": c.ratio.formula() if c else None,
            "ratio_limit": c.ratio.to_dict()["limit"] if c else None,
            "direction": c.direction(self.x) if c else None,
            "crossover": c.crossover if c else None,
            "crossovers": list(c.crossovers) if c else [],
            "cheaper_at_large_n": c.cheaper_at_large_n if c else None,
            "predictions": [
                {
                    "n": p.n,
                    c.labels[0]: p.a.to_dict(),
                    c.labels[1]: p.b.to_dict(),
                    "ratio": p.ratio.to_dict(),
                }
                for p in c.predictions
            ]
            if c
            else [],
            "claim": ({**self.claim.to_dict(), "claim": self.claim_text} if self.claim else None),
            "roles": self.roles,
            "role_size": self.role_size,
            "errors": self.errors,
            "notes": list(self.notes),
            "backend": self.backend,
            "exact_by_construction": self.backend == "sim",
        }


def exactness(studies: Sequence[StudyResult]) -> str | None:
    """``claims.EXACT_ON_SIM`` if a study on the simulated LLM checked a claim, else None."""
    from hakaru.analysis.claims import EXACT_ON_SIM

    return EXACT_ON_SIM if any(r.claim and r.backend == "sim" for r in studies) else None


def _class(series: MetricFit | None) -> str | None:
    return series.fit.complexity if series is not None and series.fit is not None else None


def _claim_for(workload: str, x: str, study: Study) -> str | None:
    from hakaru.analysis.claims import PAPER_CLAIMS

    if study.claim is not None:
        return study.claim or None
    paper = PAPER_CLAIMS.get(workload)
    if paper is None or x not in re.findall(r"[a-z][a-z_]*", paper.claim):
        return None
    return paper.claim


def default_studies(sweep: SweepResult) -> list[Study]:
    """One study per swept parameter with at least 3 values, the others at their largest value.

    The largest values are where asymptotic behaviour shows first. Each compares the whole
    system's AALP cost; when the workload's claim is about one role's share (debugging's is the
    developer's, ``PaperClaim.role``), the study is repeated on that share.
    """
    from hakaru.analysis.claims import PAPER_CLAIMS

    order = [p.name for p in get_workload(sweep.spec.workload).params]
    grid = {k: sweep.spec.grid[k] for k in sorted(sweep.spec.grid, key=order.index)}
    studies = []
    for x, values in grid.items():
        if len(values) < 3:
            continue
        where = {name: max(v) for name, v in grid.items() if name != x}
        studies.append(Study(x, where))
        paper = PAPER_CLAIMS.get(sweep.spec.workload)
        if paper is not None and paper.role is not None:
            studies.append(Study(x, where, role=paper.role))
    return studies


def _pair(sweep: SweepResult, study: Study) -> tuple[str, ...]:
    variants = list(sweep.spec.variants)
    if study.variants is not None:
        missing = [v for v in study.variants if v not in variants]
        if missing:
            raise ConfigError(
                f"Sweep {sweep.sweep_id} has no variant {', '.join(missing)}. Its variants: "
                f"{', '.join(variants)}"
            )
        return study.variants
    wl = get_workload(sweep.spec.workload)
    if wl.optimistic in variants and wl.optimized in variants:
        return (wl.optimistic, wl.optimized)
    return tuple(variants)


def _value(p: PointResult, metric: str, role: str | None) -> float | None:
    if role is None:
        v = p.totals.get(metric)
    else:
        v = p.by_role.get(role, {}).get(_ROLE_KEY.get(metric, metric))
    return None if v is None else float(v)


def _series(
    points: Sequence[PointResult], variant: str, x: str, metric: str, role: str | None
) -> MetricFit:
    from hakaru.analysis import fit_series

    xs, ys = [], []
    for p in points:
        if p.variant == variant and p.error is None:
            v = _value(p, metric, role)
            if v is not None:
                xs.append(float(p.params[x]))
                ys.append(v)
    usable = {xv for xv, yv in zip(xs, ys, strict=True) if yv > 0}
    problem = None
    fit = None
    if len(usable) < 3:
        problem = (
            f"{len(usable)} size(s) with a positive {METRICS.get(metric, metric)}: a class needs 3"
        )
    else:
        try:
            fit = fit_series(xs, ys)
        except ConfigError as exc:
            problem = str(exc)
    return MetricFit(variant, metric, tuple(xs), tuple(ys), fit, problem)


def analyze(
    sweep: SweepResult,
    study: Study,
    *,
    at: Sequence[float] = (),
    level: float = 0.9,
) -> StudyResult:
    """Answer ``study`` from ``sweep``'s stored points.

    ``at``: sizes to predict each design's cost at (default: 10× the largest measured size).

    >>> import asyncio
    >>> from hakaru.sweeps import run_sweep
    >>> sweep = asyncio.run(run_sweep("routing", {"k": [2, 4, 8, 16], "m_d": [1]}, sim_error=0))
    >>> result = analyze(sweep, Study("k"))
    >>> result.comparison.ratio.complexity, result.claim.verdict
    ('n', 'agrees')
    >>> result.comparison.direction("k")
    'delegated saves more and more as k grows (generalist/delegated grows as n)'
    """
    import numpy as np

    from hakaru.analysis.claims import PAPER_CLAIMS, check_claim
    from hakaru.analysis.compare import compare

    names = sweep.param_names()
    if study.x not in names:
        raise ConfigError(
            f"Sweep {sweep.sweep_id or '(unstored)'} has no parameter '{study.x}'. Its "
            f"parameters: {', '.join(names)}"
        )
    swept = [n for n in sweep.spec.grid if n != study.x and len(sweep.spec.grid[n]) > 1]
    loose = [n for n in swept if n not in study.where]
    if loose:
        raise ConfigError(
            f"Parameter {', '.join(loose)} varies in sweep {sweep.sweep_id}; a study over "
            f"{study.x} must fix it, e.g. where={{'{loose[0]}': {sweep.spec.grid[loose[0]][0]}}}"
        )
    labels = _pair(sweep, study)
    points = [
        p
        for p in sweep.points
        if p.variant in labels and all(p.params.get(k) == v for k, v in study.where.items())
    ]
    fits = {
        metric: {v: _series(points, v, study.x, metric, None) for v in labels} for metric in METRICS
    }
    if study.role is None and study.metric in fits:
        primary = fits[study.metric]
    else:
        primary = {v: _series(points, v, study.x, study.metric, study.role) for v in labels}

    notes: list[str] = []
    comparison = None
    if len(labels) == 2:
        fa, fb = (primary[v].fit for v in labels)
        if fa is not None and fb is not None:
            sizes = list(at) or [10.0 * max(fa.x + fb.x)]
            with np.errstate(invalid="ignore"):  # log n at n = 1 is -inf on both sides
                comparison = compare(fa, fb, labels=(labels[0], labels[1]), at=sizes, level=level)
            # "do not cross" is the crossover column's "none"; keep the other notes
            notes.extend(n for n in comparison.notes if "do not cross" not in n)
        else:
            notes.append(
                "No comparison: "
                + "; ".join(f"{v}: {primary[v].problem}" for v in labels if primary[v].fit is None)
            )
    claim_text = _claim_for(sweep.spec.workload, study.x, study)
    claim = None
    if claim_text and comparison is not None:
        claim = check_claim(
            claim_text, comparison.ratio, variable=study.x, label=sweep.spec.workload
        )
        paper = PAPER_CLAIMS.get(sweep.spec.workload)
        extra = []
        if comparison.ratio.direction < 0:  # from the fitted curves, never the raw ratios
            extra.append(comparison.direction(study.x))
        if paper is not None and study.role is None and paper.system_note:
            extra.append(paper.system_note)
        if extra:
            claim = replace(claim, note="; ".join(n for n in (claim.note, *extra) if n))

    ok = [p for p in points if p.error is None]
    top = max((p.params[study.x] for p in ok), default=0)
    roles: dict[str, dict[str, dict[str, float]]] = {}
    for v in labels:
        at_top = [p for p in ok if p.variant == v and p.params[study.x] == top]
        acc: dict[str, dict[str, float]] = {}
        for p in at_top:
            for role, row in p.by_role.items():
                slot = acc.setdefault(role, dict.fromkeys(_ROLE_COLUMNS, 0.0))
                for key in _ROLE_COLUMNS:
                    slot[key] += float(row.get(key, 0.0)) / len(at_top)
        roles[v] = acc
    correct = {
        v: (sum(p.correct for p in points if p.variant == v), sum(p.variant == v for p in points))
        for v in labels
    }
    errors = len(points) - len(ok)
    if errors:
        notes.append(f"{errors} run(s) ended in an error and are left out of the fits.")
    return StudyResult(
        workload=sweep.spec.workload,
        sweep_id=sweep.sweep_id,
        study=study,
        labels=labels,
        fits=fits,
        primary=primary,
        comparison=comparison,
        claim=claim,
        claim_text=claim_text,
        roles=roles,
        role_size=float(top),
        correct=correct,
        errors=errors,
        notes=tuple(notes),
        backend=sweep.spec.backend,
    )
