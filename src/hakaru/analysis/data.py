"""Read a (size, cost) series from two columns of any CSV file.

Any CSV with a header line works: a sweep export, a spreadsheet, hand-written numbers. Several
rows may share a size (repeats). Column names match exactly first, then ignoring case. Empty
cells skip their row (a failed point, say) and are counted; anything else that is not a finite
number is an error naming the line (the header is line 1) and the column.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from hakaru.errors import ConfigError

__all__ = ["CsvSeries", "read_series"]


@dataclass(frozen=True)
class CsvSeries:
    """Paired sizes and costs read from a file, and how many rows had an empty cell."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    skipped: int  # rows with an empty x or y cell

    @property
    def warning(self) -> str | None:
        """A sentence about skipped rows, or None."""
        if not self.skipped:
            return None
        rows = "row" if self.skipped == 1 else "rows"
        return f"Skipped {self.skipped} {rows} with an empty cell."


def _column(names: list[str], wanted: str, option: str, path: Path) -> int:
    if wanted in names:
        return names.index(wanted)
    folded = [n.lower() for n in names]
    if wanted.lower() in folded:
        return folded.index(wanted.lower())
    raise ConfigError(
        f"{path} has no column {wanted!r}. Its columns are: {', '.join(names)}. "
        f"Name one with {option}"
    )


def _number(cell: str, line: int, column: str, path: Path) -> float:
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ConfigError(
            f"{path} line {line}, column {column!r}: {cell!r} is not a number. "
            "Fix the cell, or empty it to skip the row"
        )
    return value


def read_series(path: str | Path, x: str, y: str) -> CsvSeries:
    """Read columns ``x`` (sizes) and ``y`` (costs) of a CSV file.

    Raises :class:`~hakaru.errors.ConfigError` for a missing file, a missing column (naming the
    available ones) or a cell that is not a number (naming its line and column).

    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write("n,calls\\n8,7\\n16,15\\n16,\\n32,31\\n")
    >>> s = read_series(f.name, "n", "calls"); os.unlink(f.name)
    >>> s.x, s.y, s.skipped
    ((8.0, 16.0, 32.0), (7.0, 15.0, 31.0), 1)
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}. Check the path") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not a text CSV file (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start} is not UTF-8). Give a CSV file with a header line, e.g. one written by "
            "'hakaru sweep --csv'"
        ) from None
    if "\x00" in text:
        raise ConfigError(
            f"{path} is not a text CSV file (it holds NUL bytes). Give a CSV file with a header "
            "line, e.g. one written by 'hakaru sweep --csv'"
        )
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise ConfigError(
            f"{path} is empty. It needs a header line naming its columns, e.g. n,calls"
        )
    names = [h.strip() for h in header]
    ix = _column(names, x, "--x", path)
    iy = _column(names, y, "--y", path)
    xs: list[float] = []
    ys: list[float] = []
    skipped = 0
    rows = 0
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        rows += 1
        cx = record[ix].strip() if ix < len(record) else ""
        cy = record[iy].strip() if iy < len(record) else ""
        if not cx or not cy:
            skipped += 1
            continue
        xs.append(_number(cx, line, names[ix], path))
        ys.append(_number(cy, line, names[iy], path))
    if not rows:
        raise ConfigError(f"{path} has a header but no data rows. Add one row per measurement")
    return CsvSeries(tuple(xs), tuple(ys), skipped)
