"""The reasoning-budget frontier drawn: accuracy against tokens per task, one curve per family.

:func:`frontier_figure` draws a :meth:`~hakaru.reasoning.frontier.Frontier.as_dict` payload
with matplotlib (log tokens axis, 95 % intervals as error bars on both axes);
:func:`frontier_svg_file` writes it as a stand-alone SVG (the figure of docs/budgets.md);
:func:`frontier_text` draws the same curves in a character grid for the terminal, one letter per
family.

>>> payload = {"curves": {"fixed": {"points": [
...     {"tokens_per_task": 100, "accuracy": 0.5, "tokens_interval": [99, 101],
...      "accuracy_interval": [0.49, 0.51]},
...     {"tokens_per_task": 1000, "accuracy": 0.8, "tokens_interval": [990, 1010],
...      "accuracy_interval": [0.79, 0.81]}]}}}
>>> print(frontier_text(payload, width=20, height=4).splitlines()[0])
  0.80 |                   F
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from markupsafe import Markup

from hakaru.report.plots import COLORS, _styled, new_figure, svg_of

__all__ = ["frontier_figure", "frontier_svg_file", "frontier_text"]


def _points(curve: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return sorted(curve["points"], key=lambda p: p["tokens_per_task"])


@_styled
def frontier_figure(payload: Mapping[str, Any]) -> Markup:
    """Accuracy against tokens per task, per family, with 95 % intervals."""
    fig, ax = new_figure(7.5, 4.8)
    styles = {"fixed": ("-", "o"), "oracle": ("--", "*"), "ladder": (":", "s"), "none": ("-.", "x")}
    for i, (family, curve) in enumerate(payload["curves"].items()):
        pts = [p for p in _points(curve) if p["tokens_per_task"] > 0]
        if not pts:
            continue
        x = [p["tokens_per_task"] for p in pts]
        y = [100 * p["accuracy"] for p in pts]
        xerr = [
            [p["tokens_per_task"] - p["tokens_interval"][0] for p in pts],
            [p["tokens_interval"][1] - p["tokens_per_task"] for p in pts],
        ]
        yerr = [
            [100 * (p["accuracy"] - p["accuracy_interval"][0]) for p in pts],
            [100 * (p["accuracy_interval"][1] - p["accuracy"]) for p in pts],
        ]
        line, marker = styles.get(family.split("@")[0], ("-", "^"))
        ax.errorbar(
            x, y, xerr=xerr, yerr=yerr, linestyle=line, marker=marker, markersize=4,
            linewidth=1.2, capsize=2, color=COLORS[i % len(COLORS)], label=family,
        )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("output tokens per task (reasoning + answer)")
    ax.set_ylabel("accuracy (%)")
    s = payload.get("settings", {})
    ax.set_title(
        f"{s.get('n', '?')} simulated tasks per point ({s.get('model', '?')}); 95 % intervals",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="lower right")
    return svg_of(fig)


def frontier_svg_file(path: str | Path, payload: Mapping[str, Any]) -> Path:
    """Write :func:`frontier_figure` as an SVG file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    svg = str(frontier_figure(payload))
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + svg, encoding="utf-8")
    return path


def frontier_text(payload: Mapping[str, Any], width: int = 64, height: int = 16) -> str:
    """The curves in a character grid (log tokens across, accuracy up), with a legend; where two
    families share a cell the later one is drawn."""
    curves = {
        f: [p for p in _points(c) if p["tokens_per_task"] > 0] for f, c in payload["curves"].items()
    }
    pts = [p for c in curves.values() for p in c]
    if not pts:
        return "(no points)"
    xs = [math.log10(p["tokens_per_task"]) for p in pts]
    ys = [p["accuracy"] for p in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    grid = [[" "] * width for _ in range(height)]
    letters: dict[str, str] = {}
    used: set[str] = set()
    for family in curves:
        base = family.split("@")[0][0].upper()
        letter = base if base not in used else next(c for c in "DEGHKMPQRSTUVWXYZ" if c not in used)
        used.add(letter)
        letters[family] = letter
    for family, c in curves.items():
        for p in c:
            col = (
                0
                if x1 == x0
                else round((math.log10(p["tokens_per_task"]) - x0) / (x1 - x0) * (width - 1))
            )
            row = 0 if y1 == y0 else round((y1 - p["accuracy"]) / (y1 - y0) * (height - 1))
            grid[row][col] = letters[family]
    lines = []
    for r, row in enumerate(grid):
        label = y1 - (y1 - y0) * r / max(1, height - 1)
        lines.append(f"{label:6.2f} |{''.join(row).rstrip()}")
    lines.append(" " * 7 + "+" + "-" * width)
    lo, hi = 10**x0, 10**x1
    lines.append(f"{'':8}{lo:,.0f} tokens/task (log scale){'':>{max(1, width - 40)}}{hi:,.0f}")
    lines.append("        " + "  ".join(f"{v}={k}" for k, v in letters.items()))
    return "\n".join(lines)
