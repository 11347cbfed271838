"""The figures of the MAKER section: undecided steps per round and per vote, errors by length.

Each figure is a function of a :class:`~hakaru.report.maker_load.MakerReport` (and, for the
undecided steps, its fitted :class:`~hakaru.report.maker_votes.Decay`) that returns the figure as
inline SVG, or None when the run has nothing to show. They run under the report's matplotlib
settings (:func:`hakaru.report.plots._styled`) and import matplotlib only when called, so that
building the report's tables does not pay for it; the sections that place them are in
:mod:`hakaru.report.maker_section`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hakaru.report.plots import _styled, new_figure, svg_of

if TYPE_CHECKING:
    from markupsafe import Markup

    from hakaru.report.maker_load import MakerReport
    from hakaru.report.maker_votes import Decay

__all__: list[str] = []


@_styled
def _undecided_figure(r: MakerReport, decay: Decay | None) -> Markup | None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

    d = r.diagnostics
    by_round = d.undecided_by_round()
    by_vote = d.undecided()
    if not by_round:
        return None
    fig, axes = new_figure(10.5, 3.2, 1, 2)
    left, right = axes[0, 0], axes[0, 1]
    xs = [0] + [row["round"] for row in by_round]
    ys = [d.steps] + [row["undecided"] for row in by_round]
    shown = [(x, y) for x, y in zip(xs, ys, strict=True) if y > 0]
    left.plot([x for x, _ in shown], [y for _, y in shown], "o", color="#4c78a8", ms=5,
              label="undecided steps")  # fmt: skip
    if decay is not None and decay.q > 0:
        import numpy as np

        grid = np.linspace(1, max(decay.rounds, 2), 50)
        left.plot(grid, [decay.predict(g) for g in grid], "-", color="#d95f02", linewidth=1.4,
                  label=f"fit: {decay.start:,}·{decay.q:.3g}^(r−1)")  # fmt: skip
    left.set_yscale("log")
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("sampling round r (round 1: the first k draws)", fontsize=8)
    left.set_title("steps still undecided after round r", fontsize=9, loc="left")
    left.legend(fontsize=7, loc="upper right")
    if by_vote:
        vx = [row["votes"] for row in by_vote if row["undecided"] > 0]
        vy = [row["undecided"] for row in by_vote if row["undecided"] > 0]
        right.plot(vx, vy, "o", color="#4c78a8", ms=5, label="observed")
        px = [row["votes"] for row in by_vote if row["predicted"]]
        py = [row["predicted"] for row in by_vote if row["predicted"]]
        if px:
            right.plot(px, py, "--", color="#777777", linewidth=1.2,
                       label="two candidates, i.i.d. at p̂")  # fmt: skip
        right.set_yscale("log")
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
        right.set_xlabel("valid votes n", fontsize=8)
        right.set_title("steps still undecided after n valid votes", fontsize=9, loc="left")
        if vx or px:
            right.legend(fontsize=7, loc="upper right")
    else:
        right.set_visible(False)
    for ax in (left, right):  # plain tick labels: mathtext costs time and adds nothing here
        ax.yaxis.set_major_formatter(FuncFormatter(_count_tick))
        ax.yaxis.set_minor_formatter(NullFormatter())
    return svg_of(fig)


def _count_tick(value: float, _pos: object = None) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


@_styled
def _length_figure(r: MakerReport) -> Markup | None:
    rows = r.diagnostics.by_length()
    if not rows:
        return None
    fig, ax = new_figure(10.5, 2.9)
    xs = list(range(len(rows)))
    err = [row["error_rate"] or 0.0 for row in rows]
    flag = [row["flagged"] / (row["votes"] + row["flagged"]) for row in rows]
    ax.bar([x - 0.2 for x in xs], err, width=0.4, color="#cf222e", label="wrong / valid votes")
    ax.bar([x + 0.2 for x in xs], flag, width=0.4, color="#9a6700",
           label="flagged / draws")  # fmt: skip
    draws = [row["votes"] + row["flagged"] for row in rows]
    labels = [
        f"{row['tokens']}\n{n:,} draw{'' if n == 1 else 's'}"
        for row, n in zip(rows, draws, strict=True)
    ]
    ax.set_xticks(xs, labels, fontsize=7)
    ax.set_xlabel("output tokens of the draw", fontsize=8)
    ax.set_ylabel("rate", fontsize=8)
    ax.set_title("error rate against response length", fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="upper left")
    return svg_of(fig)
