"""``hakaru report RUN_OR_SWEEP… [--html FILE]`` — a stored run's or sweep's report.

A thin layer over :mod:`hakaru.report`: the references become the report's input
(:func:`hakaru.report.html.report_data`), the terminal shows the summary as rich tables, and
``--html`` writes the same summary, with plots, as one self-contained HTML file. The tables are
:mod:`hakaru.report.terminal`'s, shared with ``hakaru demo``.
"""

from __future__ import annotations

from pathlib import Path

import click

from hakaru.cli.main import echo_json
from hakaru.cli.options import store_path_option
from hakaru.cli.sizes import parse_prediction_sizes
from hakaru.errors import ConfigError

__all__ = ["report"]

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
    from hakaru.report.html import check_writable, report_data, write_report
    from hakaru.report.terminal import print_makers, print_report, profile_table
    from hakaru.store import RunNotFound, RunStore, default_store_path

    if not 0.0 < level < 1.0:
        raise ConfigError(f"--level is {level:g}. Give a probability between 0 and 1, e.g. 0.9")
    sizes = parse_prediction_sizes(at)
    path = store_path or default_store_path()
    if not path.exists():
        raise RunNotFound.unknown(refs[0], path)
    if html_path is not None:
        check_writable(html_path)  # before the work, not after it
    with RunStore(path, readonly=True) as store:
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
    from hakaru.report.fit_width import print_table

    console = Console(highlight=False)
    print_report(console, data.studies, data.runs, predictions=True)
    print_makers(console, data.extras.get(maker_section.EXTRAS_KEY, []))
    profiles = data.extras.get(profile_section.EXTRAS_KEY, [])
    if profiles:
        print_table(console, profile_table(profiles))
    if written is not None:
        console.print(f"report written to {written}", soft_wrap=True, markup=False)
