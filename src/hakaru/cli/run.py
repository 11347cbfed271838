"""``hakaru run WORKLOAD`` — run one instance on the simulated LLM (or a real server)."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from hakaru.cli.executor_options import executor_options, session_options
from hakaru.cli.main import echo_json
from hakaru.cli.options import (
    backend_options,
    otlp_option,
    reasoning_budgets,
    store_option,
    workload_values,
)
from hakaru.errors import ConfigError


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    epilog="Workload parameters are options too, e.g. 'hakaru run tree-sum --n 64 --fan-in 4'. "
    "List them with 'hakaru run WORKLOAD --params'.",
)
@click.argument("workload")
@click.option("--n", "n", type=int, default=None, help="Problem size n.")
@click.option("--variant", default=None, help="Which decomposition to run.")
@click.option(
    "--param", "params", multiple=True, metavar="NAME=VALUE", help="A workload parameter."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Instance and sim seed.")
@click.option("--sim-error", type=float, default=None, help="Base error rate of the sim models.")
@click.option(
    "--reasoning-budget", "reasoning", multiple=True, metavar="ROLE=TOKENS",
    help="Reasoning budget of a role's calls (TOKENS alone: every role); in the ledger.",
)  # fmt: skip
@backend_options
@store_option
@executor_options
@otlp_option
@click.option(
    "--params", "list_params", is_flag=True, help="List WORKLOAD's variants and parameters."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def run(
    ctx: click.Context,
    workload: str,
    n: int | None,
    variant: str | None,
    params: tuple[str, ...],
    seed: int,
    sim_error: float | None,
    reasoning: tuple[str, ...],
    backend: str,
    base_url: str | None,
    model: str | None,
    api_key: str | None,
    store: str | None,
    no_store: bool,
    executor: str,
    ray_address: str | None,
    ray_actors: int,
    otlp_endpoint: str | None,
    list_params: bool,
    as_json: bool,
) -> None:
    """Run WORKLOAD once and print its ledger (calls, tokens, forward passes, AALP cost, $)."""
    from hakaru.report.terminal import print_ledger
    from hakaru.runner import run_workload
    from hakaru.workloads.base import get_workload

    spec = get_workload(workload)
    if list_params:
        _print_params(spec, as_json)
        return
    values = workload_values(spec, n, params, ctx.args)
    options: dict[str, Any] = {}
    if backend in ("openai", "anthropic"):
        options = {"base_url": base_url, "api_key": api_key}
    elif backend == "neural":
        options = {"seed": seed}
    elif base_url or api_key:
        raise ConfigError(
            "--base-url and --api-key need --backend openai or anthropic. Add --backend openai"
        )
    outcome = asyncio.run(
        run_workload(
            workload,
            variant=variant,
            params=values,
            backend=backend,
            backend_options=options,
            model=model,
            seed=seed,
            sim_error=sim_error,
            store=None if no_store else (store or True),
            session_options={
                **session_options(executor, ray_address, ray_actors),
                **({"reasoning_budgets": reasoning_budgets(reasoning)} if reasoning else {}),
                "otlp_endpoint": otlp_endpoint,
            },
        )
    )
    if as_json:
        echo_json(outcome.as_json())
        return
    shown = " ".join(f"{k}={v}" for k, v in outcome.params.items())
    verdict = "correct" if outcome.result.correct else "WRONG"
    title = (
        f"{outcome.workload}/{outcome.variant} {shown} seed={seed} on {outcome.backend}: "
        f"{verdict} (answer {outcome.result.answer}, expected {outcome.result.expected})"
    )
    print_ledger(outcome.totals, outcome.by_role, title=title)
    predicted = ", ".join(f"{k} {v:g}" for k, v in outcome.analytic.items())
    click.echo(f"analytic (no errors): {predicted}")
    if outcome.run_id:
        click.echo(f"stored as run {outcome.run_id} (hakaru runs show {outcome.run_id})")


def _print_params(spec: Any, as_json: bool) -> None:
    """A workload's variants and parameters (name, default, minimum, meaning)."""
    params = [
        {"name": p.name, "default": p.default, "minimum": p.minimum, "help": p.help}
        for p in spec.params
    ]
    if as_json:
        echo_json({"workload": spec.name, "variants": list(spec.variants), "params": params})
        return
    click.echo(f"{spec.name}: {spec.description}")
    click.echo(f"variants: {', '.join(spec.variants)}")
    for p in params:
        option = "--" + str(p["name"]).replace("_", "-")
        click.echo(f"  {option:<12} default {p['default']:<7} (>= {p['minimum']})  {p['help']}")
