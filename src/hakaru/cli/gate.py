"""``hakaru gate`` — quality gates: optimize, frontier, fit, ab, sweep.

A thin layer over :mod:`hakaru.gates`: options become a :class:`~hakaru.gates.GateParams` (which
validates them and raises :class:`~hakaru.errors.ConfigError`), results become a rich table, or
one JSON object with ``--json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hakaru.cli.main import echo_json
from hakaru.gates import (
    GateParams,
    arm_totals,
    compare_ab,
    fit_gate_model,
    frontier,
    frontier_svg,
    optimize,
    read_observations,
)
from hakaru.gates.data import Per
from hakaru.gates.model import Objective
from hakaru.report.fit_width import print_table

CSV_HELP = """
DATA.csv has one row per observation (replicates allowed), with the columns

\b
  g          gate strength in [0, 1]
  completed  tasks completed at that strength (whole number)
  rework     of those, tasks later found to need rework
  hours      elapsed hours over which they were completed   } at least
  cost       dollars spent over the same period             } one

Throughput is tasks per hour (or per dollar with --per usd, or when there is
no hours column).
"""


def _params(options: dict[str, Any]) -> GateParams:
    return GateParams(
        r0=options["r0"],
        beta=options["beta"],
        alpha=options["alpha"],
        c_rework=options["c_rework"],
        f0=options["f0"],
        knee=options["knee"],
        curvature=options["curvature"],
    )


def _model_options(fn: Any) -> Any:
    options = [
        click.option(
            "--r0", type=float, required=True, help="R0: rework rate with no gate, [0, 1)."
        ),
        click.option("--beta", type=float, required=True, help="β: rework decay per unit g, > 0."),
        click.option(
            "--alpha", type=float, required=True, help="α: throughput lost per unit g, [0, 1)."
        ),
        click.option(
            "--c-rework",
            type=float,
            default=0.0,
            show_default=True,
            help="c: extra effort of a rework item (net model; 0 = simple model).",
        ),
        click.option(
            "--f0",
            type=float,
            default=1.0,
            show_default=True,
            help="F0: completion rate with no gate, tasks per unit time.",
        ),
        click.option(
            "--knee",
            type=float,
            default=None,
            help="Opt-in: overhead turns superlinear beyond this g, in (0, 1).",
        ),
        click.option(
            "--curvature",
            type=float,
            default=0.0,
            show_default=True,
            help="γ of the superlinear term γ·max(0, g − knee)².",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _console() -> Any:
    from rich.console import Console

    return Console()


def _table(title: str, columns: list[str]) -> Any:
    from rich.table import Table

    table = Table(title=title)
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i == 0 else "right", no_wrap=i > 0)
    return table


def _num(x: float | None, digits: int = 4) -> str:
    return "—" if x is None else f"{x:.{digits}g}"


@click.group()
def gate() -> None:
    """Quality gates: optimal strength, frontier, fitting, A/B tests, sweeps (seed 003)."""


@gate.command()
@_model_options
@click.option(
    "--objective",
    type=click.Choice(["net", "effective"]),
    default="net",
    show_default=True,
    help="Maximise T_net (uses c) or T (ignores c); identical when c = 0.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def optimize_cmd(objective: Objective, as_json: bool, **options: Any) -> None:
    """The gate strength g* in [0, 1] that maximises throughput.

    T(g) = F0·(1 − αg)·(1 − R0·e^(−βg)); the net model replaces R by (1 + c)·R.
    The case is interior, zero (gates do not pay) or one (throughput still rises at g = 1).
    """
    params = _params(options)
    opt = optimize(params, objective)
    if as_json:
        echo_json(opt.to_dict())
        return
    table = _table(f"Optimal gate strength ({objective} objective)", ["quantity", "value"])
    rows = [
        ("g*", f"{opt.g_star:.6f}"),
        ("case", opt.case),
        ("throughput at g*", _num(opt.throughput_at_optimum)),
        ("throughput at g = 0", _num(opt.throughput_at_zero)),
        (
            "improvement T(g*)/T(0) − 1",
            "—" if opt.improvement is None else f"{opt.improvement:+.2%}",
        ),
        ("rework R(g*)", f"{opt.rework_at_optimum:.4f}"),
        ("raw completion F_short(g*)", _num(opt.raw_completion_at_optimum)),
        ("d²T/dg² at g*", _num(opt.second_derivative)),
    ]
    whose = {"c_rework": " (T_net)" if objective == "net" else " (T)"}  # T ignores c
    rows += [(f"dg*/d{k}{whose.get(k, '')}", f"{v:+.4f}") for k, v in opt.sensitivity.items()]
    for quantity, value in rows:
        table.add_row(quantity, value)
    if params.c_rework == 0 and objective == "net" and opt.case == "interior":
        table.caption = "c = 0: T and T_net share g*, but only T_net depends on c (T: dg*/dc = 0)"
    print_table(_console(), table)
    _console().print(opt.reason + ".")


optimize_cmd.name = "optimize"


@gate.command(name="frontier")
@_model_options
@click.option("--steps", type=int, default=11, show_default=True, help="Grid points from 0 to 1.")
@click.option("--svg", type=click.Path(dir_okay=False, path_type=Path), help="Also write a plot.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def frontier_cmd(steps: int, svg: Path | None, as_json: bool, **options: Any) -> None:
    """The throughput–quality frontier over g (seed §8), optima marked.

    Columns are fractions of F0: F_short/F0 = 1 − αg, R(g), F_effective/F0, T_net/F0.
    """
    params = _params(options)
    rows = frontier(params, steps)
    if svg is not None:
        svg.write_text(frontier_svg(params), encoding="utf-8")
    if as_json:
        echo_json(
            {
                "params": params.to_dict(),
                "rows": [r.to_dict() for r in rows],
                "g_star_effective": optimize(params, "effective").g_star,
                "g_star_net": optimize(params, "net").g_star,
                "svg": str(svg) if svg is not None else None,
            }
        )
        return
    table = _table(
        "Throughput–quality frontier", ["g", "F_short/F0", "R(g)", "F_eff/F0", "net/F0", ""]
    )
    for r in rows:
        table.add_row(
            f"{r.g:.3f}",
            f"{r.raw_completion:.3f}",
            f"{r.rework:.3f}",
            f"{r.effective:.3f}",
            f"{r.net:.3f}",
            r.label,
        )
    print_table(_console(), table)


@gate.command(name="fit", epilog=CSV_HELP)
@click.argument("data", metavar="DATA.csv", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--per",
    type=click.Choice(["hour", "usd"]),
    default=None,
    help="Throughput unit: tasks per hour or per dollar [default: hour if every row has hours].",
)
@click.option("--level", type=float, default=0.95, show_default=True, help="Confidence level.")
@click.option(
    "--c-rework", type=float, default=0.0, show_default=True, help="c for the optimum (net model)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def fit_cmd(data: Path, per: Per | None, level: float, c_rework: float, as_json: bool) -> None:
    """Fit R0, β (binomial ML) and F0, α (weighted least squares) from DATA.csv.

    Also reports R², and g* for the fitted parameters.
    """
    from hakaru.errors import ConfigError

    fit = fit_gate_model(read_observations(data), per=per, level=level)
    optimum: dict[str, Any] | None = None
    problem: str | None = None
    try:
        optimum = optimize(fit.params(c_rework), "net").to_dict()
    except ConfigError as exc:
        problem = str(exc)
    if as_json:
        echo_json({**fit.to_dict(), "optimum": optimum, "optimum_error": problem})
        return
    pct = f"{level:.0%}"
    table = _table(
        f"Gate model fit ({fit.rows} rows)", ["parameter", "estimate", f"{pct} CI", "unit"]
    )
    units = {
        "r0": "fraction",
        "beta": "per unit g",
        "f0": f"tasks/{fit.per}",
        "alpha": "per unit g",
    }
    for name in ("r0", "beta", "f0", "alpha"):
        est = getattr(fit, name)
        table.add_row(name, _num(est.value), f"[{_num(est.low)}, {_num(est.high)}]", units[name])
    console = _console()
    print_table(console, table)
    console.print(
        f"R² rework {_num(fit.r2_rework, 3)}, R² completion {_num(fit.r2_completion, 3)}; "
        f"intervals: {fit.methods['r0_beta']} (R0, β); {fit.methods['f0_alpha']} (F0, α)."
    )
    if optimum is not None:
        console.print(f"g* = {optimum['g_star']:.4f} ({optimum['case']}).")
    else:
        console.print(f"No optimum: {problem}.")


@gate.command(name="ab", epilog=CSV_HELP.replace("DATA.csv has", "A.csv and B.csv have"))
@click.argument("a_csv", metavar="A.csv", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("b_csv", metavar="B.csv", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--c-rework", type=float, default=0.0, show_default=True, help="c for net throughput."
)
@click.option(
    "--per",
    type=click.Choice(["hour", "usd"]),
    default=None,
    help="Throughput unit [default: hour if every row has hours].",
)
@click.option("--level", type=float, default=0.95, show_default=True, help="Confidence level.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def ab_cmd(
    a_csv: Path, b_csv: Path, c_rework: float, per: Per | None, level: float, as_json: bool
) -> None:
    """Compare configuration B against A (seed §9); rows of each file are summed.

    Metrics: raw, effective and net throughput, rework rate, cost per effective
    task (when both files have cost). Each B − A difference and B/A − 1 change has
    a delta-method interval (Agresti–Caffo for the rework rate); no resampling.
    The g column is optional here.
    """
    arm_a = arm_totals("A", read_observations(a_csv, require_g=False), per)
    arm_b = arm_totals("B", read_observations(b_csv, require_g=False), per)
    result = compare_ab(arm_a, arm_b, c_rework=c_rework, level=level)
    if as_json:
        echo_json(result.to_dict())
        return
    pct = f"{level:.0%}"
    table = _table(
        f"A/B comparison (B against A; {pct} intervals below each change)",
        ["metric (unit)", "A", "B", "B − A", "B/A − 1"],
    )
    for m in result.metrics:
        rel = "—"
        if m.relative is not None:
            rel = f"{m.relative:+.1%}"
            if m.relative_low is not None and m.relative_high is not None:
                rel += f"\n[{m.relative_low:+.1%}, {m.relative_high:+.1%}]"
        table.add_row(
            f"{m.name.replace('_', ' ')}\n({m.unit})",
            _num(m.a, 3),
            _num(m.b, 3),
            f"{m.difference:+.3g}\n[{m.low:+.3g}, {m.high:+.3g}]",
            rel,
        )
        table.add_section()
    print_table(_console(), table)


def _parse_strengths(text: str) -> list[float]:
    from hakaru.errors import ConfigError

    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(
            f"--strengths must be comma-separated numbers in [0, 1], got {text!r}. "
            "Use e.g. --strengths 0,0.25,0.5,0.75,1"
        ) from None
    return values


@gate.command(name="sweep")
@click.argument("workload", metavar="WORKLOAD")
@click.option(
    "--strengths",
    default="0,0.25,0.5,0.75,1",
    show_default=True,
    help="Comma-separated gate strengths g in [0, 1].",
)
@click.option(
    "--mechanism",
    type=click.Choice(["redflag", "verifier", "vote"]),
    default="redflag",
    show_default=True,
    help="redflag: n = 4g residue checks; verifier: pass threshold 100g; vote: margin 1 + 4g.",
)
@click.option("--tasks", type=int, default=2000, show_default=True, help="Tasks per strength.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of tasks and sim.")
@click.option(
    "--per",
    type=click.Choice(["hour", "usd"]),
    default="hour",
    show_default=True,
    help="Throughput unit: tasks per simulated worker-hour, or per dollar.",
)
@click.option(
    "--c-rework",
    type=float,
    default=0.0,
    show_default=True,
    help="c: extra cost of a rework item (net objective; 0 = effective throughput).",
)
@click.option(
    "--sim-error",
    type=float,
    default=None,
    help="The worker's wrong-answer rate per call [default: 0.06].",
)
@click.option("--level", type=float, default=0.95, show_default=True, help="Confidence level.")
@click.option(
    "--html",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write an HTML report: frontier plot with the measured points, fit, check.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def sweep_cmd(
    workload: str,
    strengths: str,
    mechanism: str,
    tasks: int,
    seed: int,
    per: Per,
    c_rework: float,
    sim_error: float | None,
    level: float,
    html: Path | None,
    as_json: bool,
) -> None:
    """Measure a gate at each strength on the simulated LLM; fit; check g*.

    WORKLOAD is tree-sum (16 numbers, a fan-in-4 tree: 5 gated calls per task)
    or sum (4 numbers, one gated call). Per strength: tasks completed, rework
    (completed tasks ground truth finds wrong), simulated worker-hours and
    dollars. Then the gate model is fitted, g* predicted, and the measured best
    strength compared with the swept strength nearest g*.
    """
    from hakaru.gates.sweep import run_gate_sweep

    result = run_gate_sweep(
        workload,
        strengths=_parse_strengths(strengths),
        mechanism=mechanism,
        tasks=tasks,
        seed=seed,
        per=per,
        c_rework=c_rework,
        sim_error=sim_error,
        level=level,
    )
    if html is not None:
        from hakaru.report.gates_section import write_gate_report

        write_gate_report(html, result)
    if as_json:
        payload = result.to_dict()
        payload["html"] = str(html) if html is not None else None
        echo_json(payload)
        return
    _print_sweep(result, html)


def _print_sweep(result: Any, html: Path | None) -> None:
    from rich.table import Table

    objective = "T_net" if result.c_rework > 0 else "T"
    table = Table(
        title=f"{result.mechanism} gate on {result.workload}: {result.tasks} tasks per strength, "
        f"tasks/{result.per}"
    )
    table.add_column("g", justify="right", no_wrap=True)
    for name in ("completed", "rework (R)", "F", f"{objective} measured", f"{objective} model"):
        table.add_column(name, justify="right", no_wrap=True)
    for point, model in zip(result.points, result.check.predicted, strict=True):
        mark = " *" if point.g == result.check.measured_best else ""
        table.add_row(
            f"{point.g:g}",
            f"{point.completed}",
            f"{point.rework} ({point.rework_rate:.3f})",
            f"{point.raw:.4g}",
            f"{point.net:.4g}{mark}",
            _num(model),
        )
    console = _console()
    print_table(console, table)
    console.print("Gate: " + "; ".join(f"g = {p.g:g}: {p.setting}" for p in result.points) + ".")
    fit = result.fit
    if fit is not None:
        pct = f"{fit.level:.0%}"
        params = _table("Fitted gate model", ["parameter", "estimate", f"{pct} CI"])
        for name in ("r0", "beta", "f0", "alpha"):
            est = getattr(fit, name)
            params.add_row(name, _num(est.value), f"[{_num(est.low)}, {_num(est.high)}]")
        console.print(params)
        console.print(
            f"R² rework {_num(fit.r2_rework, 3)}, R² completion {_num(fit.r2_completion, 3)}."
        )
    verdict = "OK" if result.check.ok else "MISSED"
    console.print(f"Prediction check {verdict}: {result.check.reason}.")
    if html is not None:
        console.print(f"report: {html}")
