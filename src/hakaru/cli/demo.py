"""``hakaru demo`` — the main job on the built-in simulated LLM.

It runs the first workload, tree-sum, both ways — one call with every number on a large
generalist, and a reduction tree on a tiny adder — at a few sizes, and prints each run's ledger
next to the comparison, so a first-time user sees what hakaru counts.
"""

from __future__ import annotations

import asyncio
from typing import Any

import click

from hakaru.cli.main import echo_json


@click.command()
@click.option("--sizes", default="64,1024", show_default=True, help="Comma-separated n values.")
@click.option("--fan-in", type=int, default=4, show_default=True, help="Tree fan-in f.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def demo(sizes: str, fan_in: int, seed: int, as_json: bool) -> None:
    """Add n numbers two ways on the simulated LLM and compare what each costs."""
    from rich.console import Console
    from rich.table import Table

    from hakaru.cli.sizes import parse_sizes
    from hakaru.report.terminal import print_ledger
    from hakaru.runner import run_workload

    ns = parse_sizes(sizes, "--sizes")
    console = Console()
    rows: list[dict[str, Any]] = []
    for n in ns:
        for variant in ("single", "tree"):
            out = asyncio.run(
                run_workload(
                    "tree-sum", variant=variant, params={"n": n, "fan_in": fan_in}, seed=seed
                )
            )
            rows.append({"n": n, "variant": variant, **out.totals, "correct": out.result.correct})
            if not as_json:
                title = (
                    f"tree-sum/{variant} n={n}"
                    + (f" fan-in={fan_in}" if variant == "tree" else "")
                    + f": {'correct' if out.result.correct else 'WRONG'}"
                )
                print_ledger(out.totals, out.by_role, title=title, console=console)
                console.print()
    if as_json:
        echo_json({"runs": rows})
        return
    table = Table(title="single call vs reduction tree (AALP cost = m·Σ(n+j) per generated token)")
    for col in ("n", "variant", "calls", "depth", "AALP cost", "USD", "sim time (s)", "correct"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for r in rows:
        table.add_row(
            str(r["n"]),
            r["variant"],
            f"{r['calls']:,}",
            str(r["depth"]),
            f"{r['aalp_cost']:,.0f}",
            f"${r['dollars']:.5f}",
            f"{r['sim_seconds']:.2f}",
            "yes" if r["correct"] else "no",
        )
    console.print(table)
