"""Run one workload instance on a backend, in a session, and collect what it cost.

This is what ``hakaru run`` does, and what sweeps and the demo repeat for every point: build the
backend (the simulated LLM with the workload's models, or an OpenAI-compatible server standing in
for all of its roles), open a :class:`~hakaru.session.Session` (optionally persisted in the run
store), run the workload, and return the ledger totals next to the analytic prediction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hakaru.backends.base import Backend, create_backend
from hakaru.backends.sim.models import SimModel
from hakaru.errors import ConfigError
from hakaru.session import Session
from hakaru.workloads.base import WorkloadResult, get_workload

__all__ = ["RunOutcome", "run_workload"]


@dataclass(slots=True)
class RunOutcome:
    """Totals of one run, its answer, and the analytic prediction for comparison."""

    workload: str
    variant: str
    params: dict[str, int]
    seed: int
    totals: dict[str, Any]
    result: WorkloadResult
    analytic: dict[str, float]
    by_role: dict[str, dict[str, float]] = field(default_factory=dict)
    by_model: dict[str, dict[str, float]] = field(default_factory=dict)
    run_id: str = ""
    backend: str = "sim"

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` object of ``hakaru run``."""
        return {
            **self.totals,
            "correct": self.result.correct,
            "answer": self.result.answer,
            "expected": self.result.expected,
            "workload": self.workload,
            "variant": self.variant,
            "params": self.params,
            "seed": self.seed,
            "analytic": self.analytic,
            "by_role": self.by_role,
            "run_id": self.run_id,
            "backend": self.backend,
        }


async def run_workload(
    name: str,
    *,
    variant: str | None = None,
    params: Mapping[str, Any] | None = None,
    backend: str | Backend = "sim",
    backend_options: Mapping[str, Any] | None = None,
    model: str | None = None,
    seed: int = 0,
    sim_error: float | None = None,
    store: Any = None,
    session_options: Mapping[str, Any] | None = None,
    run_params: Mapping[str, Any] | None = None,
) -> RunOutcome:
    """Run workload ``name`` once and return its ledger totals.

    On the ``sim`` backend the workload's own simulated models are used; ``sim_error`` sets
    their base error rate (wrong answers per call on an empty context; the growth with context
    fill scales with it, and 0 turns every kind of error off). On any other backend,
    ``model`` (or the backend's default) plays every role. ``run_params`` are stored with the
    run (e.g. the sweep and point it belongs to).

    >>> import asyncio
    >>> out = asyncio.run(run_workload("tree-sum", params={"n": 64, "fan_in": 4}, sim_error=0))
    >>> out.totals["calls"], out.totals["depth"], out.result.correct
    (21, 3, True)
    """
    workload = get_workload(name)
    variant, values = workload.resolve(variant, params or {})
    if sim_error is not None and not 0.0 <= sim_error <= 1.0:
        raise ConfigError(f"--sim-error is {sim_error}. Give a probability in [0, 1]")
    backend_name = backend if isinstance(backend, str) else type(backend).__name__
    # One model for every role: the user's, or "" (the backend's default) on a real backend.
    roles: dict[str, str] | None = None
    if isinstance(backend, str):
        options = dict(backend_options or {})
        if backend == "sim":
            sims = workload.sim_models(variant, values)
            if sim_error is not None:
                sims = [_with_error(m, sim_error) for m in sims]
            options.setdefault("seed", seed)
            options["models"] = [*options.get("models", []), *sims]
            if model:
                roles = dict.fromkeys(workload.roles, model)
        else:
            if model:
                options.setdefault("model", model)
            roles = dict.fromkeys(workload.roles, model or "")
        backend_obj = create_backend(backend, **options)
    else:
        backend_obj = backend
        roles = dict.fromkeys(workload.roles, model) if model else None
    session = Session(
        backend_obj,
        store=store,
        run_kind="run",
        run_name=f"{workload.name}/{variant}",
        run_params={"params": values, "seed": seed, "backend": backend_name, **(run_params or {})},
        **dict(session_options or {}),
    )

    try:
        async with session:
            result = await workload.run(session, variant, values, seed=seed, models=roles)
    finally:
        if isinstance(backend, str):
            await backend_obj.aclose()
    return RunOutcome(
        workload=workload.name,
        variant=variant,
        params=values,
        seed=seed,
        totals=session.totals(),
        result=result,
        analytic=workload.analytic(variant, values),
        by_role=session.ledger.group_by("role"),
        by_model=session.ledger.group_by("model"),
        run_id=session.run_id,
        backend=backend_name,
    )


def _with_error(model: SimModel, rate: float) -> SimModel:
    """``model`` with base error ``rate``; its growth with context fill keeps its shape
    (``max_error`` scales by the same factor), and rate 0 means no errors of any kind."""
    if model.base_error > 0:
        ceiling = min(1.0, model.ceiling * rate / model.base_error)
    else:
        ceiling = max(rate, model.ceiling) if rate else 0.0
    return dataclasses.replace(
        model,
        base_error=rate,
        max_error=max(rate, ceiling),
        malformed_rate=model.malformed_rate if rate else 0.0,
        overlong_rate=model.overlong_rate if rate else 0.0,
    )
