"""The profile section of a report: how an agent program's cost grew with n (``hakaru profile``).

A profile is stored as a run of kind ``profile`` whose summary is the ``--json`` object of
:class:`hakaru.proxy.profile.ProfileResult` (command, sizes, per-size means, every execution's
totals, a fit per metric); each execution is a ``proxy`` run. :func:`load_profile` reads that
summary — or, for a profile that stopped early, rebuilds it from the executions stored as points
of the profile's sweep, through the same code (``ProfileResult``, ``fit_metrics``).
:func:`add_profile_reports` puts the profiles of a report under ``ReportData.extras["profile"]``;
``hakaru profile --html`` puts its own result there.

:func:`profile_sections` (registered as ``profile``, order 100: before the run sections) shows
per profile the per-size totals and the executions, then small multiples of every metric on
log-log axes — each execution a faint dot, the mean per size a solid dot, the fitted class a
line (dashed beyond the largest size) with its prediction band, drawn by the sweep report's
plotting code — and the fit table: class, curve, constant, offset, R² (log scale), runner-up.
The command and every name are shown as escaped text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from hakaru.errors import ConfigError
from hakaru.report.plots import _draw_series, _log_axes, _styled, new_figure, plain, svg_of
from hakaru.report.sections import Cell, Figure, ReportData, Section, Table, register_section
from hakaru.report.summary import MetricFit, format_value

if TYPE_CHECKING:
    from hakaru.analysis.result import FitResult
    from hakaru.store import RunStore

__all__ = [
    "EXTRAS_KEY",
    "LABELS",
    "add_profile_reports",
    "load_profile",
    "profile_figure",
    "profile_sections",
]

EXTRAS_KEY = "profile"
_COLOR = "#4c78a8"
_EXECUTIONS = 200  # executions listed per profile
_SIZES = 60  # sizes listed per profile (the first and last halves of more)
_DRAWN = 600  # points drawn per panel: beyond, the mean per size, at most this many sizes

#: How each fitted metric of a profile is labelled (keys of hakaru.proxy.profile.METRICS).
LABELS: dict[str, str] = {
    "calls": "calls",
    "failed_calls": "failed calls",
    "input_tokens": "input tokens",
    "output_tokens": "output tokens",
    "forward_passes": "forward passes",
    "aalp_cost": "AALP cost",
    "dollars": "USD",
    "depth": "depth (calls)",
    "span_forward_passes": "span (forward passes)",
    "latency": "latency, all calls (s)",
    "span_latency": "span latency (s)",
}


def load_profile(store: RunStore, ref: str) -> dict[str, Any]:
    """The profile ``ref`` (an id or unique prefix) as its ``--json`` object, plus ``status``.

    A finished profile's summary is that object. A profile that stopped early (a command failed)
    has no summary: its finished executions are read back from its sweep points and fitted.
    """
    from hakaru.proxy.profile import ProfilePoint, ProfileResult, fit_metrics

    info = store.run(ref)
    if info.kind != "profile":
        raise ConfigError(
            f"Run {info.id} is a '{info.kind}' run, not a profile. Give a run listed by "
            "'hakaru runs list' with kind 'profile'."
        )
    if info.summary and "per_size" in info.summary:
        return {**info.summary, "status": info.status}
    p = info.params
    result = ProfileResult(
        info.id,
        [str(c) for c in p.get("command", [])],
        [int(n) for n in p.get("sizes", [])],
        int(p.get("repeats", 1)),
        str(p.get("upstream", "")),
    )
    for point in store.get_points(info.id).values():
        data = point.result
        if isinstance(data, Mapping) and data.get("exit_code") == 0:
            result.points.append(ProfilePoint(**data))
    result.fits = fit_metrics(result) if result.points else {}
    return {**result.as_dict(), "status": info.status}


def add_profile_reports(store: RunStore, data: ReportData) -> None:
    """Load each profile run of ``data.runs`` into ``data.extras["profile"]``."""
    profiles: list[dict[str, Any]] = data.extras.setdefault(EXTRAS_KEY, [])
    seen = {str(p.get("profile")) for p in profiles}
    for run in data.runs:
        if run.info.kind == "profile" and run.info.id not in seen:
            profiles.append(load_profile(store, run.info.id))
            seen.add(run.info.id)


# -- the figure ------------------------------------------------------------------------------


def _series(profile: Mapping[str, Any], metric: str) -> tuple[list[float], list[float]]:
    xs: list[float] = []
    ys: list[float] = []
    for point in profile.get("points", []):
        xs.append(float(point["n"]))
        ys.append(float(point.get("totals", {}).get(metric, 0.0)))
    return xs, ys


def _thin(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    """At most ``_DRAWN`` points to draw: every execution, or else the mean per size (of at
    most ``_DRAWN`` sizes spread evenly over the measured ones)."""
    if len(xs) <= _DRAWN:
        return list(xs), list(ys)
    groups: dict[float, list[float]] = {}
    for x, y in zip(xs, ys, strict=True):
        groups.setdefault(x, []).append(y)
    sizes = sorted(groups)
    if len(sizes) > _DRAWN:
        step = (len(sizes) - 1) / (_DRAWN - 1)
        sizes = [sizes[round(i * step)] for i in range(_DRAWN)]
    return sizes, [sum(groups[x]) / len(groups[x]) for x in sizes]


def _fit(xs: Sequence[float], ys: Sequence[float]) -> FitResult | None:
    """The metric's fit, as :func:`hakaru.proxy.profile.fit_metrics` makes it (None: none)."""
    from hakaru.analysis.fit import fit_series

    try:
        return fit_series(xs, ys)
    except ConfigError:
        return None


def _metrics(profile: Mapping[str, Any]) -> list[str]:
    names = profile.get("metrics") or list(LABELS)
    return [str(m) for m in names]


@_styled
def profile_figure(profile: Mapping[str, Any], level: float = 0.9) -> Markup | None:
    """Small multiples: every metric that is not zero everywhere, against n on log-log axes."""
    panels: list[tuple[str, MetricFit]] = []
    for metric in _metrics(profile):
        xs, ys = _series(profile, metric)
        keep = [(x, y) for x, y in zip(*_thin(xs, ys), strict=True) if x > 0 and y > 0]
        if not keep:
            continue
        fit = _fit(xs, ys)  # on every execution, whatever is drawn
        series = MetricFit(
            "profile", metric, tuple(x for x, _ in keep), tuple(y for _, y in keep), fit
        )
        panels.append((metric, series))
    if not panels:
        return None
    cols = 3
    rows = math.ceil(len(panels) / cols)
    fig, axes = new_figure(10.5, 2.4 * rows + 0.4, rows, cols)
    flat = list(axes.flat)
    for ax, (metric, series) in zip(flat, panels, strict=False):
        _draw_series(ax, series, _COLOR, level, None)
        _log_axes(ax)
        ax.set_title(plain(LABELS.get(metric, metric)), fontsize=9, loc="left")
        fit = series.fit
        text = f"{fit.complexity}: {fit.best.formula()}" if fit is not None else "not fitted"
        ax.text(0.02, 0.97, plain(text), transform=ax.transAxes, fontsize=7, va="top",
                ha="left", color="#333333")  # fmt: skip
        ax.set_xlabel("n", fontsize=8)
    for ax in flat[len(panels) :]:
        ax.set_visible(False)
    many = len(profile.get("points", [])) > _DRAWN
    fig.suptitle(
        "measured ("
        + (
            f"more than {_DRAWN} executions: the mean per size is drawn"
            if many
            else "faint: each execution; solid: mean per size"
        )
        + f"), fitted (lines; dashed beyond the largest n), {level:.0%} bands",
        fontsize=10,
        x=0.01,
        ha="left",
    )
    return svg_of(fig)


# -- the section ------------------------------------------------------------------------------


def _value(x: Any, metric: str) -> str:
    if x is None:
        return "–"
    if metric == "dollars":
        return f"${float(x):.6f}" if float(x) < 1 else f"${float(x):,.2f}"
    if metric in ("latency", "span_latency"):
        return f"{float(x):.3f}"
    return format_value(float(x))


def _fit_rows(profile: Mapping[str, Any]) -> list[tuple[str | Cell, ...]]:
    rows: list[tuple[str | Cell, ...]] = []
    fits: Mapping[str, Any] = profile.get("fits") or {}
    for metric in _metrics(profile):
        fit = fits.get(metric)
        if fit is None:
            continue
        label = LABELS.get(metric, metric)
        if fit.get("class") is None:
            rows.append(
                (label, "–", "–", "–", "–", "–", "–", Cell(str(fit.get("error", "")), "warn"))
            )
            continue
        r2 = fit.get("r2")
        offset = fit.get("offset")
        note = []
        if fit.get("warning"):
            note.append(str(fit["warning"]))
        elif fit.get("ambiguous"):
            note.append(f"ambiguous: {fit.get('runner_up')} fits nearly as well")
        rows.append(
            (
                label,
                Cell(str(fit["class"]), "code"),
                str(fit.get("formula", "")),
                format_value(fit.get("constant")),
                "–" if offset is None else format_value(offset),
                "–" if r2 is None else f"{r2:.4f}",
                str(fit.get("runner_up") or "–"),
                Cell("; ".join(note), "warn") if note else "",
            )
        )
    return rows


def _profile_sections(profile: Mapping[str, Any], level: float) -> list[Section]:
    pid = str(profile.get("profile", ""))
    command = " ".join(str(c) for c in profile.get("command", []))
    per_size: Sequence[Mapping[str, Any]] = profile.get("per_size", [])
    metrics = _metrics(profile)
    shown = [
        m for m in metrics if m != "failed_calls" or any(row.get(m) for row in per_size)
    ]  # failed calls only when there were some
    listed = per_size
    if len(per_size) > _SIZES:
        listed = [*per_size[: _SIZES // 2], *per_size[-(_SIZES // 2) :]]
    size_table = Table(
        ("n", "runs", *(LABELS.get(m, m) for m in shown)),
        [
            (str(row["n"]), str(row.get("repeats", 1)), *(_value(row.get(m), m) for m in shown))
            for row in listed
        ],
        caption="Mean per size over the repeats. Span: forward passes (or seconds of latency) on "
        "the longest chain of calls the timing allows; depth: calls on it.",
    )
    points: Sequence[Mapping[str, Any]] = profile.get("points", [])
    runs = Table(
        ("n", "repeat", "run", "exit", "seconds", "calls", "depth"),
        [
            (
                str(p["n"]),
                str(int(p.get("repeat", 0)) + 1),
                Cell(str(p.get("run_id", "")), "code"),
                str(p.get("exit_code", "")),
                f"{float(p.get('seconds', 0.0)):.2f}",
                format_value(float(p.get("totals", {}).get("calls", 0))),
                format_value(float(p.get("totals", {}).get("depth", 0))),
            )
            for p in points[:_EXECUTIONS]
        ],
        caption="Every execution of the command: a proxy run of its own ('hakaru report RUN' "
        "shows its calls and call DAG).",
    )
    notes = []
    if len(per_size) > _SIZES:
        notes.append(f"The first and last {_SIZES // 2} of {len(per_size):,} sizes are listed.")
    if len(points) > _EXECUTIONS:
        notes.append(f"The first {_EXECUTIONS} of {len(points):,} executions are listed.")
    status = profile.get("status", "done")
    if status != "done":
        notes.append(
            f"The profile did not finish (status {status}): a command exited non-zero or the "
            "profile was stopped. Shown: the executions that finished."
        )
    zero = [LABELS.get(m, m) for m in metrics if points and not any(_series(profile, m)[1])]
    if zero:
        notes.append(f"Zero at every size (not plotted): {', '.join(zero)}.")
    overview = Section(
        f"Profile {pid}: {command}",
        key=f"profile-{pid}",
        paragraphs=(
            f"The command ran {len(points):,} times — sizes "
            f"{_sizes_text([row['n'] for row in per_size])}, "
            f"{profile.get('repeats', 1)} run(s) per size — behind the recording proxy "
            f"(upstream {profile.get('upstream', '')}); every call it made is a stored record. "
            "Dependencies are inferred from timing: a call may depend on every call that had "
            "finished before it started.",
        ),
        tables=(size_table, runs),
        notes=tuple(notes),
    )
    figure = profile_figure(profile, level)
    fits = Section(
        f"Growth of profile {pid}",
        key=f"profile-growth-{pid}",
        paragraphs=(
            "Each metric is fitted over every execution (repeats are separate rows) with "
            "hakaru.analysis.fit_series: the class with the best AICc on log scale, its curve "
            "c·g(n) (+ d), and the best other class (runner-up). A class needs three sizes; "
            "an offset, five rows.",
        ),
        figures=() if figure is None else (Figure(figure, "Log-log axes; n is the size."),),
        tables=(
            Table(
                (
                    "metric",
                    "class",
                    "fitted",
                    "constant",
                    "offset",
                    "R² (log)",
                    "runner-up",
                    "note",
                ),
                _fit_rows(profile),
                caption="The fit per metric (the profile's 'fits').",
            ),
        ),
    )
    return [overview, fits]


def _sizes_text(sizes: Sequence[Any]) -> str:
    if not sizes:
        return "none"
    if len(sizes) <= 12:
        return ", ".join(str(n) for n in sizes)
    head, tail = ", ".join(str(n) for n in sizes[:6]), ", ".join(str(n) for n in sizes[-3:])
    return f"{head}, … {tail} ({len(sizes):,} sizes)"


@register_section("profile", order=100)
def profile_sections(data: ReportData) -> list[Section]:
    """Two sections per profile in ``data.extras["profile"]``: totals, then growth and fits."""
    profiles: Sequence[Mapping[str, Any]] = data.extras.get(EXTRAS_KEY, ())
    return [s for p in profiles for s in _profile_sections(p, data.level)]
