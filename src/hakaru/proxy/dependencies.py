"""Moved to :mod:`hakaru.dependencies` (the core: the importer of OpenTelemetry traces infers
dependencies from timing the same way); this name is kept so that existing imports work."""

from __future__ import annotations

from hakaru.dependencies import InferredDependencies

__all__ = ["InferredDependencies"]
