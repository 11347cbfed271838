"""Executors: where the backend calls of a session run.

The session stays on the driver — it is the chokepoint that assigns ids, tracks happens-before,
reserves budgets and writes the ledger and the store — and an executor decides where each
``backend.complete(request)`` executes. ``local`` runs it in the session's own event loop;
``ray`` runs it in Ray async actors that each hold a backend client (``executors/ray.py``).
Because only the backend call moves, counts, budgets, work, span and depth are the same on
every executor.
"""

from hakaru.executors.base import Executor, LocalExecutor, create_executor

__all__ = ["Executor", "LocalExecutor", "create_executor"]
