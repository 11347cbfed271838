"""The built-in sections of a run report: ledger, call DAG, calls (orders 110–150). Each
reads :attr:`ReportData.runs`; answers and errors appear as escaped text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hakaru.report.dag_summary import DRAW_CAP, CallRow, DagFacts
from hakaru.report.sections import Cell, Figure, ReportData, Section, Table, Tone, register_section
from hakaru.report.summary import format_value
from hakaru.report.token_classes import class_report_table

__all__ = ["dependency_source", "path_vs_depth", "run_calls", "run_dag", "run_ledger"]


def _group_rows(groups: Mapping[str, Mapping[str, float]]) -> list[tuple[str, ...]]:
    aalp = sum(g.get("aalp", 0.0) for g in groups.values()) or 1.0
    return [
        (
            name,
            format_value(g.get("attempts", 0) - g.get("cached", 0)),
            format_value(g.get("errors", 0)),
            format_value(g.get("flagged", 0)),
            format_value(g.get("input_tokens", 0)),
            format_value(g.get("output_tokens", 0)),
            format_value(g.get("forward_passes", 0.0)),
            format_value(g.get("aalp", 0.0)),
            f"{g.get('aalp', 0.0) / aalp:.1%}",
            f"${g.get('dollars', 0.0):.6f}",
        )
        for name, g in groups.items()
    ]


_GROUP_COLUMNS = (
    "calls",
    "failed",
    "flagged",
    "input tok",
    "output tok",
    "forward passes",
    "AALP cost",
    "share",
    "USD",
)


def _call_rows(calls: Iterable[CallRow]) -> list[tuple[str | Cell, ...]]:
    tone: dict[str, Tone] = {"ok": "", "cached": "", "error": "bad", "flagged": "warn"}
    return [
        (
            str(c.id),
            str(c.level),
            c.role,
            c.model,
            Cell(c.status, tone.get(c.status, "")),
            str(c.attempt),
            format_value(c.input_tokens),
            format_value(c.output_tokens),
            format_value(c.aalp),
            f"{c.latency:.3f}",
            Cell(c.answer, "code"),
            Cell(c.error, "code"),
        )
        for c in calls
    ]


_CALL_COLUMNS = (
    "call",
    "level",
    "role",
    "model",
    "status",
    "attempt",
    "in tok",
    "out tok",
    "AALP",
    "latency (s)",
    "answer",
    "error",
)


@register_section("run", order=110)
def run_ledger(data: ReportData) -> list[Section]:
    """Per run: its parameters, the ledger by role and by model, work and span per cost model."""
    from hakaru.report import plots

    out = []
    for run in data.runs:
        info, t = run.info, run.totals
        if not run.dag.calls and info.kind == "profile":
            continue  # its calls are in the runs it measured; the profile section shows them
        params = "  ".join(f"{k}={v}" for k, v in info.params.items())
        figures = [
            f
            for f in (
                plots.run_roles_figure(run.by_role, "share per role"),
                plots.run_roles_figure(run.by_model, "share per model"),
            )
            if f is not None
        ]
        costs = Table(
            ("cost model", "work", "span", "parallelism"),
            [
                (name, format_value(w), format_value(s), f"{w / s:.2f}" if s else "–")
                for name, w, s in run.costs
            ],
            caption=f"Depth {t.get('depth', 0)} calls; simulated time "
            f"{t.get('sim_seconds', 0.0):.3f} s.",
        )
        out.append(
            Section(
                f"Run {info.id}: {info.kind} {info.name}",
                key=f"run-{info.id}",
                paragraphs=(
                    f"Status {info.status}; {t.get('calls', 0):,} calls "
                    f"({t.get('failed_calls', 0):,} failed, {t.get('flagged_calls', 0):,} "
                    f"flagged, {t.get('cached_calls', 0):,} cached).",
                    f"Parameters: {params}" if params else "No parameters recorded.",
                ),
                figures=[Figure(f, "", wide=False) for f in figures],
                tables=(
                    Table(
                        ("role", *_GROUP_COLUMNS),
                        _group_rows(run.by_role),
                        caption="Ledger by role.",
                    ),
                    Table(
                        ("model", *_GROUP_COLUMNS),
                        _group_rows(run.by_model),
                        caption="Ledger by model.",
                    ),
                    class_report_table(t),
                    costs,
                ),
                notes=run.notes,
            )
        )
    return out


def dependency_source(kind: str) -> str:
    """Where a run's dependencies come from, in one sentence: a proxy infers them from timing,
    in-process capture from timing pruned by the spans' context, an import from its links."""
    if kind == "capture":
        return (
            "Dependencies were inferred from timing by in-process capture, pruned by the "
            "spans' context: a call may depend on every call that had finished before it "
            "started, unless a span still running then contains the one and not the other; "
            "calls that overlapped are never linked, and the depth is an upper bound "
            "(docs/capture.md)."
        )
    if kind == "import":
        return (
            "Dependencies come from the imported trace: its span links where it has them, "
            "else inferred from timing (a call may depend on every call that had finished "
            "before it started)."
        )
    if kind == "proxy":
        return (
            "Dependencies were inferred from timing by the recording proxy, which sees "
            "requests, not the program's data flow: a call may depend on every call that had "
            "finished before it started (the transitive reduction is kept), so calls that "
            "overlapped are never linked and the depth is an upper bound (docs/profile.md)."
        )
    return (
        "Every call depends on the calls whose results its code had awaited (happens-before, "
        "tracked by the session)."
    )


def path_vs_depth(path: int, depth: int) -> str:
    """Why the critical path (in calls) can differ from the depth (levels), in one line."""
    why = (
        "The depth counts the calls of the longest chain; the critical path is the chain that "
        "ends last in time, so"
    )
    if path == depth:
        return f"{why} they agree here: {path:,} calls."
    return (
        f"{why} it has {path:,} calls beside a depth of {depth:,}: a longer chain of quicker "
        "calls finished earlier."
    )


def _dag_words(d: DagFacts) -> str:
    """What the DAG figures show, in words."""
    if any(g.what == "whole" for g in d.drawings):
        drawn = f"The DAG is drawn whole ({d.calls:,} calls)."
    else:
        drawn = (
            f"The run has {d.calls:,} calls, more than the {DRAW_CAP:,} drawn whole: the "
            "drawing shows the calls of its first and last levels, and the other figures show "
            "every call — calls per level"
            + ("" if len(d.level_bins) == d.depth else " (in bins of consecutive levels)")
            + " and the critical path by role."
        )
    return drawn


@register_section("dag", order=130)
def run_dag(data: ReportData) -> list[Section]:
    """Per run: the call DAG's shape, its drawing, its timeline, and the critical path."""
    from hakaru.report import dag_plots, plots

    out = []
    for run in data.runs:
        d = run.dag
        if not d.calls:
            continue  # a run that made no call has no DAG
        facts = Table(
            (
                "calls",
                "dependencies",
                "roots",
                "leaves",
                "levels",
                "widest level",
                "max fan-in",
                "max fan-out",
                "critical path (calls)",
                "critical path (s)",
            ),
            [
                (
                    f"{d.calls:,}",
                    f"{d.edges:,}",
                    f"{d.roots:,}",
                    f"{d.leaves:,}",
                    f"{d.depth:,}",
                    f"{d.widest:,}",
                    f"{d.max_fan_in:,}",
                    f"{d.max_fan_out:,}",
                    f"{d.path_length:,}",
                    f"{d.path_seconds:.3f}",
                )
            ],
        )
        roles = Table(
            ("role", "calls", "share of calls", "simulated s", "share of time"),
            [
                (
                    r.role,
                    f"{r.calls:,}",
                    f"{r.calls / d.path_length:.1%}" if d.path_length else "–",
                    f"{r.seconds:,.3f}",
                    f"{r.seconds / d.path_seconds:.1%}" if d.path_seconds else "–",
                )
                for r in d.path_roles
            ],
            caption="The critical path by role.",
        )
        drawing = dag_plots.dag_figure(d)
        figures = [Figure(drawing, "", wide=len(d.drawings) > 1)] if drawing is not None else []
        figures += [
            Figure(f, "", wide=False)
            for f in (
                dag_plots.levels_figure(d),
                dag_plots.path_roles_figure(d),
                plots.timeline_figure(run),
            )
            if f is not None
        ]
        out.append(
            Section(
                f"Call DAG of run {run.info.id}",
                key=f"dag-{run.info.id}",
                paragraphs=(
                    dependency_source(run.info.kind)
                    + " A call's level is one more than its deepest dependency's; the critical "
                    "path is the chain that ends last in simulated time.",
                    path_vs_depth(d.path_length, d.depth),
                    _dag_words(d)
                    + (
                        f" The timeline shows the first {len(run.timeline):,} calls."
                        if len(run.timeline) < d.calls
                        else ""
                    ),
                ),
                figures=figures,
                tables=(
                    facts,
                    roles,
                    Table(
                        _CALL_COLUMNS,
                        _call_rows(d.critical_path),
                        caption="Calls on the critical path"
                        + (
                            f" (the first and last {len(d.critical_path) // 2})."
                            if d.path_length > len(d.critical_path)
                            else "."
                        ),
                    ),
                ),
            )
        )
    return out


@register_section("calls", order=150)
def run_calls(data: ReportData) -> list[Section]:
    """Per run: the first calls, and every failed or flagged one (answers and errors as text)."""
    out = []
    for run in data.runs:
        if not run.dag.calls:
            continue
        tables = [Table(_CALL_COLUMNS, _call_rows(run.sample), caption="The first calls.")]
        if run.problems:
            tables.append(
                Table(_CALL_COLUMNS, _call_rows(run.problems), caption="Failed and flagged calls.")
            )
        out.append(
            Section(
                f"Calls of run {run.info.id}",
                key=f"calls-{run.info.id}",
                paragraphs=(
                    "Answers are the parsed values the callers accepted; errors are what the "
                    "backend or a validator said. Both are shown as text.",
                ),
                tables=tables,
            )
        )
    return out
