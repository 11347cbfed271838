"""``--executor local|ray``, ``--ray-address`` and ``--ray-actors``: where a command's work runs.

A command that runs a session (``hakaru run``) takes :func:`executor_options` and passes
:func:`session_options` to ``run_workload(session_options=...)``: its backend calls run in Ray
actors. A command that ships whole runs (``hakaru sweep``: each point a Ray task) takes
:func:`point_executor_options` and checks the pair with :func:`check_executor`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from hakaru.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def point_executor_options(fn: F) -> F:
    """``--executor`` and ``--ray-address``: for commands that ship whole runs (sweeps)."""
    fn = click.option(
        "--ray-address",
        default=None,
        metavar="auto|ADDRESS",
        help="Ray cluster to join: 'auto' (the one this node joined) or HOST:6379 "
        "(default: $RAY_ADDRESS, else a new local cluster).",
    )(fn)
    fn = click.option(
        "--executor",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="Where the work runs: in this process, or on Ray (pip install 'hakaru[ray]').",
    )(fn)
    return fn


def executor_options(fn: F) -> F:
    """``--executor``, ``--ray-address``, ``--ray-actors``: for commands that run a session."""
    fn = click.option(
        "--ray-actors",
        type=click.IntRange(min=1),
        default=4,
        show_default=True,
        help="Ray actors, each holding a backend client (with --executor ray).",
    )(fn)
    return point_executor_options(fn)


def check_executor(executor: str, ray_address: str | None) -> None:
    """Refuse ``--ray-address`` without ``--executor ray``."""
    if ray_address and executor != "ray":
        raise ConfigError("--ray-address needs --executor ray. Add --executor ray")


def session_options(executor: str, ray_address: str | None, ray_actors: int = 4) -> dict[str, Any]:
    """The ``session_options`` that run a session's calls on the chosen executor.

    >>> session_options("local", None)
    {}
    """
    check_executor(executor, ray_address)
    if executor == "local":
        return {}
    from hakaru.executors import create_executor

    return {"executor": create_executor("ray", actors=ray_actors, ray_address=ray_address)}
