"""``hakaru models`` — the built-in simulated models."""

from __future__ import annotations

import click

from hakaru.cli.main import echo_json


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def models(as_json: bool) -> None:
    """List the built-in simulated models: size, context, prices, capabilities, error rates."""
    from hakaru.backends.sim import list_models

    rows = [
        {
            "name": m.name,
            "size": m.size,
            "context_window": m.context_window,
            "price_in": m.price_in,
            "price_out": m.price_out,
            "capabilities": sorted(m.capabilities),
            "base_error": m.base_error,
            "max_error": m.ceiling,
            "rho": m.rho,
            "malformed_rate": m.malformed_rate,
            "overlong_rate": m.overlong_rate,
        }
        for m in list_models()
    ]
    if as_json:
        echo_json({"models": rows})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Built-in simulated models (size: billions of parameters; $ per 1M tokens)")
    for col in ("name", "size", "context", "$ in", "$ out", "capabilities", "error", "ρ"):
        table.add_column(col, justify="left" if col in ("name", "capabilities") else "right")
    for r in rows:
        table.add_row(
            str(r["name"]),
            f"{r['size']:g}",
            f"{r['context_window']:,}",
            "-" if r["price_in"] is None else f"{r['price_in']:g}",
            "-" if r["price_out"] is None else f"{r['price_out']:g}",
            ", ".join(r["capabilities"]),  # type: ignore[arg-type]
            f"{r['base_error']:g}→{r['max_error']:g}",
            f"{r['rho']:g}",
        )
    Console().print(table)
