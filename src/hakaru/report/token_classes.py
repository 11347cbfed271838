"""Tokens and dollars by token class, and the warning when some calls have no known price.

One place reads a run's totals (:meth:`hakaru.ledger.Ledger.totals`) into the five classes of
:mod:`hakaru.pricing` — uncached input, cache read, cache write, output other than reasoning,
reasoning — for the terminal (``hakaru run``, ``runs show``, ``report``, ``trace``) and the HTML
report, so every view shows the same split and the same warning: dollars that leave out calls
of unpriced models say so, never showing those calls as $0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich import box
from rich.table import Table as RichTable

from hakaru.pricing import TOKEN_CLASSES
from hakaru.report.sections import Table

__all__ = [
    "class_report_table",
    "class_rows",
    "class_table",
    "estimated_note",
    "estimated_share",
    "unpriced_note",
]

_LABELS = {
    "uncached_input": "input, uncached",
    "cache_read": "input, cache read",
    "cache_write": "input, cache write",
    "output": "output (not reasoning)",
    "reasoning": "reasoning",
}


def class_rows(totals: Mapping[str, Any]) -> list[tuple[str, int, float | None]]:
    """(class label, tokens, USD or ``None`` when the split is not known) per token class."""
    tokens = {
        "uncached_input": totals.get(
            "uncached_input_tokens",
            totals.get("input_tokens", 0)
            - totals.get("cache_read_tokens", 0)
            - totals.get("cache_write_tokens", 0),
        ),
        "cache_read": totals.get("cache_read_tokens", 0),
        "cache_write": totals.get("cache_write_tokens", 0),
        "output": totals.get("output_tokens", 0) - totals.get("reasoning_tokens", 0),
        "reasoning": totals.get("reasoning_tokens", 0),
    }
    return [(_LABELS[c], int(tokens[c]), totals.get(f"dollars_{c}")) for c in TOKEN_CLASSES]


def unpriced_note(totals: Mapping[str, Any]) -> str | None:
    """The warning for dollars that leave out calls of unpriced models (``None``: complete)."""
    n = int(totals.get("unpriced_calls", 0) or 0)
    if not n:
        return None
    calls = "call" if n == 1 else "calls"
    return (
        f"Warning: {n:,} {calls} of models without a known price are left out of the dollars, "
        f"which are therefore incomplete. Give their prices in a price file (--prices FILE)."
    )


def estimated_share(totals: Mapping[str, Any]) -> str | None:
    """``"12 of 40 calls (30 %)"`` when some calls' tokens are estimated (``None``: none)."""
    n = int(totals.get("estimated_calls", 0) or 0)
    if not n:
        return None
    calls = int(totals.get("calls", 0) or 0)
    share = f" ({n / calls:.0%})" if calls else ""
    return f"{n:,} of {calls:,} calls{share}"


def estimated_note(totals: Mapping[str, Any]) -> str | None:
    """The footnote for token totals that include estimated counts (``None``: all reported)."""
    share = estimated_share(totals)
    if share is None:
        return None
    return (
        f"* Estimated tokens: {share} got no usage from their server (a stream without a "
        "usage chunk); hakaru counted their prompt and answer with its own tokenizer, so the "
        "token totals (and dollars) are estimates for those calls."
    )


def _usd(x: float | None) -> str:
    if x is None:
        return "-"
    return f"${x:,.6f}" if x < 0.01 else f"${x:,.4f}"


def class_table(totals: Mapping[str, Any]) -> RichTable:
    """A rich table: tokens and USD per token class, and their total (marked ``*`` and with
    the share of calls when some calls' tokens are estimated)."""
    share = estimated_share(totals)
    table = RichTable(
        box=box.SIMPLE_HEAD,
        title="Tokens and dollars by class",
        caption=None if share is None else f"* estimated for {share}",
        caption_justify="left",
        title_justify="left",
        show_footer=True,
        pad_edge=False,
    )
    rows = class_rows(totals)
    dollars = totals.get("dollars", 0.0)
    complete = bool(totals.get("dollars_complete", True))
    table.add_column("class", footer="total")
    mark = "" if share is None else "*"
    table.add_column("tokens" + mark, justify="right", footer=f"{sum(r[1] for r in rows):,}{mark}")
    table.add_column(
        "USD", justify="right", footer=_usd(dollars) + ("" if complete else " (incomplete)")
    )
    for label, n, usd in rows:
        table.add_row(label, f"{n:,}", _usd(usd))
    return table


def class_report_table(totals: Mapping[str, Any]) -> Table:
    """The HTML report's table of tokens and USD per token class (a run's ledger section
    shows it; the unpriced-calls warning is among the run's notes)."""
    rows = [(label, f"{n:,}", _usd(usd)) for label, n, usd in class_rows(totals)]
    complete = bool(totals.get("dollars_complete", True))
    rows.append(
        (
            "total",
            f"{sum(n for _, n, _ in class_rows(totals)):,}",
            _usd(totals.get("dollars", 0.0)) + ("" if complete else " (incomplete)"),
        )
    )
    share = estimated_share(totals)
    return Table(
        ("token class", "tokens" if share is None else "tokens*", "USD"),
        rows,
        caption="Tokens and dollars by class: every token counted once, each class at its own "
        "rate (a dash: the run's prices per class are not stored)."
        + ("" if share is None else f" * Estimated for {share}: see the note below."),
    )
