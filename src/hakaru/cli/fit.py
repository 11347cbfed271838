"""``hakaru fit DATA.csv --x n --y COLUMN`` — the complexity class of any CSV column.

A thin layer over :mod:`hakaru.analysis`: :func:`~hakaru.analysis.data.read_series` reads the two
columns (errors name the file, line and column), :func:`~hakaru.analysis.fit_series` chooses the
class, and the result becomes a rich table — or one JSON object with ``--json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hakaru.analysis import CRITERIA, FitResult, fit_series
from hakaru.analysis.compare import predict
from hakaru.analysis.data import read_series
from hakaru.cli.main import echo_json

SCORE_NAMES = {"aicc": "AICc", "bic": "BIC", "loo": "LOO MSE"}


def _num(x: float | None, digits: int = 4) -> str:
    return "—" if x is None else f"{x:.{digits}g}"


def fit_table(fit: FitResult, title: str = "") -> Any:
    """A rich table of every class tried, best first: score, Δ, constant, offset, R² (log)."""
    from rich.table import Table

    table = Table(title=title or None, title_justify="left")
    score = SCORE_NAMES[fit.criterion]
    delta = "ratio" if fit.criterion == "loo" else "Δ" + score
    for i, name in enumerate(["class", score, delta, "constant", "offset", "R² (log)", ""]):
        table.add_column(name, justify="left" if i in (0, 6) else "right", no_wrap=True)
    best = fit.best.score
    for rank, c in enumerate(fit.candidates):
        if c.score == float("inf"):
            table.add_row(c.complexity, "—", "—", "—", "—", "—", "cannot fit")
            continue
        d = c.score / best if fit.criterion == "loo" else c.score - best
        mark = "best" if rank == 0 else ("runner-up" if rank == 1 else "")
        table.add_row(
            c.complexity,
            f"{c.score:.4g}",
            f"{d:.3g}",
            f"{c.constant:.4g}",
            _num(c.offset),
            _num(c.r2, 3),
            mark,
        )
    return table


@click.command()
@click.argument("data", type=click.Path(path_type=Path), metavar="DATA.csv")
@click.option("--x", "x_col", default="n", show_default=True, help="Column of sizes.")
@click.option("--y", "y_col", required=True, help="Column of costs to fit.")
@click.option(
    "--criterion",
    type=click.Choice(list(CRITERIA)),
    default="aicc",
    show_default=True,
    help="Model selection on log residuals: AICc, BIC or leave-one-out error.",
)
@click.option(
    "--classes",
    default=None,
    metavar="LIST",
    help="Comma-separated candidate classes (default: all), e.g. 'n,n^2,nlogn'.",
)
@click.option("--no-offset", is_flag=True, help="Fit the leading term alone (no constant term).")
@click.option(
    "--at",
    "at",
    type=float,
    multiple=True,
    metavar="N",
    help="Predict the cost at size N, with an interval (repeatable).",
)
@click.option(
    "--level", type=float, default=0.9, show_default=True, help="Prediction interval level."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def fit(
    data: Path,
    x_col: str,
    y_col: str,
    criterion: str,
    classes: str | None,
    no_offset: bool,
    at: tuple[float, ...],
    level: float,
    as_json: bool,
) -> None:
    """Fit complexity classes to column --y of DATA.csv as a function of column --x.

    Classes: 1, log n, n, n log n, n², n² log n, n³, 2ⁿ — each as y ≈ c·g(n), or
    c·g(n) + d with a constant d >= 0, fitted on log scale. Several rows per size
    (repeats) are welcome; rows with an empty cell are skipped.
    """
    series = read_series(data, x_col, y_col)
    names = [c for c in classes.split(",") if c.strip()] if classes is not None else None
    result = fit_series(
        series.x,
        series.y,
        criterion=criterion,
        offset=not no_offset,
        **({"classes": names} if names is not None else {}),
    )
    warnings = [w for w in (series.warning, result.warning) if w]
    predictions = [predict(result, n, level) for n in at]
    if as_json:
        payload = result.to_dict()
        payload["warning"] = " ".join(warnings) if warnings else None
        payload.update(
            file=str(data),
            x=x_col,
            y=y_col,
            skipped=series.skipped,
            predictions=[p.to_dict() for p in predictions],
        )
        echo_json(payload)
        return
    from rich.console import Console

    console = Console()
    lo, hi = result.n_range
    console.print(
        fit_table(
            result,
            f"{y_col} vs {x_col} ({data.name}): {len(result.x)} points, "
            f"n = {lo:g}..{hi:g}, {criterion}",
        )
    )
    runner = result.runner_up
    line = f"class [bold]{result.complexity}[/bold]: {y_col} ≈ {result.best.formula()}"
    line += f"  (R² on log scale {_num(result.r2, 3)}, spread ×{_spread(result.spread)})"
    console.print(line)
    if runner is not None:
        console.print(f"runner-up {runner.complexity}: {runner.formula()}")
    for p in predictions:
        console.print(
            f"at n = {p.n:g}: {_big(p.value, p.log10_value)} "
            f"({p.level:.0%} interval {_big(p.low)} .. {_big(p.high)})"
        )
    for w in warnings:
        console.print(f"[yellow]Warning:[/yellow] {w}", soft_wrap=True)


def _spread(s: float) -> str:
    import math

    return f"{math.exp(s):.3g}" if math.isfinite(s) else "—"


def _big(v: float, log10: float | None = None) -> str:
    import math

    if math.isfinite(v):
        return f"{v:.4g}"
    return f"10^{log10:.4g}" if log10 is not None else "beyond float range"
