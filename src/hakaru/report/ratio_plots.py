"""The figures of a comparison: the cost ratio of two designs, and one panel per claim.

Design choice: the ratio original/optimized is drawn as the quotient of the two designs' fitted
curves (:class:`hakaru.analysis.ratio.RatioClass`), never as a fit of its own: the dots are the
measured ratios (geometric means of the repeats), the line is a's fitted median over b's —
solid over the measured sizes, dashed beyond — and the band the conservative interval
[low_a/high_b, high_a/low_b]. Drawing helpers and styles are those of
:mod:`hakaru.report.plots`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from markupsafe import Markup

from hakaru.report.plots import (
    _EXTEND,
    _HEADROOM,
    _draw_series,
    _log_axes,
    _styled,
    new_figure,
    plain,
    svg_of,
    variant_color,
)
from hakaru.report.summary import StudyResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from hakaru.analysis.compare import Comparison

__all__ = ["claims_figure", "ratio_figure"]


def _draw_ratio(ax: Axes, c: Comparison, color: str, level: float) -> None:
    """The measured ratios (dots) and the quotient of the two fitted curves, with its band."""
    import numpy as np

    xs_m = [x for x, _ in c.measured_ratio]
    ax.plot(xs_m, [y for _, y in c.measured_ratio], "o", ms=3.5, color=color)
    lo = min(min(c.a.x), min(c.b.x))
    top = max(max(c.a.x), max(c.b.x))
    xs = np.geomspace(lo, max(top * _EXTEND, lo * 1.0001), 120)
    with np.errstate(over="ignore", invalid="ignore"):
        mid = np.exp(c.ratio.predict_log(xs))
    low, high = c.ratio.interval(xs, level)
    ys = [y for _, y in c.measured_ratio] or list(mid[np.isfinite(mid)])
    cap, floor = max(ys) * _HEADROOM, min(ys) / _HEADROOM
    keep = np.isfinite(mid) & (mid <= cap) & (mid >= floor)
    keep[0] = True
    low = np.clip(np.where(np.isfinite(low), low, floor), floor, cap)[keep]
    high = np.clip(np.where(np.isfinite(high), high, cap), floor, cap)[keep]
    xs, mid = xs[keep], mid[keep]
    split = int(np.searchsorted(xs, top))
    ax.plot(xs[: split + 1], mid[: split + 1], "-", color=color, linewidth=1.4)
    ax.plot(xs[split:], mid[split:], "--", color=color, linewidth=1.2)
    ax.fill_between(xs, low, high, color=color, alpha=0.12, linewidth=0)
    _log_axes(ax)


@_styled
def ratio_figure(result: StudyResult, level: float = 0.9) -> Markup:
    """The compared metric of both designs with fits and bands, and their ratio with its fit."""

    fig, axes = new_figure(10.5, 3.4, 1, 2)
    left, right = axes[0, 0], axes[0, 1]
    for v in result.labels:
        _draw_series(left, result.primary[v], variant_color(result.labels, v), level, v)
    _log_axes(left)
    left.set_xlabel(plain(result.x), fontsize=8)
    left.set_title(plain(result.metric_label), fontsize=9, loc="left")
    c = result.comparison
    if c is not None and c.crossover is not None:
        lo, hi = left.get_xlim()
        if lo <= c.crossover <= hi:
            left.axvline(c.crossover, color="#888888", linestyle=":", linewidth=1)
            left.text(
                c.crossover,
                0.02,
                f" crossover {c.crossover:.3g}",
                fontsize=7,
                transform=left.get_xaxis_transform(),
                color="#555555",
            )
    left.legend(fontsize=8, loc="lower right")
    if c is not None:
        _draw_ratio(right, c, "#444444", level)
        right.set_title(
            plain(f"{c.ratio_of[0]} / {c.ratio_of[1]}: {c.ratio.label} ({c.ratio.formula()})"),
            fontsize=9,
            loc="left",
        )
        right.set_xlabel(plain(result.x), fontsize=8)
        if result.claim is not None:
            right.text(
                0.02,
                0.97,
                f"claimed Θ({result.claim_text}) → {result.claim.expected}"
                f"\nverdict: {result.claim.verdict}",
                transform=right.transAxes,
                fontsize=8,
                va="top",
            )
    else:
        right.set_visible(False)
    return svg_of(fig)


@_styled
def claims_figure(results: Sequence[StudyResult], level: float = 0.9) -> Markup | None:
    """One panel per claim: the measured cost ratio, its fitted class and band, the verdict."""
    shown = [r for r in results if r.claim and r.comparison]
    if not shown:
        return None
    cols = min(len(shown), 3)
    rows = math.ceil(len(shown) / cols)
    fig, axes = new_figure(10.5, 2.9 * rows, rows, cols)
    panels = [axes] if len(shown) == 1 else list(axes.flat)
    for ax in panels[len(shown) :]:
        ax.set_visible(False)
    for ax, r in zip(panels, shown, strict=False):
        c, claim = r.comparison, r.claim
        assert c is not None and claim is not None
        good = claim.verdict == "agrees"
        _draw_ratio(ax, c, "#1a7f37" if good else "#cf222e", level)
        share = f" ({r.study.role})" if r.study.role else ""
        ax.set_title(plain(f"{r.workload} in {r.x}{share}"), fontsize=8, loc="left")
        ax.text(
            0.03,
            0.97,
            plain(
                f"measured {c.ratio.label}\nclaimed Θ({r.claim_text})"
                f" → {claim.expected}\n{claim.verdict}"
            ),
            transform=ax.transAxes,
            fontsize=8,
            va="top",
        )
        ax.set_xlabel(plain(r.x), fontsize=8)
    return svg_of(fig)
