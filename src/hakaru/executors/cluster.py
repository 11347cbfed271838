"""Connecting to a Ray cluster, and importing Ray only when it is needed.

Ray is imported lazily: ``import hakaru`` never imports it. Install it with
``pip install 'hakaru[ray]'``.
"""

from __future__ import annotations

import os
from typing import Any

from hakaru.errors import ConfigError

__all__ = ["connect", "first_line", "ray_module"]


def ray_module() -> Any:
    """The ``ray`` module; a :class:`ConfigError` says how to install it when missing."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            f"The ray executor needs Ray ({exc}). Install it with: pip install 'hakaru[ray]'"
        ) from None
    return ray


def connect(address: str | None = None, **init_options: Any) -> bool:
    """Connect this process to Ray; return ``True`` if this call did (``False``: already on).

    ``address`` is ``"auto"`` (the cluster this machine has joined with ``ray start``),
    ``"HOST:6379"`` (a cluster's head node; any address ``ray.init`` takes), or ``None``: then
    ``$RAY_ADDRESS`` if set, else a new local cluster on this machine, even if the machine has
    joined one (without the dashboard, without usage statistics unless
    ``$RAY_USAGE_STATS_ENABLED`` says so, and with workers at normal priority unless
    ``$RAY_worker_niceness`` says otherwise: hakaru's actors wait on I/O and answer as soon as
    they can, see :func:`hakaru.executors.ray_actor.normal_priority`). ``init_options`` go to
    ``ray.init``.
    """
    ray = ray_module()
    if ray.is_initialized():
        return False
    options = dict(init_options)
    if address is None:
        address = os.environ.get("RAY_ADDRESS") or "local"  # "local": always a new cluster
    if address == "local":
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        os.environ.setdefault("RAY_worker_niceness", "0")  # read by the raylet it starts
        options.setdefault("include_dashboard", False)
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = (
            "a new local Ray cluster" if address == "local" else f"the Ray cluster at '{address}'"
        )
        raise ConfigError(
            f"Cannot connect to {where}: {exc}. Start a cluster with 'ray start --head' (see "
            "docs/scale-out.md), or leave out the address to start a local one"
        ) from None
    return True


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` of ``exc``, for one-line error messages."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
