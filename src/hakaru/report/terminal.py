"""Terminal tables of a run's ledger (rich): where the calls, tokens and money went.

One function per table, shared by ``hakaru run``, ``hakaru runs show`` and the demo, so every
command shows the same columns with the same units.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["ledger_table", "print_ledger", "summary_line"]


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
    """Print the ledger table and the work/span line."""
    console = console or Console()
    console.print(ledger_table(totals, by_role, title))
    console.print(summary_line(totals))
