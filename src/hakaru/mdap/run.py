"""Run a MAKER task end to end: the library entry point of ``hakaru maker run``.

Design choice: as :func:`hakaru.runner.run_workload` does for a workload, :func:`run_maker` owns
the whole of one run — the session (recording into the run store in batches, on any executor),
the step driver (:func:`~hakaru.mdap.driver.run_mdap`), the run's stored summary, written once
when the session closes, and what the planner predicts from the per-vote accuracy p̂ and the
valid fraction v̂ the run measured — so the command line only parses options and prints.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hakaru.backends.base import Backend
from hakaru.errors import StepFailed
from hakaru.mdap.driver import DriverConfig, MdapResult, MdapTask, Progress, run_mdap
from hakaru.mdap.formulas import expected_calls, full_success, k_min
from hakaru.mdap.resume import Resume
from hakaru.session import Session
from hakaru.store import RunStore

__all__ = ["MakerOutcome", "run_maker"]


@dataclass(slots=True)
class MakerOutcome:
    """A finished MAKER run: the driver's result, the planner's prediction, the wall time."""

    result: MdapResult
    predicted: dict[str, Any]  # p_hat, v_hat; with p̂ > 1/2 also p_full, expected_calls, k_min
    wall_seconds: float  # the whole run: session, steps, and closing the store

    def to_json(self) -> dict[str, Any]:
        """The ``hakaru maker run --json`` object."""
        out = self.result.to_json()
        out["wall_seconds"] = self.wall_seconds
        out["predicted"] = self.predicted
        return out


async def run_maker(
    task: MdapTask,
    config: DriverConfig,
    backend: Backend,
    *,
    store: RunStore | None = None,
    resume: Resume | None = None,
    run_params: Mapping[str, Any] | None = None,
    session_options: Mapping[str, Any] | None = None,
    target: float = 0.95,
    progress: Progress | None = None,
    progress_every: int = 0,
) -> MakerOutcome:
    """Run ``task`` with MAKER's voting and red flags on ``backend``, recorded in ``store``.

    The run is stored as kind ``"maker"`` with ``run_params`` (what a resume must repeat) and,
    when it ends, a summary of its ledger totals with ``outcome``, ``steps_done``, ``solved``,
    ``errors`` and ``reason``. ``resume`` (from :func:`~hakaru.mdap.resume.find_resume`)
    continues a killed run; ``session_options`` go to the :class:`~hakaru.session.Session`
    (e.g. ``executor``). ``target`` is the success probability the predicted ``k_min`` aims at.
    A step that cannot be decided raises :class:`~hakaru.errors.StepFailed` carrying the
    ``run_id`` to resume.

    >>> import asyncio
    >>> from hakaru.backends.sim import SimBackend
    >>> from hakaru.mdap.hanoi import HANOI_MODELS, HanoiTask
    >>> backend = SimBackend(seed=1, models=HANOI_MODELS.values())
    >>> out = asyncio.run(run_maker(HanoiTask(4), DriverConfig("sim-hanoi-mini", k=2), backend))
    >>> out.result.solved, out.result.steps_done, sorted(out.predicted)[:2]
    (True, 15, ['expected_calls', 'k_min'])
    """
    t0 = time.perf_counter()
    session = Session(
        backend,
        keep_records=False,
        store=store,
        durability="batch",
        run_kind="maker",
        run_name=task.name,
        run_params=dict(run_params or {}),
        **dict(session_options or {}),  # where the calls run: here, or on Ray actors
    )
    try:
        async with session:
            result = await run_mdap(
                session,
                task,
                config,
                resume=resume,
                progress=progress,
                progress_every=progress_every,
            )
            session.add_summary(
                outcome="solved" if result.solved else "failed",
                steps_done=result.steps_done,
                solved=result.solved,
                errors=result.errors,
                reason=result.reason,
            )
    except StepFailed as exc:
        if not session.run_id or exc.run_id:
            raise
        raise StepFailed(str(exc), run_id=session.run_id) from None
    # What the planner predicts for this k, from the per-vote accuracy and v measured here.
    p_hat, v_hat = result.diagnostics.p_hat, result.diagnostics.v_hat
    predicted: dict[str, Any] = {"p_hat": p_hat, "v_hat": v_hat}
    if p_hat is not None and v_hat and p_hat > 0.5:
        predicted.update(
            p_full=full_success(p_hat, config.k, task.steps),
            expected_calls=expected_calls(p_hat, task.steps, config.k, v=v_hat),
            k_min=k_min(p_hat, task.steps, target),
            target=target,
        )
    return MakerOutcome(result, predicted, time.perf_counter() - t0)
