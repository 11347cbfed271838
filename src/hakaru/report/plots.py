"""The report's figures: matplotlib (Agg backend) drawn to inline SVG.

Design choice: every figure is SVG text embedded in the HTML, so the report is one file that
works offline and scales without blur. matplotlib is imported inside :func:`new_figure` only —
``import hakaru`` never loads it. Text stays text in the SVG (``svg.fonttype = "none"``: small
files, selectable labels), escaped by matplotlib's XML writer; every figure gets its own
``svg.hashsalt`` so that the ids of two inline SVGs (clip paths, markers) never collide in one
page. :func:`svg_of` is the one way a figure becomes markup, for the built-in sections and for
any section another capability adds.

Growth plots are log-log: a class is a straight line there only for powers, but every class
reads as "steeper is worse", and costs spanning six decades stay legible. Fitted curves are
solid over the measured sizes and dashed beyond; the shaded band is the prediction interval
(:meth:`hakaru.analysis.ClassFit.predict_interval`, widened to the hull of the close classes
when the class is ambiguous).
"""

from __future__ import annotations

import functools
import io
import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from markupsafe import Markup

from hakaru.report.run_summary import RunSummary
from hakaru.report.summary import METRICS, MetricFit, StudyResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


__all__ = [
    "COLORS",
    "growth_figure",
    "new_figure",
    "plain",
    "role_shares_figure",
    "run_roles_figure",
    "svg_of",
    "timeline_figure",
    "variant_color",
    "work_span_figure",
]

#: Optimistic designs are drawn in orange, optimized ones in teal, others in this order.
COLORS = ("#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")
_ROLE_COLORS = (
    "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2",
    "#b279a2", "#ff9da6", "#9d755d", "#bab0ac", "#eeca3b",
)  # fmt: skip
_EXTEND = 4.0  # extrapolate fitted curves to this multiple of the largest measured size
_HEADROOM = 1e3  # … but not above this multiple of the largest measured value
_counter = itertools.count()
_STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans"
}  # ships with matplotlib: no font lookup, no warnings
P = ParamSpec("P")
R = TypeVar("R")


def _styled(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a figure function under the report's matplotlib settings (rc_context)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import matplotlib

        with matplotlib.rc_context(_STYLE):  # type: ignore[arg-type]
            return fn(*args, **kwargs)

    return wrapper


def new_figure(width: float, height: float, rows: int = 1, cols: int = 1) -> tuple[Figure, Any]:
    """A matplotlib figure (Agg, no pyplot state) and its axes, in the report's style.

    >>> fig, ax = new_figure(4, 3)
    >>> "<svg" in svg_of(fig)
    True
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # headless; no pyplot, so no global backend state is touched
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.grid(True, which="major", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(labelsize=8)
    return fig, (axes[0, 0] if rows == cols == 1 else axes)


def svg_of(fig: Figure) -> Markup:
    """The figure as inline SVG markup (no XML prolog), with ids unique in the page.

    The result is :class:`markupsafe.Markup`: it is inserted into the report as markup, so it
    must come from matplotlib, never from user text.
    """
    import matplotlib

    _dense_short_log_axes(fig)
    buf = io.StringIO()
    style: dict[str, Any] = {"svg.fonttype": "none", "svg.hashsalt": f"hakaru-{next(_counter)}"}
    with matplotlib.rc_context(style):  # type: ignore[arg-type]
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    start = text.find("<svg")
    text = text[start:]
    # Let CSS size it: keep the viewBox, drop the fixed width and height in pt.
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 role="img"', text, count=1)
    if "<script" in text.lower():  # matplotlib never writes one; a report must never hold one
        raise ValueError("refusing to embed an SVG that contains a script element")
    return Markup(text)


def plain(text: object) -> str:
    """User text (variant, role, model names) for a label: ``$`` must not start mathtext."""
    return str(text).replace("$", r"\$")


def _dense_short_log_axes(fig: Figure) -> None:
    """Ticks at 1, 2, 5 × 10^k on log axes spanning under two decades (else one tick shows)."""
    from matplotlib.ticker import LogLocator

    for ax in fig.axes:
        for axis, lim, scale in ((ax.xaxis, ax.get_xlim(), ax.get_xscale()),
                                 (ax.yaxis, ax.get_ylim(), ax.get_yscale())):  # fmt: skip
            lo, hi = sorted(lim)
            if scale == "log" and lo > 0 and hi / lo < 100:
                axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))


def variant_color(labels: Sequence[str], variant: str) -> str:
    """The colour of ``variant`` among ``labels`` (optimistic first)."""
    i = list(labels).index(variant) if variant in labels else len(labels)
    return COLORS[i % len(COLORS)]


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _tick(value: float, _pos: object = None) -> str:
    """A log-axis tick as plain text (10³, 2, 0.5): mathtext labels cost seconds per report."""
    if value <= 0:
        return ""
    exponent = math.log10(value)
    if abs(exponent - round(exponent)) < 1e-9 and abs(exponent) >= 4:
        return "10" + str(round(exponent)).translate(_SUPERSCRIPT)
    return f"{value:g}"


def _log_axes(ax: Axes) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.minorticks_off()  # minor ticks over many decades cost seconds and add nothing
    ax.xaxis.set_major_formatter(FuncFormatter(_tick))
    ax.yaxis.set_major_formatter(FuncFormatter(_tick))


def _band(series: MetricFit, x_end: float, level: float) -> tuple[Any, Any, Any, Any]:
    """Grid, fitted median, and interval low/high from the smallest size to ``x_end``."""
    import numpy as np

    fit = series.fit
    assert fit is not None
    lo = min(fit.x)
    xs = np.geomspace(lo, max(x_end, lo * 1.0001), 120)
    mid = fit.best.predict(xs)
    low, high = fit.best.predict_interval(xs, level)
    for other in fit.close_candidates:  # an ambiguous class widens the band (as FitResult does)
        o_low, o_high = other.predict_interval(xs, level)
        low, high = np.minimum(low, o_low), np.maximum(high, o_high)
    cap, floor = max(fit.y) * _HEADROOM, min(fit.y) / _HEADROOM
    keep = np.isfinite(mid) & (mid <= cap)
    keep[0] = True
    high = np.clip(np.where(np.isnan(high), mid, high), floor, cap)
    low = np.clip(np.where(np.isnan(low), mid, low), floor, cap)
    return xs[keep], mid[keep], low[keep], high[keep]


def _draw_series(ax: Axes, series: MetricFit, color: str, level: float, label: str | None) -> None:
    means = series.means()
    ax.scatter(series.x, series.y, s=9, color=color, alpha=0.35, linewidths=0)
    ax.plot(
        list(means),
        list(means.values()),
        "o",
        ms=3.5,
        color=color,
        label=None if label is None else plain(label),
    )
    fit = series.fit
    if fit is None or not any(y > 0 for y in series.y):
        return
    import numpy as np

    top = max(fit.x)
    xs, mid, low, high = _band(series, top * _EXTEND, level)
    split = int(np.searchsorted(xs, top))
    ax.plot(xs[: split + 1], mid[: split + 1], "-", color=color, linewidth=1.4)
    ax.plot(xs[split:], mid[split:], "--", color=color, linewidth=1.2)
    ax.fill_between(xs, low, high, color=color, alpha=0.12, linewidth=0)


@_styled
def growth_figure(result: StudyResult, level: float = 0.9) -> Markup:
    """Small multiples: every metric of :data:`METRICS` against ``x``, both variants, fitted."""
    metrics = [m for m in METRICS if m in result.fits]
    cols = 3
    rows = math.ceil(len(metrics) / cols)
    fig, axes = new_figure(10.5, 2.4 * rows + 0.4, rows, cols)
    flat = list(axes.flat)
    for ax, metric in zip(flat, metrics, strict=False):
        classes = []
        for v in result.labels:
            series = result.fits[metric][v]
            color = variant_color(result.labels, v)
            _draw_series(ax, series, color, level, v)
            classes.append(f"{v}: {series.fit.complexity if series.fit else '–'}")
        _log_axes(ax)
        ax.set_title(METRICS[metric], fontsize=9, loc="left")
        ax.text(
            0.02,
            0.97,
            plain("\n".join(classes)),
            transform=ax.transAxes,
            fontsize=7,
            va="top",
            ha="left",
            color="#333333",
        )
        ax.set_xlabel(plain(result.x), fontsize=8)
    for ax in flat[len(metrics) :]:
        ax.set_visible(False)
    handles, labels = flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper right", fontsize=8, ncols=len(labels))
    fig.suptitle(
        f"{plain(result.title)}: measured (dots), fitted (lines), {level:.0%} bands",
        fontsize=10,
        x=0.01,
        ha="left",
    )
    return svg_of(fig)


@_styled
def work_span_figure(result: StudyResult, level: float = 0.9) -> Markup:
    """Work (forward passes) against span (forward passes on the critical path), per variant."""
    fig, axes = new_figure(10.5, 3.0, 1, 2)
    left, right = axes[0, 0], axes[0, 1]
    for v in result.labels:
        color = variant_color(result.labels, v)
        work = result.fits["forward_passes"][v].means()
        span = result.fits["span_forward_passes"][v].means()
        left.plot(
            list(work), list(work.values()), "o-", color=color, ms=3, label=plain(f"{v} work")
        )
        left.plot(
            list(span), list(span.values()), "s--", color=color, ms=3, label=plain(f"{v} span")
        )
        par = {x: work[x] / span[x] for x in work if span.get(x)}
        right.plot(list(par), list(par.values()), "o-", color=color, ms=3, label=plain(v))
    _log_axes(left)
    left.set_title("work and span (forward passes)", fontsize=9, loc="left")
    left.legend(fontsize=7)
    _log_axes(right)
    right.set_title("parallelism = work / span", fontsize=9, loc="left")
    right.legend(fontsize=7)
    for ax in (left, right):
        ax.set_xlabel(plain(result.x), fontsize=8)
    return svg_of(fig)


@_styled
def role_shares_figure(results: Sequence[StudyResult], key: str = "aalp") -> Markup | None:
    """Stacked bars: each design's cost split by role at its study's largest size."""
    bars: list[tuple[str, dict[str, float]]] = []
    for r in results:
        for v in r.labels:
            roles = r.roles.get(v, {})
            total = sum(row.get(key, 0.0) for row in roles.values())
            if total > 0:
                shares = {role: row.get(key, 0.0) / total for role, row in roles.items()}
                bars.append((f"{r.workload} {v} ({r.x}={r.role_size:g})", shares))
    if not bars:
        return None
    all_roles = list(dict.fromkeys(role for _, shares in bars for role in shares))
    if len(all_roles) < 2:  # every bar would be one full bar
        return None
    fig, ax = new_figure(10.5, 0.45 * len(bars) + 1.2)
    ys = list(range(len(bars)))[::-1]
    for j, role in enumerate(all_roles):
        lefts = [sum(s.get(r, 0.0) for r in all_roles[:j]) for _, s in bars]
        widths = [s.get(role, 0.0) for _, s in bars]
        ax.barh(
            ys,
            widths,
            left=lefts,
            color=_ROLE_COLORS[j % len(_ROLE_COLORS)],
            label=plain(role),
            height=0.7,
        )
        for y, lft, w in zip(ys, lefts, widths, strict=True):
            if w >= 0.08:
                ax.text(
                    lft + w / 2, y, f"{w:.0%}", ha="center", va="center", fontsize=7, color="white"
                )
    ax.set_yticks(ys, [plain(name) for name, _ in bars], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of AALP cost", fontsize=8)
    ax.legend(
        fontsize=7, ncols=min(len(all_roles), 6), loc="lower right", bbox_to_anchor=(1.0, 1.0)
    )
    ax.grid(False)
    return svg_of(fig)


@_styled
def timeline_figure(run: RunSummary) -> Markup | None:
    """Each call as a bar from its simulated start to end, at its DAG level, coloured by role."""
    if not run.timeline:
        return None
    roles = list(dict.fromkeys(role for *_, role in run.timeline))
    fig, ax = new_figure(5.2, 2.8)
    for j, role in enumerate(roles):
        segs = [(s, e, lv) for s, e, lv, r in run.timeline if r == role]
        ax.hlines(
            [lv for *_, lv in segs],
            [s for s, *_ in segs],
            [e for _, e, _ in segs],
            color=_ROLE_COLORS[j % len(_ROLE_COLORS)],
            linewidth=3,
            alpha=0.6,
            label=plain(role),
        )
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.invert_yaxis()
    ax.set_xlabel("simulated time (s)", fontsize=8)
    ax.set_ylabel("level", fontsize=8)
    ax.set_title("timeline (critical path = simulated time)", fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="lower right")
    return svg_of(fig)


@_styled
def run_roles_figure(groups: Mapping[str, Mapping[str, float]], title: str) -> Markup | None:
    """Horizontal bars: AALP cost and USD share per role (or model) of one run; None for a
    single role (its share is 100 %: the chart would say nothing)."""
    names = list(groups)
    total_aalp = sum(g.get("aalp", 0.0) for g in groups.values())
    total_usd = sum(g.get("dollars", 0.0) for g in groups.values())
    if len(names) < 2 or total_aalp <= 0:
        return None
    fig, ax = new_figure(5.2, 0.5 * len(names) + 1.3)
    ys = list(range(len(names)))[::-1]
    aalp = [groups[n].get("aalp", 0.0) / total_aalp for n in names]
    usd = [groups[n].get("dollars", 0.0) / total_usd if total_usd else 0.0 for n in names]
    ax.barh([y + 0.18 for y in ys], aalp, height=0.36, color="#4c78a8", label="AALP cost")
    ax.barh([y - 0.18 for y in ys], usd, height=0.36, color="#f58518", label="USD")
    ax.set_yticks(ys, [plain(n) for n in names], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_title(plain(title), fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="lower right")
    return svg_of(fig)
