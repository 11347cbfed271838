"""``hakaru import FILE… [--size-attribute KEY | --size N]`` — OpenTelemetry traces as runs.

A thin layer over :func:`hakaru.otel.importer.import_traces`: the runs it makes are stored, so
``hakaru runs show``, ``report`` and (through ``--series``) ``fit`` work on them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import click

from hakaru.cli.main import echo_json
from hakaru.cli.options import store_path_option
from hakaru.errors import ConfigError
from hakaru.store import RunStore, default_store_path

__all__ = ["import_"]

SERIES = ("calls", "input_tokens", "output_tokens", "forward_passes", "span_forward_passes",
          "depth", "aalp_cost", "dollars")  # fmt: skip

EPILOG = """Each trace becomes a run, or with --size-attribute each value of that attribute (the
traces of one problem size) becomes one. Spans that are model calls (OpenTelemetry GenAI
'gen_ai.operation.name' chat…, OpenInference 'openinference.span.kind' LLM) become call
records; other spans count as structure. docs/otel.md.

\b
Examples:
  hakaru import traces.jsonl
  hakaru import traces.jsonl --size-attribute app.problem.size --series sizes.csv
  hakaru fit sizes.csv --x size --y forward_passes
"""


@click.command("import", epilog=EPILOG)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="FILE..."
)
@click.option("--size-attribute", metavar="KEY", help="Span attribute holding the problem size.")
@click.option("--size", type=float, help="The problem size of every run imported.")
@click.option("--name", default="", help="Name of the runs [default: the first file's name].")
@click.option(
    "--series",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a CSV of size and totals per run (for hakaru fit).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@store_path_option
def import_(
    files: tuple[Path, ...],
    size_attribute: str | None,
    size: float | None,
    name: str,
    series: Path | None,
    as_json: bool,
    store_path: Path | None,
) -> None:
    """Import OTLP/JSON traces (OpenTelemetry GenAI or OpenInference) as runs."""
    from hakaru.otel.importer import import_traces

    path = store_path or default_store_path()
    with RunStore(path) as store:
        report = import_traces(store, files, size_attribute=size_attribute, size=size, name=name)
    if series is not None:
        _write_series(series, report.runs)
    if as_json:
        echo_json({"store": str(path), **report.as_dict()})
        return
    click.echo(
        f"Read {report.spans:,} spans: {report.calls:,} model calls, "
        f"{sum(report.structure.values()):,} structure spans"
        + (" (" + ", ".join(f"{k} {v:,}" for k, v in sorted(report.structure.items())) + ")"
           if report.structure else "")
        + "."
    )  # fmt: skip
    for run in report.runs:
        t = run.totals
        size_text = "-" if run.size is None else f"{run.size:g}"
        click.echo(
            f"  run {run.run_id}  size {size_text}  traces {run.traces:,}  calls {t['calls']:,}"
            f"  tokens in {t['input_tokens']:,} out {t['output_tokens']:,}"
            f"  work {t['forward_passes']:g}  span {t['span_forward_passes']:g}"
            f"  depth {t['depth']}  USD {t['dollars']:.6g}"
            + ("" if t["dollars_complete"] else f" ({t['unpriced_calls']:,} calls unpriced)")
        )
    if report.estimated:
        click.echo(
            f"{report.estimated:,} calls had no token counts: estimated from their text"
            + (f" ({report.no_usage:,} had no text either: 0 tokens, unpriced)"
               if report.no_usage else "")
            + "."
        )  # fmt: skip
    for reason, n in sorted(report.skipped.items()):
        click.echo(f"Skipped {n:,}: {reason}.", err=True)
    for example in report.examples[:5]:
        click.echo(f"  {example}", err=True)
    if not report.runs:
        raise ConfigError(
            "No model calls found, so no run was made. hakaru imports spans with "
            "gen_ai.operation.name 'chat' (OpenTelemetry GenAI) or openinference.span.kind "
            "'LLM' (OpenInference)."
        )
    click.echo(f"Stored in {path}. Show one with 'hakaru runs show RUN'.")


def _write_series(path: Path, runs: list) -> None:  # type: ignore[type-arg]
    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(("run", "size", *SERIES))
            for run in runs:
                writer.writerow((run.run_id, run.size, *(run.totals.get(k) for k in SERIES)))
    except OSError as exc:
        raise ConfigError(f"Cannot write {path}: {exc.strerror}. Choose another file.") from None
