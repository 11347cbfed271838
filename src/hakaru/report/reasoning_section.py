"""Reasoning budgets in the HTML report: a section builder and ``write_compare_report``.

The report (:mod:`hakaru.report`) is built from registered section builders; this one reads a
:meth:`~hakaru.reasoning.compare.PolicyComparison.as_dict` payload from
``ReportData.extras["reasoning_compare"]`` and renders the policy table — tokens saved against
accuracy lost — with the settings and the calibration cost underneath. Importing this module
registers the builder; ``hakaru reasoning compare --html PATH`` uses :func:`write_compare_report`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hakaru.report.html import write_report
from hakaru.report.sections import Cell, ReportData, Section, Table, register_section

__all__ = ["EXTRA_KEY", "compare_section", "write_compare_report"]

EXTRA_KEY = "reasoning_compare"


@register_section("reasoning", order=90.0)
def compare_section(data: ReportData) -> Iterable[Section]:
    """The "Reasoning budgets" section, if ``data.extras`` holds a comparison."""
    payload = data.extras.get(EXTRA_KEY)
    if not payload:
        return []
    s = payload["settings"]
    rows = []
    for r in payload["policies"]:
        lost = r["accuracy_lost_pts"]
        rows.append(
            (
                Cell(r["policy"], "code"),
                f"{r['calls']:,}",
                f"{r['output_tokens']:,}",
                f"{r['tokens_per_task']:,.0f}",
                f"{r['accuracy']:.3f}",
                f"{r['unanswered']}",
                f"{100 * r['tokens_saved']:+.1f}%",
                Cell(f"{lost:+.1f} pt", "bad" if lost > 1 else "good" if lost <= 0 else ""),
            )
        )
    cal = payload["calibration"]
    table = Table(
        (
            "policy",
            "calls",
            "output tokens",
            "tokens/task",
            "accuracy",
            "unanswered",
            "tokens saved",
            "accuracy lost",
        ),
        rows,
        caption=f"against {payload['baseline']} (no budget); the same {s['n']} tasks per policy",
    )
    return [
        Section(
            "Reasoning budgets",
            paragraphs=(
                f"Budget policies on {s['n']} simulated reasoning tasks (model {s['model']}, "
                f"levels {', '.join(str(b) for b in s['levels'])} tokens, fixed budget "
                f"{s['fixed']}, difficulty policy at {s['tokens_per_task']:,.0f} tokens per task "
                f"on average, {s['buckets']} difficulty buckets, estimate noise {s['noise']}).",
            ),
            tables=(table,),
            notes=(
                f"The difficulty policy learned from {cal['tasks']} calibration tasks answered at "
                f"every level ({cal['calls']:,} calls, {cal['output_tokens']:,} output tokens), "
                "not counted in the table.",
            ),
            key="reasoning",
        )
    ]


def write_compare_report(path: str | Path, payload: Mapping[str, Any]) -> Path:
    """Write an HTML report holding the budget comparison ``payload``."""
    data = ReportData(
        title="hakaru report: reasoning budgets",
        subtitle=f"hakaru reasoning compare, seed {payload['settings']['seed']}",
        extras={EXTRA_KEY: dict(payload)},
    )
    return write_report(path, data)
