"""Print rich tables so that no number is ever cut: shorten labels, or go vertical when narrow.

rich fits a table to the terminal by shrinking columns, and a column narrower than its text
ends the text with "…" — for a number, a wrong number (``4,038,2…``). :func:`print_table` is
where the command line prints its tables. It sets the column widths itself: every column gets
at least its longest word that holds a digit (a number, a price, a size) and its header's
longest word; the width left goes to the columns that want more, so labels wrap at spaces or
end in "…". When even that does not fit the console (a narrow terminal, a wide table), each row
is printed as a block of ``header  value`` lines instead — the vertical layout, where every
value has the whole width. The table is rendered before it is printed and every word with a
digit must appear whole in it, no line wider than the console; else the vertical layout.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = ["fit_columns", "needs_vertical", "print_table"]

_NUMBER = re.compile(r"\d")
_LABEL_FLOOR = 6  # a text column is not made narrower than this (it wraps, or ends in "…")


def _plain(cell: RenderableType | None) -> str:
    if isinstance(cell, Text):
        return cell.plain
    return cell if isinstance(cell, str) else ""


def _longest_number(cells: list[Any]) -> int:
    return max(
        (len(word) for cell in cells for word in _plain(cell).split() if _NUMBER.search(word)),
        default=0,
    )


def _widest_line(cell: Any) -> int:
    return max((cell_len(line) for line in _plain(cell).splitlines()), default=0)


def _numbers(table: Table, shorten: Collection[str]) -> set[str]:
    return {
        word
        for column in table.columns
        if _plain(column.header) not in shorten
        for cell in (column.header, column.footer, *column.cells)
        for word in _plain(cell).split()
        if _NUMBER.search(word)
    }


def fit_columns(table: Table, console: Console, shorten: Collection[str] = ()) -> bool:
    """Set the widths of ``table``'s columns so that it fits ``console`` with numbers whole.

    A column gets at least its longest word holding a digit, its header's longest word and a
    few characters (all of its widest line if it does not wrap); the width left first gives the
    columns that want little all they want, then is shared by the wide ones in proportion. The
    columns headed by a name in ``shorten`` are labels whatever they hold (a command line, a
    path): they may be cut. False when even the least is too wide.
    """
    columns = table.columns
    if not columns or any(
        not isinstance(cell, (str, Text)) for c in columns for cell in (c.header, *c.cells)
    ):
        return True  # renderables other than text: left to rich
    saved = [c.width for c in columns]
    for c in columns:
        c.width = 1
    overhead = console.measure(table).maximum - len(columns)
    for c, width in zip(columns, saved, strict=True):
        c.width = width
    want = [max(_widest_line(cell) for cell in (c.header, c.footer, *c.cells)) for c in columns]
    floor = []
    for c, w in zip(columns, want, strict=True):
        header = max((cell_len(word) for word in _plain(c.header).split()), default=0)
        if _plain(c.header) in shorten:
            floor.append(min(w, max(header, _LABEL_FLOOR)))
        elif c.no_wrap:  # a column that does not wrap needs its widest line
            floor.append(w)
        else:
            floor.append(min(w, max(_longest_number([c.footer, *c.cells]), header, _LABEL_FLOOR)))
    budget = console.width - overhead
    if sum(want) <= budget:
        return True
    if sum(floor) > budget:
        return False
    spare = budget - sum(floor)
    extra = [w - f for w, f in zip(want, floor, strict=True)]
    widths = list(floor)
    open_ = sorted(range(len(columns)), key=lambda i: extra[i])
    while open_ and extra[open_[0]] * len(open_) <= spare:  # the modest wants in full
        i = open_.pop(0)
        widths[i] += extra[i]
        spare -= extra[i]
    rest = sum(extra[i] for i in open_)
    for i in open_:  # the wide ones share what is left
        widths[i] += spare * extra[i] // rest
    for c, width in zip(columns, widths, strict=True):
        c.width = width
    return True


def needs_vertical(table: Table, console: Console, shorten: Collection[str] = ()) -> bool:
    """Whether ``table`` cannot fit ``console`` without cutting a word that holds a digit.

    Sets the column widths (:func:`fit_columns`), renders the table without printing it, and
    checks that every such word appears whole and that no line is wider than the console.
    """
    if not fit_columns(table, console, shorten):
        return True
    lines = console.render_lines(table, console.options, pad=False)
    text = "\n".join("".join(segment.text for segment in line) for line in lines)
    too_wide = any(cell_len(line) > console.width for line in text.splitlines())
    return too_wide or not all(word in text for word in _numbers(table, shorten))


def print_table(console: Console, table: Table, shorten: Collection[str] = ()) -> None:
    """Print ``table`` with every number whole: as a table if it fits, else row by row.

    ``shorten`` names the headers of label columns that may be cut (see :func:`fit_columns`).
    """
    console.print(vertical(table) if needs_vertical(table, console, shorten) else table)


def vertical(table: Table) -> Table:
    """``table`` as one block per row: each column's header beside the row's value."""
    out = Table(
        box=box.SIMPLE,
        show_header=False,
        title=table.title,
        title_justify=table.title_justify,
        title_style=table.title_style,
        caption=table.caption,
        pad_edge=False,
    )
    out.add_column("field", style="bold")
    out.add_column("value", overflow="fold")
    columns = table.columns
    cells = [list(c.cells) for c in columns]
    last = len(columns) - 1
    for i in range(max((len(column) for column in cells), default=0)):
        for c, column in enumerate(columns):
            value = cells[c][i] if i < len(cells[c]) else ""
            out.add_row(Text(_plain(column.header)), value, end_section=c == last)
    if table.show_footer and any(_plain(c.footer) for c in columns):
        for column in columns:
            out.add_row(Text(_plain(column.header)), column.footer or "")
    return out
