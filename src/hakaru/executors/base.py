"""The executor interface: wrap a backend so that its calls run somewhere else."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from hakaru.backends.base import Backend
from hakaru.errors import ConfigError

__all__ = ["Executor", "LocalExecutor", "create_executor"]


@runtime_checkable
class Executor(Protocol):
    """Turns the session's backend into one whose ``complete`` runs on this executor."""

    def wrap(self, backend: Backend) -> Backend: ...


class LocalExecutor:
    """In-process asyncio: calls run in the session's own event loop (the default)."""

    def wrap(self, backend: Backend) -> Backend:
        return backend


def create_executor(name: str, **options: Any) -> Executor:
    """``"local"`` or ``"ray"`` (options go to :class:`hakaru.executors.ray.RayExecutor`)."""
    if name == "local":
        return LocalExecutor()
    if name == "ray":
        try:
            from hakaru.executors.ray import RayExecutor
        except ImportError as exc:  # ray is an optional extra
            raise ConfigError(
                f"The ray executor needs Ray ({exc}). Install it with: pip install 'hakaru[ray]'"
            ) from None
        executor: Executor = RayExecutor(**options)
        return executor
    raise ConfigError(f"Unknown executor '{name}'. Choose 'local' or 'ray'")
