"""The built-in sections of a sweep report: overview, claims, comparison, growth, work and
span, cost per role (orders 10–60). Each reads :attr:`ReportData.studies` and ``sweeps``."""

from __future__ import annotations

from hakaru.report.sections import Cell, Figure, ReportData, Section, Table, Tone, register_section
from hakaru.report.summary import METRICS, StudyResult, exactness, format_size, format_value

__all__ = ["claims", "comparison", "growth", "overview", "roles", "work_span"]


# -- helpers --------------------------------------------------------------------------------


def _ok(verdict: str) -> Cell:
    tones: dict[str, Tone] = {"agrees": "good", "consistent": "warn", "disagrees": "bad"}
    return Cell(verdict, tones.get(verdict, ""))


def _crossover(r: StudyResult) -> str:
    c = r.comparison
    if c is None:
        return "–"
    if c.crossover is None:
        lo, hi = c.search
        return f"none in {format_size(lo)}–{format_size(hi)}"
    return f"{r.x} ≈ {c.crossover:.3g}"


# -- sweeps ----------------------------------------------------------------------------------


@register_section("overview", order=10)
def overview(data: ReportData) -> list[Section]:
    """The sweeps behind the report: grid, variants, repeats, points, correct answers."""
    if not data.sweeps:
        return []
    rows = []
    for s in data.sweeps:
        grid = "; ".join(f"{k} = {', '.join(map(str, v))}" for k, v in s.spec.grid.items())
        right = sum(p.correct for p in s.points)
        errors = sum(p.error is not None for p in s.points)
        calls = sum(int(p.totals.get("calls", 0)) for p in s.points)
        rows.append(
            (
                Cell(s.sweep_id or "–", "code"),
                s.spec.workload,
                grid,
                ", ".join(s.spec.variants),
                str(s.spec.repeats),
                f"{len(s.points):,}",
                f"{calls:,}",
                f"{right}/{len(s.points)}" + (f" ({errors} errors)" if errors else ""),
                s.spec.backend + (f" {s.spec.model}" if s.spec.model else ""),
            )
        )
    table = Table(
        (
            "sweep",
            "workload",
            "grid",
            "variants",
            "repeats",
            "runs",
            "LLM calls",
            "correct",
            "backend",
        ),
        rows,
    )
    return [
        Section(
            "Sweeps",
            paragraphs=(
                "Each sweep runs a workload at every point of its grid, once per repeat, and "
                "stores every point in the run store (so it can be resumed). Parameters not "
                "listed keep their defaults.",
            ),
            tables=(table,),
        )
    ]


@register_section("claims", order=20)
def claims(data: ReportData) -> list[Section]:
    """Measured improvement against the paper's claims (Meyerson & Qiu, Table 1)."""
    rows = []
    for r in data.studies:
        if r.claim is None:
            continue
        c = r.claim
        ratio = r.comparison.ratio.label if r.comparison else c.measured
        rows.append(
            (
                r.workload,
                r.x,
                f"{r.labels[0]} / {r.labels[1]}",
                r.metric_label,
                f"Θ({r.claim_text})",
                c.expected or "–",
                ratio + (" ?" if c.ambiguous else ""),
                _ok(c.verdict),
                c.note or "",
            )
        )
    if not rows:
        return []
    from hakaru.report import ratio_plots

    figure = ratio_plots.claims_figure(data.studies, data.level)
    table = Table(
        (
            "workload",
            "in",
            "ratio",
            "cost",
            "claimed",
            "claimed class",
            "measured class",
            "verdict",
            "note",
        ),
        rows,
    )
    exact = exactness(data.studies)
    return [
        Section(
            "Measured vs claimed improvement",
            paragraphs=(
                "The paper (Meyerson & Qiu, ICML 2025, arXiv 2502.04358, Table 1) claims how "
                "much the optimized design saves over the optimistic one as the problem grows. "
                "Here each design's cost is fitted, the class of the ratio optimistic/optimized "
                "is the quotient of the two fitted curves' leading terms, and it is set next "
                "to the claim reduced to the swept variable (other parameters fixed: b·k² is n² "
                "in k and n in b). Polynomial factors on top of 2ⁿ are below the class set's "
                "resolution. Debugging's claim is the developer's share (Eq. 11), so it is "
                "checked on that share and on the whole system, each with its own verdict.",
                "Verdicts: agrees (same class), consistent (a fit is ambiguous and the claim "
                "is among the close alternatives), disagrees.",
                *((exact,) if exact else ()),
            ),
            figures=(
                (
                    Figure(
                        figure,
                        "Measured cost ratio (dots), the quotient of the two fitted curves "
                        f"(line, dashed beyond the data) and its {data.level:.0%} band.",
                    ),
                )
                if figure
                else ()
            ),
            tables=(table,),
        )
    ]


@register_section("comparison", order=30)
def comparison(data: ReportData) -> list[Section]:
    """Ratio class and crossover per study; predicted costs at the requested sizes."""
    rows: list[tuple[str | Cell, ...]] = []
    predicted: list[tuple[str | Cell, ...]] = []
    level = data.level
    for r in data.studies:
        c = r.comparison
        if c is None:
            continue
        rows.append(
            (
                r.workload,
                r.x,
                r.metric_label,
                f"{c.labels[0]}: {c.a.complexity}",
                f"{c.labels[1]}: {c.b.complexity}",
                f"{c.ratio_of[0]}/{c.ratio_of[1]}: {c.ratio.label}",
                _crossover(r),
                c.cheaper_at_large_n,
            )
        )
        for p in c.predictions:
            level = p.a.level
            named = [
                (c.labels[0], p.a),
                (c.labels[1], p.b),
                (f"{c.ratio_of[0]}/{c.ratio_of[1]}", p.ratio),
            ]
            for i, (name, pred) in enumerate(named):
                predicted.append(
                    (
                        f"{r.workload} ({r.cost_label})" if i == 0 else "",
                        f"{r.x} = {format_size(p.n)}" if i == 0 else "",
                        name,
                        format_value(pred.value, pred.log10_value),
                        f"{format_value(pred.low)} – {format_value(pred.high)}",
                    )
                )
    if not rows:
        return []
    classes = Table(
        ("workload", "in", "cost", "optimistic", "optimized", "ratio class", "crossover",
         "cheaper for large sizes"),
        rows,
    )  # fmt: skip
    predictions = Table(
        ("workload", "at", "design", "predicted", f"{level:.0%} prediction interval"),
        predicted,
        caption="The fitted median cost, and where a new run's cost would fall.",
    )
    notes = [f"{r.title}: {n}" for r in data.studies for n in r.notes]
    return [
        Section(
            "Comparison and extrapolation",
            paragraphs=(
                "For each study the two designs' costs are fitted separately; the ratio class "
                "(original/optimized) is the quotient of the two fitted curves' leading terms "
                "('1, → c': the ratio tends to the constant c). The "
                "crossover is the last size where the fitted curves cross; from there on the "
                "asymptotically cheaper design wins ('none': one design is cheaper at every "
                "size in the range). Predictions far beyond the measured sizes are only as good "
                "as the class: an ambiguous fit widens the interval to cover the close classes.",
            ),
            tables=(classes, predictions),
            notes=notes,
        )
    ]


@register_section("growth", order=40)
def growth(data: ReportData) -> list[Section]:
    """Per study: the compared cost and its ratio, every metric's fit, and the class table."""
    from hakaru.report import plots, ratio_plots

    out: list[Section] = []
    for r in data.studies:
        rows: list[tuple[str | Cell, ...]] = []
        for metric, label in METRICS.items():
            for v in r.labels:
                s = r.fits[metric][v]
                fit = s.fit
                if fit is None:
                    rows.append((label, v, "–", "–", "–", "–", Cell(s.problem or "", "warn")))
                    continue
                rows.append(
                    (
                        label,
                        v,
                        Cell(fit.complexity, "warn" if fit.ambiguous else ""),
                        fit.best.formula(),
                        "–" if fit.r2 is None else f"{fit.r2:.3f}",
                        fit.runner_up.complexity if fit.runner_up else "–",
                        Cell(fit.warning or "", "warn" if fit.warning else ""),
                    )
                )
        figures = [
            Figure(
                ratio_plots.ratio_figure(r, data.level),
                f"{r.metric_label} of both designs against {r.x} (log-log), and their ratio.",
            ),
            Figure(
                plots.growth_figure(r, data.level),
                "Every metric: dots are runs (faint) and means (solid); lines the fitted class, "
                f"dashed beyond the largest size; bands the {data.level:.0%} prediction "
                "interval.",
            ),
        ]
        right = ", ".join(f"{v} {a}/{b}" for v, (a, b) in r.correct.items())
        out.append(
            Section(
                f"Growth: {r.title}",
                key=f"growth-{r.workload}-{r.x}-{len(out)}",
                paragraphs=(
                    f"Sweep {r.sweep_id}; correct answers: {right}. Classes are chosen by AICc on "
                    "log-scale residuals among 1, log n, n, n log n, n², n² log n, n³, 2ⁿ "
                    "(n stands for the swept parameter).",
                ),
                figures=figures,
                tables=(
                    Table(
                        (
                            "metric",
                            "variant",
                            "class",
                            "fitted curve",
                            "R² (log)",
                            "runner-up",
                            "warning",
                        ),
                        rows,
                    ),
                ),
            )
        )
    return out


@register_section("work-span", order=50)
def work_span(data: ReportData) -> list[Section]:
    """Work against span (critical path) and depth, per study."""
    from hakaru.report import plots

    if not data.studies:
        return []
    figures = []
    rows = []
    for r in data.studies:
        figures.append(Figure(plots.work_span_figure(r, data.level), r.title))
        for v in r.labels:
            work = r.fits["forward_passes"][v].means()
            span = r.fits["span_forward_passes"][v].means()
            depth = r.fits["depth"][v].means()
            time = r.fits["sim_seconds"][v].means()
            shown = sorted(work)
            for x in dict.fromkeys([shown[0], shown[-1]] if shown else []):
                par = work[x] / span[x] if span.get(x) else 0.0
                rows.append(
                    (
                        r.workload,
                        v,
                        f"{r.x}={x:g}",
                        format_value(work[x]),
                        format_value(span.get(x, 0.0)),
                        format_value(depth.get(x, 0.0)),
                        f"{par:.1f}",
                        f"{time.get(x, 0.0):.2f}",
                    )
                )
    return [
        Section(
            "Work and span",
            paragraphs=(
                "Work is every forward pass spent; span is the forward passes on the heaviest "
                "chain of dependent calls (the critical path) — the time the system needs with "
                "unbounded parallel hardware; depth is that chain counted in calls. "
                "Parallelism = work / span. Simulated time is the span under the simulated "
                "latency model.",
            ),
            figures=figures,
            tables=(
                Table(
                    (
                        "workload",
                        "variant",
                        "size",
                        "work",
                        "span",
                        "depth",
                        "parallelism",
                        "sim time (s)",
                    ),
                    rows,
                    caption="Means over repeats, at the smallest and largest size of each "
                    "study (the figures show every size).",
                ),
            ),
        )
    ]


@register_section("roles", order=60)
def roles(data: ReportData) -> list[Section]:
    """Where the money goes: cost per role at each study's largest size."""
    from hakaru.report import plots

    rows = []
    seen: set[tuple[str, str, float]] = set()
    chosen = []
    for r in data.studies:
        key = (r.workload, ",".join(r.labels), r.role_size)
        if key in seen:
            continue
        seen.add(key)
        chosen.append(r)
        for v in r.labels:
            groups = r.roles.get(v, {})
            aalp = sum(g["aalp"] for g in groups.values()) or 1.0
            usd = sum(g["dollars"] for g in groups.values()) or 1.0
            for role, g in groups.items():
                rows.append(
                    (
                        r.workload,
                        v,
                        f"{r.x}={r.role_size:g}",
                        role,
                        format_value(g["calls"]),
                        format_value(g["aalp"]),
                        f"{g['aalp'] / aalp:.1%}",
                        f"${g['dollars']:.6f}",
                        f"{g['dollars'] / usd:.1%}",
                    )
                )
    if not rows:
        return []
    figure = plots.role_shares_figure(chosen)
    return [
        Section(
            "Cost per role",
            paragraphs=(
                "Where the money goes: each design's cost split by agent role (delegator vs "
                "specialists, QA vs developer) at the largest size of its study, mean over "
                "repeats.",
            ),
            figures=(Figure(figure, "Share of AALP cost per role."),) if figure else (),
            tables=(
                Table(
                    (
                        "workload",
                        "variant",
                        "size",
                        "role",
                        "calls",
                        "AALP cost",
                        "share",
                        "USD",
                        "share",
                    ),
                    rows,
                ),
            ),
        )
    ]
