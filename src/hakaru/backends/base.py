"""The one interface every backend implements, and the registry that names them.

A backend is anything with ``async complete(request) -> Response``. Built-in backends register
themselves here exactly as a third party's would (``register_backend("mine", factory)``); the
session never special-cases a provider. ``model_spec(name)`` lets a backend describe the models it
knows (size, window, prices, capabilities); backends that know nothing return ``None`` and the
session falls back to the specs the user gave it. A backend may also have ``async start()``:
the session awaits it when it is entered (``async with``), to open connections before the first
calls rather than while they wait (the Ray pool connects to its actors there). A backend whose
``complete`` never suspends (no I/O, no sleeping: the simulator, a replay) may say so with a true
attribute ``answers_at_once``: the session then runs a vote's concurrent draws inline, one after
another in the calling task, instead of as one asyncio task each
(:meth:`hakaru.happens_before.HappensBefore.gather`, ``inline``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from hakaru.errors import ConfigError
from hakaru.types import ModelSpec, Request, Response

__all__ = ["Backend", "available_backends", "create_backend", "register_backend"]


@runtime_checkable
class Backend(Protocol):
    """An LLM provider behind one method."""

    async def complete(self, request: Request) -> Response:
        """Answer one request, or raise a :class:`hakaru.errors.BackendError`."""
        ...

    def model_spec(self, name: str) -> ModelSpec | None:
        """The spec of a model this backend knows, else ``None``."""
        ...

    async def aclose(self) -> None:
        """Release connections and files."""
        ...


BackendFactory = Callable[..., Backend]
_REGISTRY: dict[str, BackendFactory] = {}
#: Backends that live above the core, named ``"module:Class"`` and imported only when created
#: (the neural model needs torch and sits in layer 3; the core never imports it).
_LAZY: dict[str, str] = {"neural": "hakaru.neural.backend:NeuralBackend"}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make ``create_backend(name, **options)`` build a backend with ``factory(**options)``."""
    _REGISTRY[name] = factory


def _load_builtins() -> None:
    # Importing the modules runs their register_backend() calls; deferred so that importing
    # hakaru stays cheap.
    import hakaru.backends.anthropic
    import hakaru.backends.openai
    import hakaru.backends.replay
    import hakaru.backends.sim  # noqa: F401


def available_backends() -> list[str]:
    """Names accepted by :func:`create_backend`."""
    _load_builtins()
    return sorted({*_REGISTRY, *_LAZY})


def create_backend(name: str, **options: Any) -> Backend:
    """Build a registered backend by name.

    >>> backend = create_backend("sim", seed=1)
    """
    _load_builtins()
    if name not in _REGISTRY and name in _LAZY:
        module, _, attr = _LAZY[name].partition(":")
        register_backend(name, getattr(importlib.import_module(module), attr))
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"Unknown backend '{name}'. Choose one of: {', '.join(available_backends())}."
        ) from None
    return factory(**options)
