"""Every ``--option`` a command's help names exists: an option of some hakaru command, or a
workload parameter (``hakaru run`` and ``hakaru sweep`` take those as options too)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click

from hakaru.cli.main import cli
from hakaru.workloads.base import available_workloads, get_workload

OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def _commands(group: click.Group, ctx: click.Context) -> Iterator[click.Command]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        yield command
        if isinstance(command, click.Group):
            yield from _commands(command, click.Context(command, parent=ctx))


def _texts(command: click.Command) -> Iterator[str]:
    yield command.help or ""
    yield command.epilog or ""
    for p in command.params:
        yield getattr(p, "help", None) or ""


def test_every_option_named_in_a_help_text_exists() -> None:
    ctx = click.Context(cli)
    commands = [cli, *_commands(cli, ctx)]
    real = {opt for c in commands for p in c.params for opt in [*p.opts, *p.secondary_opts]}
    params = {
        "--" + p.name.replace("_", "-")
        for w in available_workloads()
        for p in get_workload(w).params
    }
    missing = {
        (c.name, option)
        for c in commands
        for text in _texts(c)
        for option in OPTION.findall(text)
        if option not in real | params
    }
    assert missing == set()
