"""The report section of a gate sweep: the frontier with the measured points, the fit, the check.

Design choice: the figure draws the *fitted* model (lines, fractions of the fitted F0) and the
*measurements* (points) on one axis, so a reader sees at once whether the model describes the
gate: raw completion F_short/F0 and the objective T/F0 (T_net/F0 when c > 0) as solid lines
with the measured values as dots (the objective with its confidence bar), rework R(g) dashed
with measured R as crosses, the predicted g* as a dotted vertical line and the measured best
strength ringed. Everything is computed by :mod:`hakaru.gates.sweep`; this module only shows it.

A command puts a :class:`~hakaru.gates.sweep.GateSweepResult` (or a list of them) under
``ReportData.extras["gate_sweep"]``; the builder registered here turns each into a section.
``hakaru gate sweep --html FILE`` writes a report of its own with :func:`write_gate_report`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING

from hakaru.errors import ConfigError
from hakaru.report.sections import Cell, Figure, ReportData, Section, Table, register_section

if TYPE_CHECKING:
    from markupsafe import Markup

    from hakaru.gates.sweep_result import GateSweepResult

__all__ = ["EXTRAS_KEY", "gate_sweep_figure", "gate_sweep_sections", "write_gate_report"]

#: Where a command puts its gate sweep result(s) in :attr:`ReportData.extras`.
EXTRAS_KEY = "gate_sweep"


def gate_sweep_figure(result: GateSweepResult) -> Markup | None:
    """The frontier of the fitted model with the measured points (None without a fit)."""
    if result.fit is None:
        return None
    from hakaru.gates.model import overhead, rework_rate, throughput
    from hakaru.report.plots import new_figure, svg_of

    params = result.fit.params(result.c_rework)
    f0 = params.f0
    z = NormalDist().inv_cdf(0.5 + result.level / 2.0)
    grid = [i / 200 for i in range(201)]
    net = result.c_rework > 0
    name = "T_net" if net else "F_effective"
    fig, ax = new_figure(7.2, 3.6)
    ax.plot(grid, [overhead(params, g)[0] for g in grid], color="#4c78a8", label="F_short/F0 fit")
    ax.plot(
        grid,
        [throughput(params, g, "net") / f0 for g in grid],
        color="#1b9e77",
        label=f"{name}/F0 fit",
    )
    ax.plot(
        grid,
        [rework_rate(params, g) for g in grid],
        color="#d95f02",
        linestyle="--",
        label="R(g) fit",
    )
    gs = [p.g for p in result.points]
    ax.scatter(
        gs,
        [p.raw / f0 for p in result.points],
        color="#4c78a8",
        s=18,
        zorder=3,
        label="measured F_short/F0",
    )
    ax.errorbar(
        gs,
        [p.net / f0 for p in result.points],
        yerr=[z * p.net_se / f0 for p in result.points],
        fmt="o",
        color="#1b9e77",
        markersize=5,
        capsize=3,
        zorder=3,
        label=f"measured {name}/F0",
    )
    ax.scatter(
        gs,
        [p.rework_rate for p in result.points],
        marker="x",
        color="#d95f02",
        zorder=3,
        label="measured R",
    )
    best = next(p for p in result.points if p.g == result.check.measured_best)
    ax.scatter(
        [best.g],
        [best.net / f0],
        s=160,
        facecolors="none",
        edgecolors="black",
        zorder=4,
        label=f"measured best g = {best.g:g}",
    )
    if result.check.g_star is not None:
        ax.axvline(result.check.g_star, color="grey", linewidth=0.9, linestyle=":")
        ax.annotate(
            f"predicted g* = {result.check.g_star:.3f}",
            (result.check.g_star, 0.02),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=8,
        )
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("gate strength g", fontsize=9)
    ax.set_ylabel("fraction of fitted F0; R: of tasks", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return svg_of(fig)


def _ci(low: float, high: float) -> str:
    def fmt(x: float) -> str:
        return f"{x:.4g}" if math.isfinite(x) else "∞"

    return f"[{fmt(low)}, {fmt(high)}]"


def gate_sweep_sections(result: GateSweepResult) -> list[Section]:
    """One section: the figure, the measured points next to the model, the fit and the check."""
    z = NormalDist().inv_cdf(0.5 + result.level / 2.0)
    net = result.c_rework > 0
    objective = "T_net" if net else "T"
    unit = f"tasks/{result.per}"
    rows = []
    for point, model in zip(result.points, result.check.predicted, strict=True):
        best = point.g == result.check.measured_best
        rows.append(
            (
                f"{point.g:g}",
                point.setting,
                f"{point.completed:,}",
                f"{point.rework:,}",
                f"{point.rework_rate:.4f}",
                f"{point.exposure:.4g}",
                f"{point.calls:,}",
                f"{point.raw:.4g}",
                Cell(f"{point.net:.4g} ± {z * point.net_se:.2g}", "good" if best else ""),
                "–" if model is None else f"{model:.4g}",
            )
        )
    measured = Table(
        (
            "g",
            "gate",
            "completed",
            "rework",
            "R",
            "hours" if result.per == "hour" else "USD",
            "calls",
            f"F ({unit})",
            f"{objective} measured ({unit})",
            f"{objective} model",
        ),
        rows,
        caption=f"± is the {result.level:.0%} interval from binomial rework counts.",
    )
    tables = [measured]
    if result.fit is not None:
        fit = result.fit
        fit_rows = [
            ("R0", f"{fit.r0.value:.4g}", _ci(fit.r0.low, fit.r0.high), "fraction of tasks"),
            ("β", f"{fit.beta.value:.4g}", _ci(fit.beta.low, fit.beta.high), "per unit g"),
            ("F0", f"{fit.f0.value:.4g}", _ci(fit.f0.low, fit.f0.high), unit),
            ("α", f"{fit.alpha.value:.4g}", _ci(fit.alpha.low, fit.alpha.high), "per unit g"),
        ]
        tables.append(
            Table(
                ("parameter", "estimate", f"{fit.level:.0%} interval", "unit"),
                fit_rows,
                caption=(
                    f"R² rework {_r2(fit.r2_rework)}, R² completion {_r2(fit.r2_completion)}. "
                    f"{fit.methods['r0_beta']}; {fit.methods['f0_alpha']}."
                ),
            )
        )
    check = result.check
    tables.append(
        Table(
            ("predicted g*", "case", "nearest swept", "measured best", "check"),
            [
                (
                    "–" if check.g_star is None else f"{check.g_star:.3f}",
                    check.case or "–",
                    ", ".join(f"{g:g}" for g in check.nearest) or "–",
                    f"{check.measured_best:g}",
                    Cell("ok", "good") if check.ok else Cell("missed", "bad"),
                )
            ],
        )
    )
    figure = gate_sweep_figure(result)
    objective_text = (
        f"net throughput T_net = (completed − (1 + c)·rework)/exposure with c = {result.c_rework:g}"
        if net
        else "effective throughput T = (completed − rework)/exposure"
    )
    paragraphs = [
        f"The {result.mechanism} gate ran {result.tasks:,} {result.workload} tasks at each "
        f"strength on the simulated LLM (worker error rate {result.worker_error:g} per call). "
        "Rework counts the completed tasks whose answer ground truth finds wrong — errors that "
        f"passed the gate. The objective is the {objective_text}, per {result.per}.",
        f"Prediction check: {check.reason}.",
    ]
    if result.fit_error:
        paragraphs.append(f"No fit: {result.fit_error}.")
    return [
        Section(
            f"Quality gate: {result.mechanism} on {result.workload}",
            paragraphs=tuple(paragraphs),
            figures=()
            if figure is None
            else (Figure(figure, "Fitted model (lines) and measurements (points)"),),
            tables=tuple(tables),
            notes=(f"Reproduce: {result.command()}",),
            key=f"gate-{result.mechanism}-{result.workload}",
        )
    ]


def _r2(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


@register_section("gate-sweep", order=80)
def gate_sweep(data: ReportData) -> list[Section]:
    """Sections for the gate sweep result(s) under ``data.extras["gate_sweep"]``."""
    found = data.extras.get(EXTRAS_KEY)
    if found is None:
        return []
    results = found if isinstance(found, list | tuple) else [found]
    return [s for r in results for s in gate_sweep_sections(r)]


def write_gate_report(path: str | os.PathLike[str], result: GateSweepResult) -> Path:
    """Write a self-contained HTML report of one gate sweep to ``path``."""
    from hakaru.report.html import render_html

    page = render_html(
        gate_sweep_sections(result),
        title=f"hakaru gate sweep: {result.mechanism} on {result.workload}",
        subtitle=result.command(),
    )
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"Cannot write the report to {out}: {exc.strerror or exc}. Choose a writable path"
        ) from None
    return out
