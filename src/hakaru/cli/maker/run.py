"""``hakaru maker run`` — run an MDAP step by step with voting and red flags, resumably.

Resolves the run's parameters (the defaults, or a killed run's own when ``--resume`` is given:
only options that do not change any step's answer may differ), runs
:func:`~hakaru.mdap.run.run_maker` (which records into the run store), and prints the outcome
with what the planner predicts from the p̂ and v̂ measured in the run.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from hakaru.cli.executor_options import executor_options, session_options
from hakaru.cli.main import echo_json
from hakaru.cli.maker.build import build_backend, build_task, open_store
from hakaru.cli.maker.plan import or_dash
from hakaru.cli.options import STORE_HELP, otlp_option
from hakaru.errors import ConfigError, StepFailed
from hakaru.report.fit_width import print_table


def _float_list(text: str, what: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"{what} '{text}' is not a comma-separated list of numbers.") from None
    if not values:
        raise ConfigError(f"{what} is empty. Give e.g. 0,0.1")
    return values


# Options a resumed run may change: they do not alter the answer of any step.
_RESUME_MAY_CHANGE = ("max_samples", "max_flagged", "checkpoint_every")
_RUN_DEFAULTS: dict[str, Any] = {
    "task": "hanoi",
    "disks": 20,
    "k": 3,
    "model": "sim-hanoi-mini",
    "sim_error": None,
    "seed": 0,
    "max_tokens": 750,
    "max_output_tokens": 750,
    "parser": "flag",
    "temperatures": [0.0, 0.1],
    "max_samples": 100,
    "max_flagged": 20,
    "checkpoint_every": 1000,
    "backend": "sim",
    "reasoning_tokens": None,
    "reasoning_budget": None,
}


@click.command("run")
@click.option("--task", type=click.Choice(["hanoi"]), default=None, help="The MDAP. [hanoi]")
@click.option("--disks", type=int, default=None, help="Towers of Hanoi disks (2^D − 1 steps). [20]")
@click.option("--k", "k", type=int, default=None, help="Voting margin (first to k ahead). [3]")
@click.option("--model", default=None, help="Model of every step. [sim-hanoi-mini]")
@click.option("--sim-error", type=float, default=None, help="Override the sim model's error rate.")
@click.option("--seed", type=int, default=None, help="Seed of the simulated LLM. [0]")
@click.option(
    "--max-tokens", type=int, default=None, help="Output cap; longer answers are flagged. [750]"
)
@click.option(
    "--parser", type=click.Choice(["flag", "repair"]), default=None,
    help="Strict red-flag parser, or the repairing one (comparison only). [flag]",
)  # fmt: skip
@click.option(
    "--temperatures", default=None, help="Per-draw temperatures; the last repeats. [0,0.1]"
)
@click.option("--max-samples", type=int, default=None, help="Draws per step before failing. [100]")
@click.option("--max-flagged", type=int, default=None, help="Flagged draws per step cap. [20]")
@click.option(
    "--checkpoint-every", type=int, default=None, help="Steps between checkpoints (0: none). [1000]"
)
@click.option(
    "--reasoning-tokens", type=int, default=None,
    help="Prose the simulated model writes before its answer (MAKER: ~500 in all). [40]",
)  # fmt: skip
@click.option(
    "--reasoning-budget", type=int, default=None, metavar="TOKENS",
    help="Reasoning budget of every vote, sent in the backend's parameter; red-flagged "
    "overlong answers are paid for like the rest. [none]",
)  # fmt: skip
@click.option("--resume", "resume_ref", default=None, metavar="RUN", help="Continue a killed run.")
@click.option("--target", type=float, default=0.95, show_default=True, help="For the plan shown.")
@click.option(
    "--sim-time-scale", type=float, default=None, hidden=True,
    help="Sleep simulated latency × SCALE per call (tests and demos).",
)  # fmt: skip
@click.option(
    "--backend",
    type=click.Choice(["sim", "openai", "neural"]),
    default=None,
    help="LLM backend (neural: the trained neural-hanoi model). [sim]",
)
@click.option("--base-url", default=None, help="OpenAI-compatible URL (with --backend openai).")
@click.option("--api-key", default=None, help="API key (default: $OPENAI_API_KEY). Never stored.")
@click.option("--store", default=None, metavar="PATH", help=STORE_HELP)
@click.option("--no-store", is_flag=True, help="Do not record the run (no checkpoints).")
@click.option("--quiet", is_flag=True, help="No progress lines on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@executor_options
@otlp_option
def run_cmd(
    task: str | None,
    disks: int | None,
    k: int | None,
    model: str | None,
    sim_error: float | None,
    seed: int | None,
    max_tokens: int | None,
    parser: str | None,
    temperatures: str | None,
    max_samples: int | None,
    max_flagged: int | None,
    checkpoint_every: int | None,
    reasoning_tokens: int | None,
    reasoning_budget: int | None,
    resume_ref: str | None,
    target: float,
    sim_time_scale: float | None,
    backend: str | None,
    base_url: str | None,
    api_key: str | None,
    store: str | None,
    no_store: bool,
    quiet: bool,
    as_json: bool,
    executor: str,
    ray_address: str | None,
    ray_actors: int,
    otlp_endpoint: str | None,
) -> None:
    """Run an MDAP step by step with voting and red flags; verify it with the simulator.

    \b
    hakaru maker run --task hanoi --disks 10 --k 3
    hakaru maker run --task hanoi --disks 20 --k 3 --checkpoint-every 10000 --json
    hakaru maker run --task hanoi --disks 8 --k 1 --sim-error 0.01     # k below k_min
    hakaru maker run --resume 0a1b2c3d4e                               # after a crash
    hakaru maker run --disks 12 --k 3 --executor ray --ray-actors 8    # votes over Ray actors

    Exits with status 1 when the task is not solved (a wrong or illegal voted step).
    """
    import asyncio

    given = {
        "task": task, "disks": disks, "k": k, "model": model, "sim_error": sim_error,
        "seed": seed, "max_tokens": max_tokens, "max_output_tokens": max_tokens,
        "parser": parser, "max_samples": max_samples, "max_flagged": max_flagged,
        "checkpoint_every": checkpoint_every, "backend": backend,
        "reasoning_tokens": reasoning_tokens, "reasoning_budget": reasoning_budget,
        "temperatures": None if temperatures is None else list(
            _float_list(temperatures, "--temperatures")
        ),
    }  # fmt: skip
    options = session_options(executor, ray_address, ray_actors)  # checked before anything runs
    options["otlp_endpoint"] = otlp_endpoint
    opened = open_store(store, no_store, batched=True)
    resume = None
    if resume_ref is not None:
        if opened is None:
            raise ConfigError("--resume reads the run store; drop --no-store.")
        from hakaru.mdap.resume import find_resume

        resume = find_resume(opened, resume_ref)
        clash = [
            f"--{name.replace('_', '-')} {value}"
            for name, value in given.items()
            if value is not None
            and name not in _RESUME_MAY_CHANGE
            and resume.params.get(name) != value
        ]
        if clash:
            raise ConfigError(
                f"--resume continues run {resume.run_id} with its own parameters; "
                f"{', '.join(clash)} differ from them. Drop those options (only "
                "--max-samples, --max-flagged and --checkpoint-every may change)."
            )
        params = dict(resume.params)
        params.update({n: given[n] for n in _RESUME_MAY_CHANGE if given[n] is not None})
    else:
        params = {
            name: (given[name] if given[name] is not None else default)
            for name, default in _RUN_DEFAULTS.items()
        }
        if backend == "neural" and model is None:
            params["model"] = "neural-hanoi"
    try:
        outcome = asyncio.run(
            _run(
                params,
                resume,
                opened,
                base_url,
                api_key,
                sim_time_scale,
                target,
                quiet or as_json,
                options,
            )
        )
    finally:
        if opened is not None:
            opened.close()
    if as_json:
        echo_json(outcome)
    else:
        _print_run(outcome)
    if not outcome["solved"]:
        sys.exit(1)  # scripts can tell a failed run by the status alone


async def _run(
    params: dict[str, Any],
    resume: Any,
    store: Any,
    base_url: str | None,
    api_key: str | None,
    time_scale: float | None,
    target: float,
    quiet: bool,
    options: dict[str, Any],
) -> dict[str, Any]:
    from hakaru.mdap.driver import DriverConfig
    from hakaru.mdap.run import run_maker

    task = build_task(str(params["task"]), int(params["disks"]), params.get("reasoning_tokens"))
    config = DriverConfig(
        model=str(params["model"]),
        k=int(params["k"]),
        temperatures=tuple(params["temperatures"]),
        max_tokens=params["max_tokens"],
        max_output_tokens=params["max_output_tokens"],
        parser=params["parser"],
        max_samples=int(params["max_samples"]),
        max_flagged=int(params["max_flagged"]),
        checkpoint_every=int(params["checkpoint_every"]),
    )
    backend = build_backend(
        str(params["backend"]), base_url, api_key, int(params["seed"]), params["sim_error"],
        time_scale, model=str(params["model"]),
    )  # fmt: skip
    run_params = dict(params)
    if params.get("reasoning_budget") is not None:  # every vote of every step
        options = {**options, "reasoning_budgets": {"*": int(params["reasoning_budget"])}}
    if resume is not None:
        run_params["resumed_from"] = resume.run_id

    def progress(step: int, steps: int, seconds: float) -> None:
        click.echo(
            f"  step {step:,}/{steps:,} ({step / steps:.0%}) after {seconds:,.0f} s", err=True
        )

    try:
        outcome = await run_maker(
            task,
            config,
            backend,
            store=store,
            resume=resume,
            run_params=run_params,
            session_options=options,
            target=target,
            progress=None if quiet or task.steps < 50_000 else progress,
            progress_every=max(task.steps // 20, 1000),
        )
    except StepFailed as exc:
        if not exc.run_id:
            raise
        raise StepFailed(
            f"{str(exc).rstrip('.')}. Run {exc.run_id} is stored: continue it with "
            f"'hakaru maker run --resume {exc.run_id}' and a higher --max-samples or "
            "--max-flagged"
        ) from None
    return outcome.to_json()


def _print_run(out: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 100))
    verdict = "solved" if out["solved"] else "FAILED"
    title = f"MAKER {out['task']} {out['disks']} disks, k = {out['k']}, {out['model']}: {verdict}"
    table = Table(title=title, title_justify="left")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    d = out["diagnostics"]
    pred = out["predicted"]
    rows = [
        ("steps done / steps", f"{out['steps_done']:,} / {out['steps']:,}"),
        ("errors", f"{out['errors']}"),
        ("calls (every draw)", f"{out['calls']:,}"),
        ("valid votes", f"{out['votes']:,}"),
        ("flagged (discarded)", f"{out['flagged']:,}"),
        ("votes per step", f"{d['votes_per_step'] or 0:.4f}"),
        ("most votes in one step", f"{d['max_votes']}"),
        ("per-vote accuracy p̂", or_dash(d["p_hat"], "{:.5f}")),
        ("valid fraction v̂", or_dash(d["v_hat"], "{:.5f}")),
        ("input / output tokens", f"{out['input_tokens']:,} / {out['output_tokens']:,}"),
        ("USD", f"{out['dollars']:,.2f}" if out["dollars"] >= 1 else f"{out['dollars']:.6f}"),
        ("wall seconds", f"{out['wall_seconds']:,.1f}"),
        ("simulated seconds (critical path)", f"{out['sim_seconds']:,.0f}"),
    ]
    if "expected_calls" in pred:
        rows += [
            ("planner: calls expected (p̂, v̂)", f"{pred['expected_calls']:,.0f}"),
            (f"planner: P(solved) at k = {out['k']}", f"{pred['p_full']:.6f}"),
            (f"planner: k_min for t = {pred['target']:g}", f"{pred['k_min']}"),
        ]
    c = d["collisions"]
    rows.append(
        (
            "collisions: observed / if independent",
            f"{c['observed']} / {c['predicted_independent']:.2f}",
        )
    )
    if out.get("resumed_at"):
        rows.append(("resumed after step", f"{out['resumed_at']:,}"))
    if out.get("run_id"):
        rows.append(("run id", out["run_id"]))
    for name, value in rows:
        table.add_row(name, value)
    print_table(console, table)
    undecided = d["undecided"][:8]
    if undecided:
        line = "  ".join(
            f"{r['votes']}:{r['undecided']:,}"
            + ("" if r["predicted"] is None else f"({r['predicted']:,.0f})")
            for r in undecided
        )
        console.print(f"undecided steps after n votes (predicted): {line}")
    if not out["solved"]:
        console.print(f"FAILED: {out['reason']}", markup=False, highlight=False)
