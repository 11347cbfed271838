"""``hakaru maker`` — plan, calibrate and run reliable million-step MAKER runs.

Thin shells over the library: ``maker plan`` over the planner (:mod:`hakaru.mdap`),
``maker calibrate`` over :mod:`hakaru.mdap.calibrate`, ``maker run`` over
:func:`hakaru.mdap.run.run_maker` with the Towers of Hanoi task of :mod:`hakaru.mdap.hanoi`. Each
parses options, builds the backend, and prints one JSON object or a rich table. Invalid values
are left to the library, whose ``ConfigError`` messages the CLI root prints as ``Error: …``.
See docs/maker.md.

One module a command (``plan.py``, ``run.py``, ``calibrate.py``); ``build.py`` turns the
options ``run`` and ``calibrate`` share into a backend, a run store and a task.
"""

from __future__ import annotations

import click

from hakaru.cli.maker.calibrate import calibrate_cmd
from hakaru.cli.maker.plan import plan_cmd
from hakaru.cli.maker.run import run_cmd

__all__ = ["maker"]


@click.group()
def maker() -> None:
    """Plan, calibrate and run million-step MDAPs (MAKER: voting with margin k, red flags)."""


maker.add_command(plan_cmd)
maker.add_command(run_cmd)
maker.add_command(calibrate_cmd)
