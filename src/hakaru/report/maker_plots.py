"""The figures of the MAKER section: undecided steps per round and per vote, errors by length.

Each figure is a function of a :class:`~hakaru.report.maker_load.MakerReport` (and, for the
undecided steps, its fitted :class:`~hakaru.report.maker_votes.Decay`) that returns the figure as
inline SVG, or None when the run has nothing to show. They run under the report's matplotlib
settings (:func:`hakaru.report.plots._styled`) and import matplotlib only when called, so that
building the report's tables does not pay for it; the sections that place them are in
:mod:`hakaru.report.maker_section`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hakaru.report.plots import _styled, new_figure, svg_of

if TYPE_CHECKING:
    from markupsafe import Markup

    from hakaru.report.maker_load import MakerReport
    from hakaru.report.maker_votes import Decay

__all__ = ["MIN_DRAWS", "length_bins"]


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


#: Draws a length bin needs for its rates to be estimated; smaller bins join their neighbour.
MIN_DRAWS = 30


def length_bins(rows: list[dict[str, Any]], min_draws: int = MIN_DRAWS) -> list[dict[str, Any]]:
    """The 100-token bins of :meth:`~hakaru.mdap.diagnostics.MakerDiagnostics.by_length`,
    consecutive bins merged until each holds ``min_draws`` draws (a last small one joins the
    bin before it), with the 95 % Wilson interval of each rate (``scipy.stats.binomtest``).

    >>> rows = [{"tokens": "0-99", "votes": 500, "wrong": 5, "flagged": 0},
    ...         {"tokens": "100-199", "votes": 6, "wrong": 6, "flagged": 0},
    ...         {"tokens": "200-299", "votes": 14, "wrong": 14, "flagged": 0},
    ...         {"tokens": "300-399", "votes": 40, "wrong": 1, "flagged": 0}]
    >>> [(b["tokens"], b["votes"], b["wrong"]) for b in length_bins(rows)]
    [('0-99', 500, 5), ('100-399', 60, 21)]
    """
    from scipy.stats import binomtest

    groups: list[list[dict[str, Any]]] = []
    for row in rows:
        if groups and sum(r["votes"] + r["flagged"] for r in groups[-1]) < min_draws:
            groups[-1].append(row)
        else:
            groups.append([row])
    if len(groups) > 1 and sum(r["votes"] + r["flagged"] for r in groups[-1]) < min_draws:
        groups[-2].extend(groups.pop())
    out = []
    for group in groups:
        votes = sum(r["votes"] for r in group)
        wrong = sum(r["wrong"] for r in group)
        flagged = sum(r["flagged"] for r in group)
        first, last = group[0]["tokens"].split("-")[0], group[-1]["tokens"].split("-")[-1]
        merged: dict[str, Any] = {
            "tokens": f"{first}-{last}",
            "votes": votes,
            "wrong": wrong,
            "flagged": flagged,
            "draws": votes + flagged,
            "error_rate": wrong / votes if votes else None,
            "error_interval": None,
            "flagged_share": flagged / (votes + flagged) if votes + flagged else 0.0,
            "flagged_interval": None,
        }
        if votes:
            ci = binomtest(wrong, votes).proportion_ci(0.95, method="wilson")
            merged["error_interval"] = (float(ci.low), float(ci.high))
        if votes + flagged:
            ci = binomtest(flagged, votes + flagged).proportion_ci(0.95, method="wilson")
            merged["flagged_interval"] = (float(ci.low), float(ci.high))
        out.append(merged)
    return out


def _count_tick(value: float, _pos: object = None) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


@_styled
def _length_figure(r: MakerReport) -> Markup | None:
    rows = length_bins(r.diagnostics.by_length())
    if not rows:
        return None
    fig, ax = new_figure(10.5, 2.9)
    xs = list(range(len(rows)))
    for shift, key, color, label in (
        (-0.2, "error", "#cf222e", "wrong / valid votes"),
        (0.2, "flagged", "#9a6700", "flagged / draws"),
    ):
        rates = [(row["error_rate"] or 0.0) if key == "error" else row["flagged_share"]
                 for row in rows]  # fmt: skip
        spans = [
            row[f"{key}_interval"] or (rate, rate) for row, rate in zip(rows, rates, strict=True)
        ]
        low = [rate - lo for rate, (lo, _) in zip(rates, spans, strict=True)]
        high = [hi - rate for rate, (_, hi) in zip(rates, spans, strict=True)]
        at = [x + shift for x in xs]
        ax.bar(at, rates, width=0.4, color=color, label=label + " (95 % interval)")
        ax.errorbar(at, rates, yerr=[low, high], fmt="none", ecolor="#333333", capsize=2, lw=0.8)
        for x, rate, (_, hi) in zip(at, rates, spans, strict=True):
            ax.annotate(f"{rate:.1%}", (x, hi), ha="center", va="bottom", fontsize=6,
                        xytext=(0, 1), textcoords="offset points")  # fmt: skip
    labels = [
        f"{row['tokens']}\n{row['draws']:,} draw{'' if row['draws'] == 1 else 's'}" for row in rows
    ]
    ax.set_xticks(xs, labels, fontsize=7)
    ax.set_xlabel("output tokens of the draw", fontsize=8)
    ax.set_ylabel("rate", fontsize=8)
    ax.set_title("error rate against response length", fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="upper left")
    return svg_of(fig)
