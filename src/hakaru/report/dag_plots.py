"""The figures of a run's call DAG, sized for a reader whatever the number of calls.

Each figure draws a fixed number of elements at most: the DAG itself only up to
:data:`~hakaru.report.dag_summary.DRAW_CAP` calls (a larger run is drawn by its first and last
levels, each panel saying which), the calls per level as a bar per level up to a couple of
hundred levels and as bins of consecutive levels beyond (the widest, mean and narrowest level of
each bin), the critical path's composition as one bar per role. Dependencies are drawn as one
SVG path, not one element per edge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hakaru.report.plots import _ROLE_COLORS, _styled, new_figure, plain, svg_of

if TYPE_CHECKING:
    from markupsafe import Markup

    from hakaru.report.dag_summary import DagDrawing, DagFacts

__all__ = ["dag_figure", "levels_figure", "path_roles_figure"]


def _commas(value: float, _pos: object = None) -> str:
    return f"{value:,.0f}"


def _title(d: DagDrawing, facts: DagFacts) -> str:
    shown = f"{len(d.calls):,} of their {d.of_calls:,} calls" if d.of_calls > len(d.calls) else (
        f"their {len(d.calls):,} calls"
    )  # fmt: skip
    if d.what == "whole":
        return f"the call DAG: all {facts.calls:,} calls"
    which = "first" if d.what == "first" else "last"
    return f"the {which} levels, {d.first_level:,}–{d.last_level:,}: {shown}"


@_styled
def dag_figure(facts: DagFacts) -> Markup | None:
    """The DAG drawn: calls as dots at (level, rank in level), coloured by role, dependencies
    as lines, the critical path's calls ringed in red."""
    if not facts.drawings:
        return None
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    roles = list(dict.fromkeys(role for d in facts.drawings for _, _, role, _ in d.calls))
    panels = len(facts.drawings)
    fig, axes = new_figure(5.2 * panels, 3.0, 1, panels)
    for ax, d in zip([axes] if panels == 1 else axes[0], facts.drawings, strict=True):
        place: dict[int, tuple[int, int]] = {}
        rank: dict[int, int] = {}
        for call, level, _, _ in d.calls:
            place[call] = (level, rank.get(level, 0))
            rank[level] = rank.get(level, 0) + 1
        if d.edges:
            verts = [xy for p, c in d.edges for xy in (place[p], place[c])]
            codes = [Path.MOVETO, Path.LINETO] * len(d.edges)
            ax.add_patch(
                PathPatch(Path(verts, codes), edgecolor="#999999", linewidth=0.4, fill=False)
            )
        for j, role in enumerate(roles):
            pts = [place[c] for c, _, r, _ in d.calls if r == role]
            if pts:
                color = _ROLE_COLORS[j % len(_ROLE_COLORS)]
                ax.scatter([x for x, _ in pts], [y for _, y in pts], s=9, linewidths=0,
                           color=color, label=plain(role), zorder=2)  # fmt: skip
        path = [place[c] for c, _, _, on in d.calls if on]
        if path:
            ring = {"facecolors": "none", "edgecolors": "#d62728", "linewidths": 0.8}
            ax.scatter([x for x, _ in path], [y for _, y in path], s=30, label="critical path",
                       zorder=3, **ring)  # fmt: skip
        ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(_commas))  # never "+2.676e5"
        ax.set_xlabel("level", fontsize=8)
        ax.set_ylabel("calls on the level", fontsize=8)
        ax.set_title(plain(_title(d, facts)), fontsize=9, loc="left")
        ax.legend(fontsize=7, loc="upper right")
    return svg_of(fig)


@_styled
def levels_figure(dag: DagFacts) -> Markup | None:
    """Calls per DAG level (width over depth): a bar per level, or per bin of levels."""
    bins = dag.level_bins
    if not bins:
        return None
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig, ax = new_figure(5.2, 2.8)
    if all(b.first == b.last for b in bins):
        ax.bar([b.first for b in bins], [b.calls for b in bins], color="#4c78a8")
        title = "calls per level of the call DAG"
    else:
        size = bins[0].last - bins[0].first + 1
        xs = [(b.first + b.last) / 2 for b in bins]
        band = {"color": "#4c78a8", "alpha": 0.3, "linewidth": 0}
        ax.fill_between(xs, [b.narrowest for b in bins], [b.widest for b in bins],
                        label="narrowest–widest level", **band)  # fmt: skip
        ax.plot(xs, [b.mean for b in bins], color="#4c78a8", linewidth=1.2, label="mean")
        ax.legend(fontsize=7, loc="upper right")
        title = f"calls per level ({dag.depth:,} levels, in bins of {size:,})"
    ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(_commas))
    ax.set_xlabel("level (1 + deepest dependency)", fontsize=8)
    ax.set_ylabel("calls", fontsize=8)
    ax.set_title(title, fontsize=9, loc="left")
    widths = [b.widest for b in bins]
    if max(widths) / max(min(b.narrowest for b in bins), 1) > 50:
        ax.set_yscale("log")
    return svg_of(fig)


@_styled
def path_roles_figure(dag: DagFacts) -> Markup | None:
    """The critical path by role: its calls and its simulated seconds (None for one role: the
    table says it)."""
    roles = dag.path_roles
    if len(roles) < 2:
        return None
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig, axes = new_figure(5.2, 0.45 * len(roles) + 1.4, 1, 2)
    ys = list(range(len(roles)))[::-1]
    names = [plain(r.role) for r in roles]
    for ax, values, label in (
        (axes[0, 0], [r.calls for r in roles], "calls"),
        (axes[0, 1], [r.seconds for r in roles], "simulated seconds"),
    ):
        ax.barh(ys, values, color=[_ROLE_COLORS[i % len(_ROLE_COLORS)] for i in range(len(roles))])
        ax.set_yticks(ys, names, fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(3))
        ax.xaxis.set_major_formatter(FuncFormatter(_commas))
        ax.set_xlabel(label, fontsize=8)
    axes[0, 1].set_yticks(ys, [""] * len(ys))
    axes[0, 0].set_title(
        f"critical path by role ({dag.path_length:,} calls)", fontsize=9, loc="left"
    )
    return svg_of(fig)
