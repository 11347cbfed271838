"""The reasoning-budget frontier in the HTML report: the figure and the equal-token table.

Reads a :meth:`~hakaru.reasoning.frontier.Frontier.as_dict` payload from
``ReportData.extras["reasoning_frontier"]``; importing this module registers the builder.
``hakaru reasoning frontier --html PATH`` uses :func:`write_frontier_report`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hakaru.report.frontier_plots import frontier_figure
from hakaru.report.html import write_report
from hakaru.report.sections import (
    Cell,
    Figure,
    ReportData,
    Section,
    Table,
    Tone,
    register_section,
)

__all__ = ["EXTRA_KEY", "frontier_section", "write_frontier_report"]

EXTRA_KEY = "reasoning_frontier"


def _tone(c: Mapping[str, Any]) -> Tone:
    lo, hi = c["difference_interval_pts"]
    return "good" if lo > 0 else "bad" if hi < 0 else ""


@register_section("reasoning-frontier", order=91.0)
def frontier_section(data: ReportData) -> Iterable[Section]:
    """The "Reasoning-budget frontier" section, if ``data.extras`` holds a frontier."""
    payload = data.extras.get(EXTRA_KEY)
    if not payload:
        return []
    s = payload["settings"]
    rows = [
        (
            Cell(c["policy"], "code"),
            c["family"],
            f"{c['tokens_per_task']:,.0f}",
            f"{100 * c['accuracy']:.1f}",
            f"{100 * c['reference_accuracy']:.1f}",
            Cell(
                f"{c['difference_pts']:+.2f} [{c['difference_interval_pts'][0]:+.2f}, "
                f"{c['difference_interval_pts'][1]:+.2f}]",
                _tone(c),
            ),
            f"{c['p_value']:.3g}",
        )
        for c in payload["comparisons"]
    ]
    table = Table(
        ("policy", "family", "tokens/task", "accuracy %", f"{payload['reference']} %",
         "difference (pts, 95 %)", "p"),
        rows,
        caption=f"each point against the {payload['reference']} curve interpolated at its tokens, "
        "paired on the same tasks",
    )  # fmt: skip
    return [
        Section(
            "Reasoning-budget frontier",
            paragraphs=(
                f"Every policy family swept over its knob on the same {s['n']} simulated tasks "
                f"(model {s['model']}); accuracy against output tokens per task with 95 % "
                "intervals. Exact for the simulator, not measured on a model.",
            ),
            figures=(Figure(frontier_figure(payload), "accuracy against tokens per task"),),
            tables=(table,),
            key="reasoning-frontier",
        )
    ]


def write_frontier_report(path: str | Path, payload: Mapping[str, Any]) -> Path:
    """Write an HTML report holding the frontier ``payload``."""
    data = ReportData(
        title="hakaru report: reasoning-budget frontier",
        subtitle=f"hakaru reasoning frontier, seed {payload['settings']['seed']}",
        extras={EXTRA_KEY: dict(payload)},
    )
    return write_report(path, data)
