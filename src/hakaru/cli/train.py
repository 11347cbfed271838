"""``hakaru train hbpo`` — the HBPO reproduction: SFT, then GRPO / GRPO+cosine / HBPO, evaluated.

A thin layer over :func:`hakaru.hbpo.experiment.run_experiment`: a preset, an optional JSON
config file and ``--set KEY=VALUE`` overrides become a :class:`~hakaru.hbpo.Config` (unknown
keys are errors); the run resumes from the checkpoints in ``--out``. Log lines go to stderr;
stdout gets a table, or one JSON object with ``--json``. Needs the ``train`` extra (torch).
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from hakaru.cli.main import echo_json
from hakaru.errors import ConfigError


@click.group()
def train() -> None:
    """Train a model with HBPO (and its baselines)."""


def _parse_sets(items: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set '{item}' is not KEY=VALUE. Write e.g. --set rl_steps=50")
        try:
            values[key.strip()] = json.loads(raw)
        except ValueError:
            values[key.strip()] = raw
    return values


@train.command("hbpo")
@click.option(
    "--preset",
    "preset_name",
    type=click.Choice(["full", "quick", "smoke"]),
    default="full",
    show_default=True,
    help="full: the reproduction (~30 min on 2 cores); quick: minutes; smoke: seconds (CI).",
)
@click.option(
    "--config",
    "config_file",
    default=None,
    metavar="FILE",
    help="JSON config on top of the preset.",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one config key (JSON value).",
)
@click.option("--methods", default=None, help="Comma-separated RL methods (grpo,cosine,hbpo).")
@click.option(
    "--out",
    default="hbpo-run",
    show_default=True,
    metavar="DIR",
    help="Run directory (resumed if present).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def hbpo(
    preset_name: str,
    config_file: str | None,
    sets: tuple[str, ...],
    methods: str | None,
    out: str,
    as_json: bool,
    no_progress: bool,
) -> None:
    """Run (or resume) the HBPO reproduction in DIR and report it.

    \b
      hakaru train hbpo --preset quick --out /tmp/hbpo-quick
      hakaru train hbpo --set rl_steps=50 --methods grpo,hbpo
    """
    from hakaru.hbpo.config import Config, preset

    cfg = preset(preset_name)
    if config_file:
        cfg = Config.load(config_file, cfg)
    values = _parse_sets(sets)
    if methods:
        values["methods"] = [m.strip() for m in methods.split(",") if m.strip()]
    if values:
        cfg = Config.from_dict(values, cfg)
    try:
        from hakaru.hbpo.experiment import run_experiment
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError(
            f"Training needs torch ({exc}). Install the extra: pip install 'hakaru[train]'"
        ) from None

    def log(line: str) -> None:
        click.echo(line, err=True)

    command = "hakaru " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    results = run_experiment(cfg, Path(out), log=log, progress=not no_progress, command=command)
    if as_json:
        echo_json(results)
        return
    _print_results(results)


def _print_results(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="HBPO reproduction (greedy, natural mode unless @b)", title_justify="left")
    for col in (
        "model",
        "acc",
        "95% CI",
        "tokens",
        "Δtok SFT",
        "Δacc SFT",
        "Δtok GRPO",
        "Δacc GRPO",
        "ρ(k,tok)",
    ):
        table.add_column(col, justify="left" if col == "model" else "right")
    for name, s in results["models"].items():
        o = s["overall"]
        cmp = results["comparisons"].get(name, {})
        sft, grpo = cmp.get("vs_sft"), cmp.get("vs_grpo")
        table.add_row(
            name,
            f"{o['accuracy']:.3f}",
            f"{o['ci95'][0]:.2f}-{o['ci95'][1]:.2f}",
            f"{o['mean_tokens']:.1f}",
            f"{-100 * sft['token_reduction']:+.1f}%" if sft else "",
            f"{sft['accuracy_delta_pts']:+.1f}pt" if sft else "",
            f"{-100 * grpo['token_reduction']:+.1f}%" if grpo else "",
            f"{grpo['accuracy_delta_pts']:+.1f}pt" if grpo else "",
            f"{s['spearman_problems']:.2f}",
        )
    console = Console()
    console.print(table)
    for name, t in results["targets"].items():
        mark = "met" if t["met"] else "NOT met"
        console.print(f"target {name}: {mark} ({t['rule']})")
