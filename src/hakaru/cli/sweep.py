"""``hakaru sweep WORKLOAD --param n=…`` — a workload over a grid of sizes, resumably.

A thin layer over :func:`hakaru.sweeps.run_sweep`: parse the grid, show a progress bar on
stderr (stdout carries only the tables, or the one ``--json`` object), print one table per
variant with the mean over repeats at each grid point, and write ``--csv`` for ``hakaru fit``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hakaru.cli.executor_options import check_executor, point_executor_options
from hakaru.cli.main import echo_json, fail
from hakaru.cli.options import backend_options, store_path_option
from hakaru.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from hakaru.sweeps import SweepProgress, SweepResult

__all__ = ["parse_grid", "sweep"]

_EXAMPLE = "e.g. --param n=8,16,32 or --param n=8..1024*2"

EPILOG = """Resuming: every finished point is stored at once in the run store, under the
sweep's id (printed at the start). Run the same command again with --sweep-id ID to finish an
interrupted sweep: finished points are skipped, the rest run, and the results are those of an
uninterrupted sweep. --resume does the same without the id: it continues the newest unfinished
sweep in the store with exactly the same grid (workload, --param, --variant, --repeats, --seed,
backend, --model, --sim-error), or starts a new one if there is none, so repeating one command
line until it succeeds always finishes the sweep. A --sweep-id whose grid differs from the
command's is an error. A point that ends in an error of its own (a context overflow, a step
that kept failing) is a result and is kept; a point whose backend kept failing (429, 5xx,
timeouts) is not: the command exits with status 1 and a resume runs it again.

\b
Examples:
  hakaru sweep tree-sum --param n=8..1024*2 --repeats 3 --variant tree --csv tree.csv
  hakaru fit tree.csv --x n --y aalp_cost
  hakaru sweep tree-sum --param n=64,256 --param fan_in=2,4 --json
"""


@click.command(epilog=EPILOG)
@click.argument("workload")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUES",
    help="A swept parameter and its values: 8,16,32 or ranges 8..1024*2 (doubling), "
    "1..10+3 (step 3). Repeatable; the grid is the product. Others keep their defaults.",
)
@click.option(
    "--variant", "variants", multiple=True, help="A variant to run (repeatable) [default: all]."
)
@click.option("--repeats", type=int, default=1, show_default=True, help="Runs per grid point.")
@click.option("--seed", type=int, default=0, show_default=True, help="Repeat r uses seed S+r.")
@click.option("--sim-error", type=float, default=None, help="Base error rate of the sim models.")
@backend_options
@point_executor_options
@click.option("--concurrency", type=int, default=8, show_default=True, help="Points run at once.")
@store_path_option
@click.option("--sweep-id", default=None, metavar="ID", help="Resume this sweep (id or prefix).")
@click.option("--resume", is_flag=True, help="Resume the newest unfinished same-grid sweep.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write one row per point (variant, parameters, repeat, seed, totals, correct).",
)
def sweep(
    workload: str,
    params: tuple[str, ...],
    variants: tuple[str, ...],
    repeats: int,
    seed: int,
    sim_error: float | None,
    backend: str,
    base_url: str | None,
    model: str | None,
    api_key: str | None,
    executor: str,
    ray_address: str | None,
    concurrency: int,
    store_path: Path | None,
    sweep_id: str | None,
    resume: bool,
    as_json: bool,
    csv_path: Path | None,
) -> None:
    """Run WORKLOAD at every point of a grid of parameters × variants × repeats.

    Points run concurrently, each as its own stored run; the tables show, per variant, the
    mean over repeats of calls, tokens, forward passes, AALP cost, dollars and depth, and the
    share of correct answers.
    """
    from rich.console import Console

    from hakaru.store import RunStore, default_store_path
    from hakaru.sweeps import run_sweep

    if sweep_id and resume:
        raise ConfigError("Give --sweep-id or --resume, not both")
    check_executor(executor, ray_address)
    options: dict[str, Any] = {}
    if backend == "openai":
        options = {"base_url": base_url, "api_key": api_key}
    elif base_url or api_key:
        raise ConfigError("--base-url and --api-key need --backend openai. Add --backend openai")
    grid = parse_grid(params)
    path = store_path or default_store_path()
    bar = _Bar(Console(stderr=True), concurrency)
    with RunStore(path) as store, bar.progress:
        result = asyncio.run(
            run_sweep(
                workload,
                grid,
                variants=variants or None,
                repeats=repeats,
                seed=seed,
                store=store,
                sweep_id=sweep_id,
                resume=resume,
                concurrency=concurrency,
                backend=backend,
                backend_options=options,
                model=model,
                sim_error=sim_error,
                progress=bar.update,
                executor=executor,
                ray_address=ray_address,
            )
        )
    if csv_path is not None:
        result.write_csv(csv_path)
    if as_json:
        echo_json(result.as_json())
    else:
        console = Console()
        for table in _tables(result):
            console.print(table)
        console.print(
            f"sweep {result.sweep_id}: {len(result.points)} points ({result.executed} run now, "
            f"{result.resumed} resumed), stored in {path}"
            + (f"; rows written to {csv_path}" if csv_path else ""),
            soft_wrap=True,
            highlight=False,
        )
    if result.failed:
        last = list(result.failed.values())[-1]
        fail(
            f"{len(result.failed)} points failed (the last: {last.rstrip('.')}). Run the "
            f"command again with --sweep-id {result.sweep_id} to retry them",
            1,
        )


def _parse_piece(piece: str, text: str) -> list[int]:
    """``"8"`` → [8]; ``"1..10"``, ``"1..10+3"`` (arithmetic), ``"8..1024*2"`` (geometric)."""
    bad = ConfigError(f"--param '{text}': '{piece}' is not an integer or a range. Write {_EXAMPLE}")
    start, dots, rest = piece.partition("..")
    try:
        if not dots:
            return [int(piece)]
        op = "*" if "*" in rest else "+"
        stop_text, _, step_text = rest.partition(op)
        lo, hi, step = int(start), int(stop_text), int(step_text or 1)
    except ValueError:
        raise bad from None
    if hi < lo or (op == "+" and step < 1) or (op == "*" and (step < 2 or lo < 1)):
        raise ConfigError(
            f"--param '{text}': the range '{piece}' is empty or never ends. Give START..STOP "
            "with START <= STOP, a step +S >= 1 or a factor *F >= 2 (from START >= 1)"
        )
    from hakaru.sweeps.run import MAX_POINTS

    if op == "+" and (hi - lo) // step + 1 > MAX_POINTS:
        raise ConfigError(
            f"--param '{text}': the range '{piece}' has {(hi - lo) // step + 1:,} values; a "
            f"sweep runs at most {MAX_POINTS:,} points. Use a larger step, or a factor (e.g. "
            f"{lo}..{hi}*2)"
        )
    values, v = [], lo
    while v <= hi:
        values.append(v)
        v = v * step if op == "*" else v + step
    return values


def parse_grid(items: Iterable[str]) -> dict[str, list[int]]:
    """``--param`` strings → the grid: parameter name → its values, ascending, no repeats.

    A value list is comma-separated integers and ranges: ``START..STOP`` (step 1),
    ``START..STOP+STEP`` or ``START..STOP*FACTOR``. Dashes in names become underscores.

    >>> parse_grid(["n=8..64*2", "fan-in=2,4"])
    {'n': [8, 16, 32, 64], 'fan_in': [2, 4]}
    """
    grid: dict[str, list[int]] = {}
    for text in items:
        name, sep, values = text.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise ConfigError(f"--param '{text}' is not NAME=VALUES. Write {_EXAMPLE}")
        if name in grid:
            raise ConfigError(
                f"--param {name} is given twice. List all its values in one option, e.g. "
                f"--param {name}=8,16,32"
            )
        pieces = [p.strip() for p in values.split(",") if p.strip()]
        if not pieces:
            raise ConfigError(f"--param '{text}' lists no values. Write {_EXAMPLE}")
        grid[name] = sorted({v for p in pieces for v in _parse_piece(p, text)})
    return grid


class _Bar:
    """The rich progress bar on stderr, fed by run_sweep's ``progress`` callback."""

    def __init__(self, console: Console, concurrency: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = console
        self.concurrency = concurrency
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self.task = self.progress.add_task("sweep", total=None)
        self.started = False

    def update(self, state: SweepProgress) -> None:
        if not self.started:
            self.started = True
            self.console.print(
                f"sweep {state.sweep_id}: {state.total} points, {state.resumed} already "
                f"finished, {self.concurrency} at a time; resume with --sweep-id {state.sweep_id}",
                soft_wrap=True,
                highlight=False,
            )
            self.progress.update(self.task, description=f"sweep {state.sweep_id}")
        self.progress.update(self.task, total=state.total, completed=state.done + state.failed)


def _num(x: float) -> str:
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.4g}" if abs(x) < 1000 else f"{x:,.0f}"


_COLUMNS = (  # header, totals key
    ("calls", "calls"),
    ("tokens", "tokens"),  # input + output
    ("fwd passes", "forward_passes"),
    ("AALP cost", "aalp_cost"),
    ("USD", "dollars"),
    ("depth", "depth"),
)


def _tables(result: SweepResult) -> list[Any]:
    """One table per variant: a row per grid point, means over its repeats (errors left out)."""
    from rich import box
    from rich.table import Table

    swept = list(result.spec.grid)
    tables = []
    for variant in result.spec.variants:
        points = [p for p in result.points if p.variant == variant]
        if not points:
            continue
        fixed = {k: v for k, v in points[0].params.items() if k not in swept}
        title = (
            f"{result.spec.workload}/{variant}"
            + "".join(f" {k}={v}" for k, v in fixed.items())
            + f" · mean of {result.spec.repeats} runs per row" * (result.spec.repeats > 1)
        )
        table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", collapse_padding=True)
        for name in swept:
            table.add_column(name, justify="right")
        for header, _ in _COLUMNS:
            table.add_column(header, justify="right")
        table.add_column("correct", justify="right")
        groups: dict[tuple[int, ...], list[Any]] = {}
        for p in points:
            groups.setdefault(tuple(p.params[k] for k in swept), []).append(p)
        for coords, group in groups.items():
            ok = [p for p in group if p.error is None]
            cells = [_mean(ok, key) for _, key in _COLUMNS]
            right = sum(p.correct for p in group)
            errors = len(group) - len(ok)
            verdict = f"{right}/{len(group)}" + (f" ({errors} errors)" if errors else "")
            table.add_row(*map(str, coords), *cells, verdict)
        tables.append(table)
    return tables


def _mean(points: Sequence[Any], key: str) -> str:
    if key == "tokens":
        values = [float(p.totals["input_tokens"] + p.totals["output_tokens"]) for p in points]
    else:
        values = [float(p.totals[key]) for p in points if key in p.totals]
    if not values:
        return "-"
    mean = sum(values) / len(values)
    return f"${mean:.2g}" if key == "dollars" else _num(mean)
