"""``hakaru diff`` on a terminal: two sides in columns, each change coloured.

A figure that grew is red, one that fell is green, one that grew past ``--fail-over`` is bold;
a fitted class that changed is bold yellow. Scopes (per role, per model) follow the totals.
"""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from hakaru.report.diff import METRICS, Diff, Row

__all__ = ["diff_tables", "print_diff"]

_LABELS = {key: label for label, key in METRICS}


def _num(value: float | None, key: str) -> str:
    if value is None:
        return "—"
    if key == "dollars":
        return f"${value:.6g}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


def _change(row: Row, fail_over: float | None) -> str:
    c = row.change
    if c is None:
        return "" if row.a == row.b else "—"
    over = fail_over is not None and row.scope == "total" and c * 100 > fail_over
    text = "new" if math.isinf(c) else f"{c * 100:+.1f}%"
    if c == 0:
        return "="
    style = ("bold " if over else "") + ("red" if c > 0 else "green")
    return f"[{style}]{text}[/{style}]"


def diff_tables(result: Diff, fail_over: float | None = None) -> list[Table]:
    """The rich tables of a diff: one per scope, then the fitted classes (sweeps)."""
    tables = []
    scopes = list(dict.fromkeys(r.scope for r in result.rows))
    for scope in scopes:
        table = Table(title=scope, title_justify="left")
        table.add_column("metric", no_wrap=True)
        table.add_column("A", justify="right")
        table.add_column("B", justify="right")
        table.add_column("change", justify="right")
        for row in (r for r in result.rows if r.scope == scope):
            if row.a is None and row.b is None:
                continue
            label = _LABELS.get(row.metric, row.metric)
            table.add_row(
                label, _num(row.a, row.metric), _num(row.b, row.metric), _change(row, fail_over)
            )
        tables.append(table)
    if result.classes:
        x = result.a.x_name or result.b.x_name
        table = Table(title=f"fitted class against {x}", title_justify="left")
        for name in ("variant", "metric", "A", "B", ""):
            table.add_column(name, no_wrap=True)
        for c in result.classes:
            mark = "[bold yellow]changed[/bold yellow]" if c.changed else ""
            table.add_row(c.variant, c.metric, c.a or "—", c.b or "—", mark)
        tables.append(table)
    return tables


def print_diff(
    result: Diff, fail_over: float | None = None, console: Console | None = None
) -> None:
    """Print the two sides' labels and every table."""
    console = console or Console()
    console.print(f"A: {result.a.label}")
    console.print(f"B: {result.b.label}")
    for table in diff_tables(result, fail_over):
        console.print(table)
