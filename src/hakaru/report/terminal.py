"""Terminal tables (rich): a run's ledger — where the calls, tokens and money went — and a
report's summary — measured growth, the optimized design's improvement, predictions, MAKER runs
and profiles.

One function per table, shared by ``hakaru run``, ``hakaru runs show``, ``hakaru report`` and
the demo, so every command shows the same columns with the same units. Names that come from
runs are user text: every cell is added as plain text, never as rich markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from hakaru.report.run_summary import RunSummary
    from hakaru.report.summary import StudyResult

__all__ = [
    "growth_table",
    "improvement_table",
    "ledger_table",
    "prediction_table",
    "print_ledger",
    "print_makers",
    "print_report",
    "print_run",
    "profile_table",
    "summary_line",
]


def _num(x: float) -> str:
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.4g}" if abs(x) < 1000 else f"{x:,.0f}"


def _usd(x: float) -> str:
    return f"${x:,.6f}" if x < 0.01 else f"${x:,.4f}"


def ledger_table(
    totals: Mapping[str, Any], by_role: Mapping[str, Mapping[str, float]], title: str = ""
) -> Table:
    """Per-role rows and a total row: calls, tokens, forward passes, AALP cost, dollars."""
    table = Table(title=title or None, title_justify="left", show_footer=True)
    cols = [
        ("role", "left"),
        ("calls", "right"),
        ("failed", "right"),
        ("flagged", "right"),
        ("input tok", "right"),
        ("output tok", "right"),
        ("forward passes", "right"),
        ("AALP cost", "right"),
        ("USD", "right"),
    ]
    foot = [
        "total",
        _num(totals["calls"]),
        _num(totals["failed_calls"]),
        _num(totals["flagged_calls"]),
        _num(totals["input_tokens"]),
        _num(totals["output_tokens"]),
        _num(totals["forward_passes"]),
        _num(totals["aalp_cost"]),
        _usd(totals["dollars"]),
    ]
    for (name, justify), footer in zip(cols, foot, strict=True):
        table.add_column(name, justify=justify, footer=footer)  # type: ignore[arg-type]
    for role, row in by_role.items():
        table.add_row(
            role,
            _num(row["attempts"] - row["cached"]),
            _num(row["errors"]),
            _num(row["flagged"]),
            _num(row["input_tokens"]),
            _num(row["output_tokens"]),
            _num(row["forward_passes"]),
            _num(row["aalp"]),
            _usd(row["dollars"]),
        )
    return table


def summary_line(totals: Mapping[str, Any]) -> str:
    """Work, span, depth, parallelism and simulated time in one line."""
    par = totals.get("parallelism", 0.0)
    return (
        f"work {_num(totals['forward_passes'])} forward passes · span "
        f"{_num(totals['span_forward_passes'])} · depth {totals['depth']} calls · parallelism "
        f"{par:.1f} · simulated time {totals['sim_seconds']:.3f} s"
    )


def print_ledger(
    totals: Mapping[str, Any],
    by_role: Mapping[str, Mapping[str, float]],
    *,
    title: str = "",
    console: Console | None = None,
) -> None:
    """Print the ledger table, the work/span line, tokens and dollars by class, and the
    warning when calls of unpriced models are left out of the dollars."""
    from hakaru.report.fit_width import print_table
    from hakaru.report.token_classes import class_table, unpriced_note

    console = console or Console()
    print_table(console, ledger_table(totals, by_role, title))
    console.print(summary_line(totals))
    print_table(console, class_table(totals))
    note = unpriced_note(totals)
    if note is not None:
        console.print(note, soft_wrap=True, markup=False)


# -- a report's summary (``hakaru report``, ``hakaru demo``) ---------------------------------


def _table(title: str) -> Table:
    return Table(
        box=box.SIMPLE_HEAD,
        title=title,
        title_justify="left",
        title_style="bold",
        collapse_padding=True,
        pad_edge=False,
    )


def _add(table: Table, *cells: Any) -> None:
    """Add a row of plain text: names from runs are user text, never rich markup."""
    from rich.text import Text

    table.add_row(*(c if isinstance(c, Text) else Text(str(c)) for c in cells))


def _cost_note(studies: Sequence[StudyResult]) -> str:
    """What the tables compare, e.g. ``AALP cost``."""
    from hakaru.report.summary import METRICS

    return " / ".join(dict.fromkeys(METRICS.get(r.study.metric, r.study.metric) for r in studies))


def growth_table(studies: Sequence[StudyResult]) -> Table:
    """Measured class per variant on each study's compared cost."""
    table = _table(f"Measured growth of {_cost_note(studies)}")
    for name in ("workload", "in", "cost", "variant", "class", "fitted", "R²", "correct"):
        table.add_column(name, justify="right" if name in ("R²", "correct") else "left")
    for r in studies:
        for v in r.labels:
            s = r.primary[v]
            fit = s.fit
            right, runs = r.correct.get(v, (0, 0))
            _add(
                table,
                r.workload,
                r.x,
                r.cost_label,
                v,
                (fit.complexity + (" ?" if fit.ambiguous else "")) if fit else "–",
                fit.best.formula() if fit else (s.problem or ""),
                "–" if fit is None or fit.r2 is None else f"{fit.r2:.3f}",
                f"{right}/{runs}",
            )
    table.caption = (
        "cost: the whole system's, or one role's share; "
        "? = ambiguous: the runner-up class fits nearly as well"
    )
    table.caption_justify = "left"
    return table


def improvement_table(studies: Sequence[StudyResult]) -> Table:
    """The optimized design's saving: ratio class from the two fits, claimed, verdict, crossover.

    The ratio is always original/optimized; a verdict with a note gets a numbered footnote.
    """
    from rich.text import Text

    from hakaru.report.summary import format_size, format_value

    table = _table("Improvement of the optimized design: measured vs claimed (paper, Table 1)")
    for name in ("workload", "in", "cost", "ratio", "measured", "claimed", "verdict", "crossover"):
        table.add_column(name)
    search = 1e9
    footnotes: list[str] = []
    for r in studies:
        c = r.comparison
        if c is None:
            continue
        search = c.search[1]
        claimed, verdict = "–", Text("no claim")
        if r.claim is not None:
            claimed = f"Θ({r.claim_text})"
            style = {"agrees": "green", "disagrees": "red", "consistent": "yellow"}
            mark = ""
            if r.claim.note:
                if r.claim.note not in footnotes:
                    footnotes.append(r.claim.note)
                number = str(footnotes.index(r.claim.note) + 1)
                mark = number.translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
            verdict = Text(r.claim.verdict + mark, style=style.get(r.claim.verdict, ""))
        elif r.claim_text:
            claimed = f"Θ({r.claim_text})"
        cross = f"{r.x} ≈ {format_value(c.crossover)}" if c.crossover is not None else "none"
        measured = c.ratio.label + (" ?" if c.ratio.ambiguous else "")
        ratio = f"{c.ratio_of[0]}/{c.ratio_of[1]}"
        _add(table, r.workload, r.x, r.cost_label, ratio, measured, claimed, verdict, cross)
    lines = [
        "ratio: original/optimized, its class the quotient of the two fitted curves' leading "
        "terms (1, → c: it tends to c); crossover none: the fitted curves never cross in "
        f"1–{format_size(search)}",
        *(f"{i}. {note}" for i, note in enumerate(footnotes, start=1)),
    ]
    table.caption = "\n".join(lines)
    table.caption_justify = "left"
    return table


def prediction_table(studies: Sequence[StudyResult]) -> Table:
    """Each design's predicted cost at the requested sizes (median and interval)."""
    from hakaru.report.summary import format_size, format_value

    level = next(
        (p.a.level for r in studies if r.comparison for p in r.comparison.predictions), 0.9
    )
    table = _table(f"Predicted {_cost_note(studies)}: fitted median and {level:.0%} interval")
    for name in ("workload", "at", "design", "median", "interval"):
        table.add_column(name, justify="right" if name in ("median", "interval") else "left")
    for r in studies:
        c = r.comparison
        if c is None:
            continue
        for p in c.predictions:
            where = f"{r.x}={format_size(p.n)}"
            named = [
                (c.labels[0], p.a),
                (c.labels[1], p.b),
                (f"{c.ratio_of[0]}/{c.ratio_of[1]}", p.ratio),
            ]
            for i, (name, pred) in enumerate(named):
                _add(
                    table,
                    f"{r.workload} ({r.cost_label})" if i == 0 else "",
                    where if i == 0 else "",
                    name,
                    format_value(pred.value, pred.log10_value),
                    f"{format_value(pred.low)} – {format_value(pred.high)}",
                )
    return table


def _group_table(groups: Any, first: str) -> Table:
    from hakaru.report.summary import format_value

    table = _table(f"Ledger by {first}")
    table.add_column(first, no_wrap=True)
    for name in ("calls", "failed", "flagged", "in tok", "out tok", "fwd passes", "AALP", "USD"):
        table.add_column(name, justify="right")
    for name, g in groups.items():
        _add(
            table,
            name,
            format_value(g["attempts"] - g["cached"]),
            format_value(g["errors"]),
            format_value(g["flagged"]),
            format_value(g["input_tokens"]),
            format_value(g["output_tokens"]),
            format_value(g["forward_passes"]),
            format_value(g["aalp"]),
            f"${g['dollars']:.6f}",
        )
    return table


def print_run(console: Console, run: RunSummary) -> None:
    """A run's ledger by role and model, work and span, and its DAG in a few lines.

    A run without calls of its own (a profile: its calls are in its executions' runs) gets its
    title and one line saying so, not empty tables and a line of zeros.
    """
    from rich.text import Text

    from hakaru.report.fit_width import print_table
    from hakaru.report.token_classes import class_table

    info = run.info
    console.print(
        Text.assemble((f"Run {info.id}", "bold"), f"  {info.kind} {info.name}  ({info.status})")
    )
    if not run.by_role and not run.totals.get("calls"):
        what = (
            "a profile: its calls are in the runs of its executions, its fits below"
            if info.kind == "profile"
            else "no calls recorded"
        )
        console.print(f"  {what}.", markup=False)
        return
    print_table(console, _group_table(run.by_role, "role"))
    print_table(console, _group_table(run.by_model, "model"))
    console.print(summary_line(run.totals))
    print_table(console, class_table(run.totals))
    d = run.dag
    console.print(
        f"call DAG: {d.calls:,} calls, {d.edges:,} dependencies, {d.depth:,} levels "
        f"(widest {d.widest:,}), {d.roots:,} roots, {d.leaves:,} leaves, "
        f"critical path {d.path_length:,} calls",
    )
    if d.path_roles:
        table = _table("Critical path by role")
        table.add_column("role", no_wrap=True)
        for name in ("calls", "share", "simulated s"):
            table.add_column(name, justify="right", no_wrap=True)
        for r in d.path_roles:
            share = f"{r.calls / d.path_length:.1%}" if d.path_length else "–"
            _add(table, r.role, f"{r.calls:,}", share, f"{r.seconds:,.3f}")
        console.print(table)
    for note in run.notes:
        console.print(note, markup=False)


def print_makers(console: Console, reports: Sequence[Any]) -> None:
    """A paragraph per MAKER run (:class:`~hakaru.report.maker_load.MakerReport`): its outcome,
    spending, measured per-vote accuracy and the collisions against independent errors."""
    for r in reports:
        d, t = r.diagnostics, r.totals
        c = d.collision_summary()
        steps = f"{r.steps_done:,}" + (f" / {r.steps:,}" if r.steps else "")
        accuracy = "–" if d.p_hat is None else f"{d.p_hat:.4f}"
        console.print(
            f"MAKER run {r.run_id} ({r.name}, k = {r.k}): {r.outcome}, {steps} steps; "
            f"{t.get('calls', 0):,.0f} calls, {t.get('flagged_calls', 0):,.0f} flagged, "
            f"${t.get('dollars', 0.0):,.2f}; per-vote accuracy p̂ = {accuracy}; "
            f"collisions (first two votes wrong alike) {c['observed']:,} seen, "
            f"{c['predicted_independent']:.2f} if errors were independent."
            + (f" {r.reason}." if r.reason else ""),
            soft_wrap=True,
            markup=False,
        )


def profile_table(profiles: Sequence[Mapping[str, Any]]) -> Table:
    """One row per fitted metric of each profile: the class, the formula and whether the class
    is ambiguous or uncertain (the reasons are in the HTML report's fit table)."""
    from hakaru.report.profile_section import LABELS

    table = _table("Profiles: how each metric grows with n")
    for head in ("profile", "metric", "class", "formula", "R²", "note"):
        table.add_column(head, justify="right" if head == "R²" else "left")
    for p in profiles:
        for metric, fit in (p.get("fits") or {}).items():
            r2 = fit.get("r2")
            note = [w for w in ("ambiguous", "uncertain") if fit.get(w)]
            _add(
                table, p.get("profile", ""), LABELS.get(metric, metric), fit.get("class", "–"),
                fit.get("formula", "–"), "–" if r2 is None else f"{r2:.3f}", ", ".join(note),
            )  # fmt: skip
    return table


def print_report(
    console: Console,
    studies: Sequence[StudyResult],
    runs: Sequence[RunSummary] = (),
    *,
    predictions: bool = False,
) -> None:
    """The terminal summary of a report: growth and improvement tables, then each run."""
    from hakaru.report.fit_width import print_table
    from hakaru.report.summary import exactness

    if studies:
        print_table(console, growth_table(studies))
    compared = [r for r in studies if r.comparison is not None]
    if compared:
        print_table(console, improvement_table(compared))
        sentence = exactness(compared)
        if sentence:
            console.print(sentence, soft_wrap=True, markup=False)
        if predictions:
            print_table(console, prediction_table(compared))
    for run in runs:
        print_run(console, run)
