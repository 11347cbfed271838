"""The throughput–quality frontier (seed §8): every quantity of the model over a grid of g.

Rows are normalised by F0 like the seed's table (F_short/F0, R, F_effective/F0) and add the net
column T_net/F0. The optima of both objectives are inserted as labelled rows, so the table shows
where the maximum really is. :func:`frontier_report` adds an SVG plot for the HTML report;
matplotlib is imported inside it, never at module import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from hakaru.errors import ConfigError
from hakaru.gates.model import GateParams, overhead, rework_rate, throughput
from hakaru.gates.optimum import optimize

__all__ = ["FrontierReport", "FrontierRow", "frontier", "frontier_report", "frontier_svg"]


@dataclass(frozen=True)
class FrontierRow:
    """One gate strength on the frontier; throughputs are fractions of F0 (dimensionless)."""

    g: float  # gate strength in [0, 1]
    raw_completion: float  # F_short(g)/F0 = 1 − α·g (seed §4)
    rework: float  # R(g) = R0·e^(−βg) (seed §3)
    effective: float  # F_effective/F0 = (1 − αg)(1 − R) (seed §2, §8)
    net: float  # T_net/F0 = (1 − αg)(1 − (1 + c)R) (seed §2)
    label: str = ""  # "g* effective", "g* net", or "" for a grid point

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class FrontierReport:
    """The frontier as table rows plus an inline SVG plot (for the HTML report)."""

    rows: list[FrontierRow]
    svg: str


def _row(p: GateParams, g: float, label: str = "") -> FrontierRow:
    return FrontierRow(
        g=g,
        raw_completion=overhead(p, g)[0],
        rework=rework_rate(p, g),
        effective=throughput(p, g, "effective") / p.f0,
        net=throughput(p, g, "net") / p.f0,
        label=label,
    )


def frontier(params: GateParams, steps: int = 11, *, mark_optima: bool = True) -> list[FrontierRow]:
    """The frontier at ``steps`` evenly spaced strengths from 0 to 1 (seed §8's table).

    With ``mark_optima`` the optimum of the effective objective (and of the net one when c > 0)
    is inserted as an extra labelled row, in order of g.

    >>> rows = frontier(GateParams(r0=0.258, beta=3.16, alpha=0.30), steps=6)
    >>> [(round(r.g, 3), round(r.effective, 3), r.label) for r in rows][:3]
    [(0.0, 0.742, ''), (0.2, 0.811, ''), (0.316, 0.819, 'g* effective')]
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ConfigError(f"steps must be a whole number >= 2, got {steps!r}. Use e.g. 11")
    rows = [_row(params, i / (steps - 1)) for i in range(steps)]
    if mark_optima:
        rows.append(_row(params, optimize(params, "effective").g_star, "g* effective"))
        if params.c_rework > 0.0:
            rows.append(_row(params, optimize(params, "net").g_star, "g* net"))
        rows.sort(key=lambda r: (r.g, r.label))
    return rows


def frontier_svg(
    params: GateParams,
    *,
    measured: Sequence[tuple[float, float]] = (),
    points: int = 201,
    title: str = "Throughput–quality frontier",
) -> str:
    """An SVG plot of F_short/F0, F_effective/F0, T_net/F0 and R over g, with the optima marked.

    ``measured`` holds observed (g, effective throughput) pairs in F0's unit; they are drawn as
    points divided by F0. matplotlib is imported here (lazily) with the Agg backend.
    """
    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    grid = [_row(params, i / (points - 1)) for i in range(points)]
    g = [r.g for r in grid]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    try:
        ax.plot(g, [r.raw_completion for r in grid], label="F_short/F0 (raw completion)")
        ax.plot(g, [r.effective for r in grid], label="F_effective/F0")
        if params.c_rework > 0.0:
            ax.plot(g, [r.net for r in grid], label=f"T_net/F0 (c = {params.c_rework:g})")
        ax.plot(g, [r.rework for r in grid], linestyle="--", label="R(g) rework rate")
        for objective in ("effective", "net") if params.c_rework > 0.0 else ("effective",):
            opt = optimize(params, objective)
            ax.axvline(opt.g_star, color="grey", linewidth=0.8, linestyle=":")
            ax.annotate(
                f"g* {objective} = {opt.g_star:.3f}",
                (opt.g_star, opt.throughput_at_optimum / params.f0),
                textcoords="offset points",
                xytext=(4, 6),
                fontsize=8,
            )
        if measured:
            ax.scatter(
                [m[0] for m in measured],
                [m[1] / params.f0 for m in measured],
                color="black",
                zorder=3,
                label="measured F_effective/F0",
            )
        ax.set_xlabel("gate strength g")
        ax.set_ylabel("fraction of F0")
        ax.set_xlim(0.0, 1.0)
        ax.set_title(title)
        ax.legend(fontsize=8)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    finally:
        plt.close(fig)
    return buffer.getvalue()


def frontier_report(
    params: GateParams, *, steps: int = 11, measured: Sequence[tuple[float, float]] = ()
) -> FrontierReport:
    """Rows (:func:`frontier`) and the SVG plot (:func:`frontier_svg`) for a report section."""
    return FrontierReport(rows=frontier(params, steps), svg=frontier_svg(params, measured=measured))
