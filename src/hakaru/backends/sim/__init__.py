"""The built-in simulated LLM backend (``sim``): oracle-backed, deterministic, free and fast.

Importing this package registers it: ``create_backend("sim", seed=1)`` builds a
:class:`SimBackend`. Its models live in :mod:`hakaru.backends.sim.models`; the task kinds it
answers (ground truth, prompts, strict parsers, wrong answers) in :mod:`hakaru.tasks`.
"""

from hakaru.backends.base import register_backend
from hakaru.backends.sim.backend import SimBackend
from hakaru.backends.sim.models import BUILTIN_MODELS, SimModel, list_models

__all__ = ["BUILTIN_MODELS", "SimBackend", "SimModel", "list_models"]

register_backend("sim", SimBackend)
