"""``hakaru neural train TASK`` — train the tiny neural model on CPU and write its model card."""

from __future__ import annotations

import shlex
import sys

import click

from hakaru.cli.main import echo_json


@click.group()
def neural() -> None:
    """A real tiny neural model: train it (serve it with --backend neural)."""


@neural.command("train")
@click.argument("task", type=click.Choice(["sum", "hanoi"]))
@click.option("--minutes", type=float, default=10.0, show_default=True, help="Time budget.")
@click.option("--steps", type=int, default=1_000_000, show_default=True, help="Step budget.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of init and data.")
@click.option(
    "--out", default=None, metavar="FILE", help="Weights file [default: the committed one]."
)
@click.option("--threads", type=int, default=1, show_default=True, help="torch CPU threads.")
@click.option("--held-out", type=int, default=2000, show_default=True, help="Held-out examples.")
@click.option(
    "--curriculum",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of the budget over which the most numbers per example grows from 2 to 8.",
)
@click.option("--layers", type=int, default=3, show_default=True, help="Transformer blocks.")
@click.option("--width", type=int, default=96, show_default=True, help="Embedding width.")
@click.option("--lr", type=float, default=2e-3, show_default=True, help="Peak learning rate.")
@click.option("--json", "as_json", is_flag=True, help="Print the model card as JSON.")
def train(
    task: str,
    minutes: float,
    steps: int,
    seed: int,
    out: str | None,
    threads: int,
    held_out: int,
    curriculum: float,
    layers: int,
    width: int,
    lr: float,
    as_json: bool,
) -> None:
    """Train neural-TASK within --minutes / --steps; write FILE and its model card FILE.json.

    \b
      nice -n 19 hakaru neural train sum --minutes 19
      hakaru neural train sum --steps 50 --out /tmp/sum.pt
      nice -n 5 hakaru neural train hanoi --steps 2500 --minutes 20 --held-out 4000
    """
    from hakaru.neural.weights import default_weights, require_torch, save_weights

    require_torch()
    from hakaru.neural.train import TrainConfig
    from hakaru.neural.train import train as run_training

    cfg = TrainConfig(
        task=task,
        minutes=minutes,
        steps=steps,
        seed=seed,
        threads=threads,
        held_out=held_out,
        curriculum=curriculum,
        n_layer=layers,
        n_embd=width,
        lr=lr,
    )
    result = run_training(cfg, log=lambda line: click.echo(line, err=True))
    path = out or default_weights(task)
    card = result.card(cfg, "hakaru " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    save_weights(path, result.model, task, card)
    if as_json:
        echo_json(card)
        return
    click.echo(
        f"neural-{task}: {result.steps} steps in {result.seconds:.0f}s, final loss "
        f"{card['final_loss']:.4f}, held-out accuracy {result.accuracy:.3f} "
        f"({held_out} examples); wrote {path}"
    )
