"""``hakaru report RUN_OR_SWEEP… [--html FILE]`` — a stored run's or sweep's report.

A thin layer over :mod:`hakaru.report`: the references become the report's input
(:func:`hakaru.report.html.report_data`), the terminal shows the summary as rich tables, and
``--html`` writes the same summary, with plots, as one self-contained HTML file. The tables are
shared with ``hakaru demo``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hakaru.cli.main import echo_json
from hakaru.cli.options import store_path_option
from hakaru.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from hakaru.report.run_summary import RunSummary
    from hakaru.report.summary import StudyResult

__all__ = ["growth_table", "improvement_table", "parse_sizes", "print_report", "report"]

EPILOG = """RUN_OR_SWEEP is a run id, a sweep id, or a unique prefix of one ('hakaru runs list'
shows them); give several to report them together. A sweep's report fits every metric of each
variant against each swept parameter (the others at their largest values), compares the two
designs, and checks the paper's claimed improvement where the workload has one. A run's report
shows its ledger by role and model, work and span, and its call DAG.

\b
Examples:
  hakaru sweep routing --param k=2..64*2 --param m_d=1
  hakaru report 32b4 --html routing.html --at 1000000
"""


def parse_sizes(values: Sequence[str]) -> list[float]:
    """``--at`` values (``1000000``, ``1e6``) as positive sizes."""
    out = []
    for text in values:
        try:
            n = float(text.replace("_", "").replace(",", ""))
        except ValueError:
            raise ConfigError(
                f"--at '{text}' is not a number. Give a size, e.g. --at 1e6"
            ) from None
        if not n > 0:
            raise ConfigError(f"--at {text} is not a positive size. Give e.g. --at 1e6")
        out.append(n)
    return out


@click.command(epilog=EPILOG)
@click.argument("refs", nargs=-1, required=True, metavar="RUN_OR_SWEEP...")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report to this HTML file (self-contained, works offline).",
)
@store_path_option
@click.option(
    "--at",
    "at",
    multiple=True,
    metavar="N",
    help="Predict each design's cost at this size (repeatable) [default: 10x the largest].",
)
@click.option(
    "--level", type=float, default=0.9, show_default=True, help="Prediction interval level."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def report(
    refs: tuple[str, ...],
    html_path: Path | None,
    store_path: Path | None,
    at: tuple[str, ...],
    level: float,
    as_json: bool,
) -> None:
    """Summarise stored runs or sweeps; with --html, write the report with its plots."""
    from rich.console import Console

    from hakaru.report import maker_section, profile_section
    from hakaru.report.html import report_data, write_report
    from hakaru.store import RunNotFound, RunStore, default_store_path

    if not 0.0 < level < 1.0:
        raise ConfigError(f"--level is {level:g}. Give a probability between 0 and 1, e.g. 0.9")
    sizes = parse_sizes(at)
    path = store_path or default_store_path()
    if not path.exists():
        raise RunNotFound.unknown(refs[0], path)
    with RunStore(path) as store:
        data = report_data(store, refs, at=sizes, level=level)
        maker_section.add_maker_reports(store, data)  # read again, for the MAKER summaries
        profile_section.add_profile_reports(store, data)
    written = write_report(html_path, data) if html_path is not None else None
    if as_json:
        echo_json(
            {
                "title": data.title,
                "studies": [s.to_dict() for s in data.studies],
                "runs": [r.to_dict() for r in data.runs],
                "maker": [m.to_dict() for m in data.extras.get(maker_section.EXTRAS_KEY, [])],
                "profiles": data.extras.get(profile_section.EXTRAS_KEY, []),
                "html": str(written) if written else None,
            }
        )
        return
    console = Console(highlight=False, width=max(Console().width, 100))
    print_report(console, data.studies, data.runs, predictions=True)
    print_makers(console, data.extras.get(maker_section.EXTRAS_KEY, []))
    profiles = data.extras.get(profile_section.EXTRAS_KEY, [])
    if profiles:
        console.print(profile_table(profiles))
    if written is not None:
        console.print(f"report written to {written}", soft_wrap=True, markup=False)


# -- terminal tables, shared with ``hakaru demo`` ------------------------------------------------


def _table(title: str) -> Table:
    from rich import box
    from rich.table import Table

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
    """A run's ledger by role and model, work and span, and its DAG in a few lines."""
    from rich.text import Text

    from hakaru.report.terminal import summary_line

    info = run.info
    console.print(
        Text.assemble((f"Run {info.id}", "bold"), f"  {info.kind} {info.name}  ({info.status})")
    )
    console.print(_group_table(run.by_role, "role"))
    console.print(_group_table(run.by_model, "model"))
    console.print(summary_line(run.totals), soft_wrap=True)
    d = run.dag
    console.print(
        f"call DAG: {d.calls:,} calls, {d.edges:,} dependencies, {len(d.levels)} levels "
        f"(widest {max(d.levels, default=0):,}), {d.roots:,} roots, {d.leaves:,} leaves, "
        f"critical path {d.path_length:,} calls",
        soft_wrap=True,
    )
    for note in run.notes:
        console.print(note, soft_wrap=True, markup=False)


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
    """One row per fitted metric of each profile: the class and the formula."""
    from hakaru.report.profile_section import LABELS

    table = _table("Profiles: how each metric grows with n")
    for head in ("profile", "metric", "class", "formula", "R²"):
        table.add_column(head, justify="right" if head == "R²" else "left")
    for p in profiles:
        for metric, fit in (p.get("fits") or {}).items():
            r2 = fit.get("r2")
            _add(
                table, p.get("profile", ""), LABELS.get(metric, metric), fit.get("class", "–"),
                fit.get("formula", "–"), "–" if r2 is None else f"{r2:.3f}",
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
    from hakaru.report.summary import exactness

    if studies:
        console.print(growth_table(studies))
    compared = [r for r in studies if r.comparison is not None]
    if compared:
        console.print(improvement_table(compared))
        sentence = exactness(compared)
        if sentence:
            console.print(sentence, soft_wrap=True, markup=False)
        if predictions:
            console.print(prediction_table(compared))
    for run in runs:
        print_run(console, run)
