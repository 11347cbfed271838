"""``hakaru diff A B`` — two runs, two sweeps or two cassettes side by side.

A and B are cassette files or run/sweep ids (or unique prefixes) in the run store. Exit 1 with
``--fail-over PCT`` when any total grew by more than PCT percent (a cost regression in CI).
"""

from __future__ import annotations

from pathlib import Path

import click

from hakaru.cli.main import echo_json
from hakaru.cli.options import store_path_option

EPILOG = """
\b
Examples:
  hakaru diff 3f2a 9c1d                      two runs (or two sweeps) of the store
  hakaru diff before.jsonl after.jsonl       two cassettes of one test
  hakaru diff 3f2a 9c1d --fail-over 10       exit 1 if any total grew by more than 10 %
"""


@click.command(epilog=EPILOG)
@click.argument("a")
@click.argument("b")
@store_path_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--fail-over",
    type=float,
    default=None,
    metavar="PCT",
    help="Exit 1 when any total grew by more than PCT percent.",
)
def diff(a: str, b: str, store_path: Path | None, as_json: bool, fail_over: float | None) -> None:
    """Compare two runs, two sweeps or two cassettes: calls, tokens, dollars, cost, classes."""
    from hakaru.report.diff import diff as make_diff
    from hakaru.report.diff import read_side
    from hakaru.store import RunStore, default_store_path

    path = store_path or default_store_path()
    store = RunStore(path, readonly=True) if path.exists() else None
    try:
        result = make_diff(read_side(a, store), read_side(b, store))
    finally:
        if store is not None:
            store.close()
    grew = result.grew_over(fail_over) if fail_over is not None else []
    if as_json:
        payload = result.as_json()
        if fail_over is not None:
            payload["fail_over"] = fail_over
            payload["grew_over"] = [r.metric for r in grew]
        echo_json(payload)
    else:
        from hakaru.report.diff_table import print_diff

        print_diff(result, fail_over)
        if grew:
            names = ", ".join(r.metric for r in grew)
            click.echo(f"grew by more than {fail_over:g} %: {names}", err=True)
    if grew:
        raise SystemExit(1)
