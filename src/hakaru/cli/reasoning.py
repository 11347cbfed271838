"""``hakaru reasoning compare`` — reasoning-budget policies side by side on the simulated LLM.

A thin layer over :func:`hakaru.reasoning.compare_policies`: every policy answers the same
simulated ``reason`` tasks; the table shows what each spent and got, and tokens saved against
accuracy lost relative to no budget at all. ``--json`` prints one JSON object instead;
``--html PATH`` also writes the table into an HTML report (:mod:`hakaru.report.reasoning_section`).

``hakaru budget …`` is the old spelling, kept for one release: it runs the same commands after a
one-line deprecation note on stderr ("budget" alone now means a spending cap, ``Session(budget=)``).
"""

from __future__ import annotations

from typing import Any

import click

from hakaru.cli.main import echo_json
from hakaru.cli.reasoning_frontier import frontier
from hakaru.cli.reasoning_probe import probe
from hakaru.errors import ConfigError


@click.group()
def reasoning() -> None:
    """Reasoning budgets: compare policies, sweep their frontiers, probe servers."""


@click.group()
def budget() -> None:
    """Deprecated spelling of 'hakaru reasoning' (removed in the next release)."""
    click.echo(
        "Note: 'hakaru budget' is deprecated and will be removed in the next release; "
        "use 'hakaru reasoning'.",
        err=True,
    )


def _levels(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError(
            f"--levels '{text}' is not a comma-separated list of token counts. "
            "Write e.g. --levels 256,512,1024"
        ) from None


@reasoning.command("compare")
@click.option("--n", "n", type=int, default=300, show_default=True, help="Tasks per policy.")
@click.option("--model", default="sim-medium", show_default=True, help="Simulated model.")
@click.option(
    "--levels",
    default="256,512,1024,2048,4096",
    show_default=True,
    help="Budget levels in tokens (ladder and difficulty policies).",
)
@click.option("--fixed", type=int, default=None, help="The fixed policy's budget [middle level].")
@click.option(
    "--tokens-per-task",
    type=float,
    default=None,
    help="Average output tokens the difficulty policy may spend [the fixed budget].",
)
@click.option(
    "--calibration",
    type=int,
    default=100,
    show_default=True,
    help="Tasks answered at every level to learn the difficulty policy's statistics.",
)
@click.option("--buckets", type=int, default=5, show_default=True, help="Difficulty buckets.")
@click.option(
    "--noise",
    type=float,
    default=0.1,
    show_default=True,
    help="Std. dev. of the error of the difficulty estimates.",
)
@click.option("--template", default=None, help="Budget phrase with {b} [HBPO's phrase].")
@click.option("--think-tag", default="<think>", show_default=True, help="The thinking tag.")
@click.option(
    "--placement",
    type=click.Choice(["prefill", "user"]),
    default="prefill",
    show_default=True,
    help="Where the tag and phrase go.",
)
@click.option(
    "--cap-factor",
    type=float,
    default=1.25,
    show_default=True,
    help="max_tokens = ceil(budget x factor) + answer room; 0 for no cap.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--html", "html", default=None, metavar="PATH", help="Also write an HTML report.")
def compare(
    n: int,
    model: str,
    levels: str,
    fixed: int | None,
    tokens_per_task: float | None,
    calibration: int,
    buckets: int,
    noise: float,
    template: str | None,
    think_tag: str,
    placement: str,
    cap_factor: float,
    seed: int,
    as_json: bool,
    html: str | None,
) -> None:
    """Tokens saved against accuracy lost, per budget policy (none, fixed, ladder, difficulty)."""
    from hakaru.reasoning import BudgetPrompt, compare_policies
    from hakaru.reasoning.phrase import DEFAULT_TEMPLATE

    prompt = BudgetPrompt(
        template=template or DEFAULT_TEMPLATE,
        think_tag=think_tag,
        placement="user" if placement == "user" else "prefill",
        cap_factor=cap_factor or None,
    )
    result = compare_policies(
        n=n,
        model=model,
        levels=_levels(levels),
        fixed=fixed,
        tokens_per_task=tokens_per_task,
        calibration=calibration,
        buckets=buckets,
        noise=noise,
        seed=seed,
        prompt=prompt,
    )
    payload = result.as_dict()
    if html:
        from hakaru.report.reasoning_section import write_compare_report

        written = write_compare_report(html, payload)
        click.echo(f"wrote {written}", err=True)
    if as_json:
        echo_json(payload)
        return
    _print(payload)


budget.add_command(compare)
reasoning.add_command(frontier)
budget.add_command(frontier)
reasoning.add_command(probe)
budget.add_command(probe)


def _print(payload: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    s = payload["settings"]
    table = Table(
        title=f"Budget policies on {s['n']} simulated reasoning tasks ({s['model']})",
        title_justify="left",
    )
    for col in ("policy", "calls", "out tok", "tok/task", "acc", "no answer", "saved", "acc lost"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for r in payload["policies"]:
        table.add_row(
            r["policy"],
            f"{r['calls']:,}",
            f"{r['output_tokens']:,}",
            f"{r['tokens_per_task']:,.0f}",
            f"{r['accuracy']:.3f}",
            f"{r['unanswered']}",
            f"{100 * r['tokens_saved']:+.1f}%",
            f"{r['accuracy_lost_pts']:+.1f} pt",
        )
    console = Console()
    console.print(table)
    cal = payload["calibration"]
    console.print(
        f"baseline: {payload['baseline']}. The difficulty policy learned from {cal['tasks']} "
        f"calibration tasks ({cal['calls']:,} calls, {cal['output_tokens']:,} output tokens, "
        f"not included above); average budget {s['tokens_per_task']:,.0f} tokens/task."
    )
