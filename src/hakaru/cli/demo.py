"""``hakaru demo`` — the main job on the built-in simulated LLM.

It sweeps the paper's three examples (routing over k, debugging over k and over b, evolution over
k) and tree-sum and sort over n, both designs each (:data:`hakaru.demo.PLAN`), prints what grows
how — the measured class per design, the measured improvement next to the paper's claim, the
crossover sizes — and writes the HTML report. Every sweep is stored, so an interrupted demo
resumes where it stopped. A thin layer over :func:`hakaru.demo.run_demo`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hakaru.cli.main import echo_json, fail
from hakaru.cli.options import backend_options, store_path_option
from hakaru.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from hakaru.sweeps import SweepProgress

__all__ = ["demo"]

EPILOG = """The sweeps are stored in the run store (--store, default $HAKARU_HOME/hakaru.db);
a demo stopped midway resumes its unfinished sweeps when run again with the same options.
'hakaru report SWEEP_ID... --html FILE' renders the same report from the store later.

\b
Examples:
  hakaru demo
  hakaru demo --only routing --at 1e6
  hakaru demo --backend openai --base-url http://127.0.0.1:8000/v1 --model M --quick
"""


@click.command(epilog=EPILOG)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("hakaru-report.html"),
    show_default=True,
    help="Where to write the HTML report.",
)
@click.option("--no-html", is_flag=True, help="Do not write the HTML report.")
@store_path_option
@click.option(
    "--only",
    multiple=True,
    metavar="NAME",
    help="Run only this workload or sweep (routing, debugging, debugging-k, debugging-b, "
    "evolution, sort, tree-sum); repeatable.",
)
@click.option("--quick", is_flag=True, help="3-5 sizes per sweep: seconds, or few paid calls.")
@click.option(
    "--at",
    multiple=True,
    metavar="N",
    help="Predict each design's cost at this size (repeatable) [default: 10x the largest].",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Repeat r uses seed S+r.")
@click.option("--sim-error", type=float, default=None, help="Base error rate of the sim models.")
@backend_options
@click.option("--concurrency", type=int, default=8, show_default=True, help="Runs at once.")
@click.option(
    "--neural",
    is_flag=True,
    help="Run only the row measured on a real tiny model instead: tree-sum vs one call on "
    "neural-sum, accuracy and cost against n (needs torch: pip install 'hakaru[train]').",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def demo(
    out: Path,
    no_html: bool,
    store_path: Path | None,
    only: tuple[str, ...],
    quick: bool,
    at: tuple[str, ...],
    seed: int,
    sim_error: float | None,
    backend: str,
    base_url: str | None,
    model: str | None,
    api_key: str | None,
    concurrency: int,
    neural: bool,
    as_json: bool,
) -> None:
    """Measure how the cost of LLM agent designs grows, on the simulated LLM.

    Sweeps routing, debugging, evolution (the paper's three examples), sort and tree-sum, both
    designs each; prints the measured complexity class of each design, the measured improvement
    next to the paper's claim (Θ(k), Θ(b·k²), Θ(2^k·k)) and the crossover sizes; writes the
    HTML report.
    """
    from rich.console import Console

    if neural:
        _neural_row(seed, as_json)
        return
    from hakaru.cli.sizes import parse_prediction_sizes
    from hakaru.demo import PLAN, QUICK_PLAN, planned_points, run_demo, write_demo_report
    from hakaru.report.terminal import print_report
    from hakaru.store import RunStore, default_store_path

    options: dict[str, Any] = {}
    if backend == "openai":
        options = {"base_url": base_url, "api_key": api_key}
        if sim_error is not None:
            raise ConfigError("--sim-error needs the simulated LLM. Leave out --backend openai")
    elif base_url or api_key:
        raise ConfigError("--base-url and --api-key need --backend openai. Add --backend openai")
    sizes = parse_prediction_sizes(at)
    path = store_path or default_store_path()
    plan = QUICK_PLAN if quick else PLAN
    err = Console(stderr=True, highlight=False)
    bar = _Bar(err, planned_points(plan) if not only else None)
    with RunStore(path) as store, bar.progress:
        result = asyncio.run(
            run_demo(
                store,
                quick=quick,
                only=only,
                backend=backend,
                backend_options=options,
                model=model,
                sim_error=sim_error,
                seed=seed,
                concurrency=concurrency,
                at=sizes,
                progress=bar.update,
            )
        )
    if not no_html:
        write_demo_report(result, out)
    if as_json:
        echo_json(result.to_dict())
    else:
        console = Console(highlight=False, width=max(Console().width, 100))
        where = "the simulated LLM" if backend == "sim" else f"{backend} {model or ''}".strip()
        sweeps = f"{len(result.sweeps)} sweep" + "s" * (len(result.sweeps) != 1)
        console.print(
            f"[bold]hakaru demo[/bold]: {sweeps}, {result.runs:,} runs, "
            f"{result.calls:,} LLM calls on {where} in {result.seconds:.1f} s",
            soft_wrap=True,
        )
        print_report(console, result.studies)
        if backend == "sim" and not only:
            try:
                _print_neural_row(console, _measure_neural_row(seed))
            except ConfigError as exc:  # torch or the weights missing: say so, keep the demo
                console.print(f"neural row skipped: {exc}", soft_wrap=True, markup=False)
        ids = " ".join(s.sweep_id for _, s in result.sweeps)
        if result.report:
            console.print(
                f"report: {result.report} (open it in a browser)", soft_wrap=True, markup=False
            )
        console.print(
            f"sweeps stored in {path}; re-render: hakaru report {ids} --html FILE",
            soft_wrap=True,
            markup=False,
        )
    if result.failed:
        left = sum(result.failed.values())
        fail(
            f"{left} runs failed on the backend ({', '.join(result.failed)}). Run the same "
            "command again to resume them",
            1,
        )


def _neural_row(seed: int, as_json: bool) -> None:
    """``hakaru demo --neural``: the neural row alone, as a table (or JSON)."""
    from rich.console import Console

    if as_json:
        echo_json({"neural_row": _measure_neural_row(seed)})
        return
    _print_neural_row(Console(highlight=False), _measure_neural_row(seed))


def _measure_neural_row(seed: int) -> dict[str, Any]:
    """The neural row's rows and seconds; raises ConfigError without torch or weights."""
    import time

    from hakaru.demo import run_neural_row

    started = time.perf_counter()
    rows = asyncio.run(run_neural_row(seed=seed))
    return {"rows": rows, "seconds": time.perf_counter() - started}


def _print_neural_row(console: Console, row: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="tree-sum on neural-sum (a real tiny model, measured; leaves 0..9)")
    for col in ("n", "variant", "accuracy", "mean calls", "mean AALP cost", "failed runs"):
        table.add_column(col, justify="left" if col in ("variant", "failed runs") else "right")
    for r in row["rows"]:
        table.add_row(
            str(r["n"]),
            r["variant"],
            f"{r['accuracy']:.2f}",
            "—" if r["calls"] is None else f"{r['calls']:.1f}",
            "—" if r["aalp_cost"] is None else f"{r['aalp_cost']:.3g}",
            ", ".join(f"{v} {k}" for k, v in r["failed"].items()),
        )
    console.print(table)
    console.print(
        f"neural row: {len(row['rows']) // 2} sizes x 2 designs x 20 runs in "
        f"{row['seconds']:.1f} s, measured on the model (not exact by construction); "
        "experiments/neural/README.md has the full experiment (make neural-repro)",
        soft_wrap=True,
        markup=False,
    )


class _Bar:
    """One rich progress bar on stderr for every sweep of the demo."""

    def __init__(self, console: Console, total: int | None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self.task = self.progress.add_task("demo", total=total)
        self.done: dict[str, int] = {}

    def update(self, key: str, state: SweepProgress) -> None:
        self.done[key] = state.done + state.failed
        self.progress.update(
            self.task, description=f"demo: {key}", completed=sum(self.done.values())
        )
