"""``hakaru reasoning frontier`` — every budget policy family swept over its knob, on the simulator.

A thin layer over :func:`hakaru.reasoning.frontier.sweep_frontier`: the curves drawn in the
terminal, a table per family (tokens per task and accuracy with 95 % intervals; the spend
against the budget asked for), and every point compared with the fixed-budget curve at equal
tokens (paired on the same tasks). ``--json`` prints one JSON object; ``--html PATH`` writes the
report section; ``--svg PATH`` writes the figure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from hakaru.cli.main import echo_json
from hakaru.errors import ConfigError

__all__ = ["frontier"]

T = TypeVar("T")


def _list(option: str, text: str, convert: Callable[[str], T]) -> tuple[T, ...]:
    try:
        return tuple(convert(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError(
            f"{option} '{text}' is not a comma-separated list of numbers. Write e.g. "
            f"{option} 100,200,400"
        ) from None


@click.command("frontier")
@click.option("--n", "n", type=int, default=2000, show_default=True, help="Tasks per point.")
@click.option("--model", default="sim-medium", show_default=True, help="Simulated model.")
@click.option("--levels", default=None, help="Budget levels (fixed curve, policies' menu).")
@click.option("--budgets", default=None, help="Tokens per task asked of difficulty and oracle.")
@click.option("--noise", "noises", default="0,0.1,0.25", show_default=True,
              help="Noise levels of the difficulty estimates (one curve each).")  # fmt: skip
@click.option("--ladder-starts", default=None, help="First rungs of the ladders.")
@click.option("--caps", default=None, help="Output caps of the no-budget curve.")
@click.option("--calibration", type=int, default=1000, show_default=True,
              help="Calibration tasks per noise level (answered at every level).")  # fmt: skip
@click.option("--buckets", type=int, default=10, show_default=True, help="Difficulty buckets.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--html", default=None, metavar="PATH", help="Also write an HTML report.")
@click.option("--svg", default=None, metavar="PATH", help="Also write the figure as SVG.")
def frontier(
    n: int,
    model: str,
    levels: str | None,
    budgets: str | None,
    noises: str,
    ladder_starts: str | None,
    caps: str | None,
    calibration: int,
    buckets: int,
    seed: int,
    as_json: bool,
    html: str | None,
    svg: str | None,
) -> None:
    """Accuracy against tokens per task for every budget policy family, compared at equal
    tokens."""
    from hakaru.reasoning import frontier as fr

    result = fr.sweep_frontier(
        n=n,
        model=model,
        levels=_list("--levels", levels, int) if levels else fr.DEFAULT_LEVELS,
        budgets=_list("--budgets", budgets, float) if budgets else fr.DEFAULT_BUDGETS,
        noises=_list("--noise", noises, float),
        ladder_starts=(
            _list("--ladder-starts", ladder_starts, int) if ladder_starts else fr.DEFAULT_STARTS
        ),
        caps=_list("--caps", caps, int) if caps else fr.DEFAULT_CAPS,
        calibration=calibration,
        buckets=buckets,
        seed=seed,
    )
    payload = result.as_dict()
    if html:
        from hakaru.report.frontier_section import write_frontier_report

        click.echo(f"wrote {write_frontier_report(html, payload)}", err=True)
    if svg:
        from hakaru.report.frontier_plots import frontier_svg_file

        click.echo(f"wrote {frontier_svg_file(svg, payload)}", err=True)
    if as_json:
        echo_json(payload)
        return
    _print(payload)


def _print(payload: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from hakaru.report.frontier_plots import frontier_text

    console = Console()
    s = payload["settings"]
    console.print(
        f"Reasoning-budget frontier: {s['n']:,} simulated tasks per point ({s['model']}), "
        f"exact for the simulator; {payload['elapsed_s']:.1f} s.",
        highlight=False,
    )
    console.print(frontier_text(payload), markup=False, highlight=False)
    table = Table(title="Curves (95 % intervals)", title_justify="left")
    for col in ("family", "knob", "tokens/task", "accuracy % [95 %]", "spent/asked", "no answer"):
        table.add_column(col, justify="left" if col == "family" else "right")
    for family, curve in payload["curves"].items():
        for p in curve["points"]:
            lo, hi = p["accuracy_interval"]
            tlo, thi = p["tokens_interval"]
            ratio = p["spend_ratio"]
            table.add_row(
                family,
                f"{p['knob']:g}",
                f"{p['tokens_per_task']:,.0f} ±{(thi - tlo) / 2:,.0f}",
                f"{100 * p['accuracy']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]",
                "" if ratio is None else f"{ratio:.3f}",
                f"{p['unanswered']}",
            )
    console.print(table)
    cmp = Table(
        title=f"At equal tokens: each point minus the {payload['reference']} curve "
        "(interpolated; paired on the same tasks)",
        title_justify="left",
    )
    for col in ("policy", "family", "tokens/task", "accuracy %", "reference %", "diff pts [95 %]",
                "p"):  # fmt: skip
        cmp.add_column(col, justify="left" if col in ("policy", "family") else "right")
    for c in payload["comparisons"]:
        lo, hi = c["difference_interval_pts"]
        cmp.add_row(
            c["policy"],
            c["family"],
            f"{c['tokens_per_task']:,.0f}",
            f"{100 * c['accuracy']:.1f}",
            f"{100 * c['reference_accuracy']:.1f}",
            f"{c['difference_pts']:+.2f} [{lo:+.2f}, {hi:+.2f}]",
            f"{c['p_value']:.3g}",
        )
    console.print(cmp)
    per_noise = payload["calibration"]["per_noise"]
    calls = sum(v["calls"] for v in per_noise.values())
    console.print(
        f"The difficulty policies learned from {payload['calibration']['tasks']:,} calibration "
        f"tasks per noise level ({calls:,} calls in all, not included above).",
        highlight=False,
    )
