"""``hakaru reasoning probe`` — does a server honour a reasoning budget, or starve the answer?

A thin layer over :func:`hakaru.reasoning.probe.probe`: one table of the calibrated requests
(budget asked, reasoning tokens reported, answered or not) and the verdict; ``--json`` prints
the same as one object. Try it on the simulated server: ``hakaru sim serve --reasoning ignore``.
"""

from __future__ import annotations

import os

import click

from hakaru.cli.main import echo_json
from hakaru.errors import ConfigError

__all__ = ["probe"]

_KEYS = {"anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY"}


@click.command("probe")
@click.option(
    "--backend",
    "api",
    type=click.Choice(["openai-chat", "openai-responses", "anthropic", "gemini", "vllm", "sglang"]),
    required=True,
    help="The API (and so the reasoning parameter) to probe.",
)
@click.option("--model", required=True, help="The model to ask.")
@click.option("--base-url", required=True, help="The server, e.g. http://127.0.0.1:8000/v1.")
@click.option("--api-key", default=None, help="API key [$OPENAI_API_KEY, $ANTHROPIC_API_KEY …].")
@click.option("--budgets", default="1024,2048", show_default=True, help="Token budgets to try.")
@click.option("--tolerance", type=float, default=0.1, show_default=True,
              help="How far over a budget still counts as honoured (fraction).")  # fmt: skip
@click.option("--room", type=int, default=8192, show_default=True,
              help="Output tokens allowed beyond each budget (the answer's room).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def probe(
    api: str,
    model: str,
    base_url: str,
    api_key: str | None,
    budgets: str,
    tolerance: float,
    room: int,
    as_json: bool,
) -> None:
    """Send calibrated requests and say whether the budget parameter is honoured."""
    from rich.console import Console
    from rich.table import Table

    from hakaru.reasoning.probe import probe as run_probe

    try:
        sizes = tuple(int(x) for x in budgets.split(",") if x.strip())
    except ValueError:
        raise ConfigError(
            f"--budgets '{budgets}' is not a list of token counts, e.g. 1024,2048."
        ) from None
    key = api_key or os.environ.get(_KEYS.get(api, "OPENAI_API_KEY"))
    result = run_probe(
        api, base_url, model, api_key=key, budgets=sizes, tolerance=tolerance, room=room
    )
    if as_json:
        echo_json(result.as_dict())
        return
    table = Table(title=f"{api} {model}: {result.param}", title_justify="left")
    for col in ("asked", "budget", "reasoning", "output", "answered", "finish"):
        table.add_column(col, justify="left" if col in ("asked", "finish") else "right")
    for c in result.calls:
        table.add_row(c.asked, f"{c.budget:,}", f"{c.reasoning:,}", f"{c.output:,}",
                      "yes" if c.answered else "NO", c.finish)  # fmt: skip
    console = Console()
    console.print(table)
    console.print(f"verdict: {result.verdict} — {result.detail}", highlight=False)
