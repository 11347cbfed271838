"""``hakaru maker calibrate`` — measure p, v, tokens and cost per call; plan k; pick a model.

Samples random steps of the task (jumping to them with the task's closed forms) through
:func:`~hakaru.mdap.calibrate.calibrate`, one model at a time in one session, then lets
:func:`~hakaru.mdap.calibrate.choose` plan k_min for each and name the cheapest.
"""

from __future__ import annotations

from typing import Any

import click

from hakaru.cli.main import echo_json
from hakaru.cli.maker.build import build_backend, build_task, open_store
from hakaru.cli.options import STORE_HELP
from hakaru.errors import ConfigError
from hakaru.report.fit_width import print_table


@click.command("calibrate")
@click.option("--task", type=click.Choice(["hanoi"]), default="hanoi", show_default=True)
@click.option("--disks", type=int, default=20, show_default=True, help="Towers of Hanoi disks.")
@click.option(
    "--model", "models", multiple=True,
    help="A model to calibrate (repeat for several). [every sim-hanoi-* model]",
)  # fmt: skip
@click.option("--samples", type=int, default=1000, show_default=True, help="Samples per model.")
@click.option("--per-step", type=int, default=1, show_default=True, help="Samples per step.")
@click.option("--target", type=float, default=0.95, show_default=True, help="Target P(solved).")
@click.option(
    "--parser", type=click.Choice(["flag", "repair"]), default="flag", show_default=True,
    help="Strict red-flag parser, or MAKER's repairing parser.",
)  # fmt: skip
@click.option("--max-tokens", type=int, default=750, show_default=True, help="Output cap.")
@click.option(
    "--reasoning-tokens", type=int, default=None,
    help="Prose the simulated models write before their answer. [40]",
)  # fmt: skip
@click.option("--temperature", type=float, default=0.1, show_default=True)
@click.option("--confidence", type=float, default=0.95, show_default=True, help="CI level.")
@click.option("--conservative", is_flag=True, help="Plan with the lower bound of p̂'s interval.")
@click.option("--sim-error", type=float, default=None, help="Override the sim models' error rate.")
@click.option("--seed", type=int, default=0, show_default=True, help="Steps and sim seed.")
@click.option(
    "--backend", type=click.Choice(["sim", "openai", "neural"]), default="sim", show_default=True
)
@click.option("--base-url", default=None, help="OpenAI-compatible URL (with --backend openai).")
@click.option("--api-key", default=None, help="API key (default: $OPENAI_API_KEY). Never stored.")
@click.option("--store", default=None, metavar="PATH", help=STORE_HELP)
@click.option("--no-store", is_flag=True, help="Do not record the calls.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def calibrate_cmd(
    task: str,
    disks: int,
    models: tuple[str, ...],
    samples: int,
    per_step: int,
    target: float,
    parser: str,
    max_tokens: int,
    reasoning_tokens: int | None,
    temperature: float,
    confidence: float,
    conservative: bool,
    sim_error: float | None,
    seed: int,
    backend: str,
    base_url: str | None,
    api_key: str | None,
    store: str | None,
    no_store: bool,
    as_json: bool,
) -> None:
    """Measure p, v, tokens and cost per call on random steps; plan k; pick the cheapest model.

    \b
    hakaru maker calibrate --disks 20 --samples 2000
    hakaru maker calibrate --model sim-hanoi-mini --parser repair --max-tokens 2048 --per-step 2
    """
    import asyncio

    from hakaru.mdap.hanoi import HANOI_MODELS

    defaults = {"sim": list(HANOI_MODELS), "neural": ["neural-hanoi"]}
    chosen = list(models) or defaults.get(backend, [])
    if backend == "neural" and len(chosen) > 1:
        raise ConfigError("--backend neural serves one model: give one --model.")
    if not chosen:
        raise ConfigError("Name the models to calibrate with --model (repeat it for several).")
    opened = open_store(store, no_store)
    try:
        cals = asyncio.run(
            _calibrate(
                build_task(task, disks, reasoning_tokens), chosen, samples, per_step, parser,
                max_tokens, temperature, confidence, sim_error, seed, backend, base_url, api_key,
                opened,
            )
        )  # fmt: skip
    finally:
        if opened is not None:
            opened.close()
    from hakaru.mdap.calibrate import choose

    steps = build_task(task, disks).steps
    choice = choose(cals, steps, target, conservative=conservative)
    rows = []
    for cal, option in zip(cals, choice.options, strict=True):
        row = cal.to_json()
        row["plan"] = None if option.plan is None else option.plan.to_dict()
        row["reason"] = option.reason
        rows.append(row)
    best = None if choice.best is None else choice.best.candidate.name
    if as_json:
        echo_json(
            {
                "task": task,
                "disks": disks,
                "steps": steps,
                "target": target,
                "conservative": conservative,
                "models": rows,
                "cheapest": best,
            }
        )
        return
    _print_calibration(rows, steps, target, best, conservative)


async def _calibrate(
    task: Any, models: list[str], samples: int, per_step: int, parser: str,
    max_tokens: int, temperature: float, confidence: float, sim_error: float | None, seed: int,
    backend: str, base_url: str | None, api_key: str | None, store: Any,
) -> list[Any]:  # fmt: skip
    from hakaru.mdap.calibrate import calibrate
    from hakaru.session import Session

    params = {
        **task.params(), "models": models, "samples": samples,
        "per_step": per_step, "parser": parser, "max_tokens": max_tokens, "seed": seed,
        "temperature": temperature, "sim_error": sim_error,
    }  # fmt: skip
    cals = []
    async with Session(
        build_backend(backend, base_url, api_key, seed, sim_error, None, model=models[0]),
        keep_records=False,
        store=store,
        durability="batch",
        run_kind="maker-calibrate",
        run_name=task.name,
        run_params=params,
    ) as session:
        for model in models:
            cals.append(
                await calibrate(
                    session, task, model, samples=samples, per_step=per_step, seed=seed,
                    parser=parser,  # type: ignore[arg-type]
                    temperature=temperature, max_tokens=max_tokens,
                    max_output_tokens=max_tokens if parser == "flag" else None,
                    confidence=confidence,
                )
            )  # fmt: skip
    return cals


def _print_calibration(
    rows: list[dict[str, Any]], steps: int, target: float, best: str | None, conservative: bool
) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    pct = f"{rows[0]['confidence']:.0%}" if rows else ""
    table = Table(
        box=box.SIMPLE_HEAD,
        title=f"MAKER calibration: {steps:,} steps, target {target:g}"
        + (" (planned at p̂'s lower bound)" if conservative else ""),
        caption=f"1−p̂: error rate of one valid sample, with its {pct} Wilson interval; v̂: valid "
        "fraction; tokens and USD per call; collisions: observed / if independent. * = cheapest",
        title_justify="left",
    )
    for col in ("model", "samples", "1−p̂", "interval", "v̂", "out tok", "USD/call", "k_min",
                r"E\[calls]", r"E\[USD]", "collisions"):  # fmt: skip
        table.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)
    for r in rows:
        pl = r["plan"]
        err = r["error_rate"]
        interval = f"{1 - r['p_high']:.4f}–{1 - r['p_low']:.4f}"
        c = r["collisions"]
        table.add_row(
            r["model"] + ("*" if r["model"] == best else ""),
            f"{r['samples']:,}",
            "–" if err is None else f"{err:.4f}",
            interval,
            f"{r['v_hat']:.4f}",
            f"{r['out_tokens']:.0f}",
            f"{r['cost_per_call']:.6f}",
            "–" if pl is None else f"{pl['k_min']}",
            "–" if pl is None else f"{pl['expected_calls']:,.0f}",
            "–" if pl is None else f"{pl['expected_cost']:,.2f}",
            f"{c['observed']} / {c['predicted_independent']:.2f}" if c["steps"] else "–",
        )
    print_table(Console(), table)
    if best is None:
        click.echo("No model can reach the target: every p̂ is at most 0.5.")
        return
    row = next(r for r in rows if r["model"] == best)
    click.echo(
        f"cheapest: {best} (k_min {row['plan']['k_min']}, about "
        f"{row['plan']['expected_calls']:,.0f} calls, ${row['plan']['expected_cost']:,.2f})"
    )
