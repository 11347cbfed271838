"""Distributed sweeps and votes: sweep points as Ray tasks, the samples of a vote across actors.

Design choice: a sweep point is a whole run — a session, its workload, its ledger — so it is the
natural unit to ship: each point runs :func:`hakaru.runner.run_workload` in a Ray task, on any
node, with the in-process executor inside (a simulated call costs microseconds; sending each
call to an actor would cost more than the call). The task writes the run into a throw-away
in-memory store and returns its records with the outcome, and the driver copies them into its
own run store, so a point run remotely is stored exactly as one run locally. The simulated LLM
is a pure function of the seed and the request, so a point gives the same totals wherever it
runs.

Votes need nothing special: the samples of a vote are concurrent ``session.call`` s, and with
the Ray executor (:mod:`hakaru.executors.ray`) concurrent calls go to the least-loaded actors,
so they spread over the pool. :func:`sample_concurrently` is that fork, written once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hakaru.errors import BackendError, ConfigError, HakaruError, RedFlag
from hakaru.executors.cluster import connect, ray_module
from hakaru.runner import RunOutcome, run_workload
from hakaru.types import CallRecord, Request, Response

if TYPE_CHECKING:
    from hakaru.analysis.sweep import SweepResult
    from hakaru.session import Session
    from hakaru.store import RunInfo, RunStore

__all__ = ["distributed_sweep", "run_workload_remote", "sample_concurrently"]

#: Ray task options unless given: a simulated point is CPU-bound, so one CPU per point.
DEFAULT_TASK_OPTIONS: dict[str, Any] = {"num_cpus": 1}

_Shipped = tuple[RunOutcome | None, BaseException | None, "RunInfo | None", list[CallRecord]]


def _run_point(name: str, kwargs: dict[str, Any], keep: bool) -> _Shipped:
    """The Ray task: one ``run_workload`` in this worker, its run in a memory store."""
    from hakaru.store import RunStore

    with RunStore(":memory:") as memory:
        outcome: RunOutcome | None = None
        error: BaseException | None = None
        try:
            outcome = asyncio.run(run_workload(name, store=memory if keep else None, **kwargs))
        except Exception as exc:  # travels as a value: the driver re-raises it as itself
            error = exc
        runs = memory.runs(limit=1, kind="run") if keep else []
        if not runs:
            return outcome, error, None, []
        return outcome, error, runs[0], list(memory.calls(runs[0].id))


async def run_workload_remote(
    name: str,
    *,
    store: RunStore | None = None,
    ray_address: str | None = None,
    task_options: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> RunOutcome:
    """:func:`~hakaru.runner.run_workload` in a Ray task; same arguments, same outcome.

    With a ``store`` (a :class:`~hakaru.store.RunStore` on this driver) the point's run and its
    call records are written there, as a local run would be, and ``run_id`` names it.
    ``task_options`` go to Ray (default: one CPU per point).

    >>> out = await run_workload_remote("tree-sum", params={"n": 64})  # doctest: +SKIP
    """
    if "session_options" in kwargs and "executor" in (kwargs["session_options"] or {}):
        raise ConfigError(
            "A remote point runs its calls in its own Ray task; leave 'executor' out of "
            "session_options"
        )
    connect(ray_address)
    task = (
        ray_module().remote(_run_point).options(**{**DEFAULT_TASK_OPTIONS, **(task_options or {})})
    )
    shipped: _Shipped = await task.remote(name, kwargs, store is not None)
    outcome, error, info, records = shipped
    if store is not None and info is not None:
        run_id = store.new_run(info.kind, info.name, info.params)
        store.add_calls(run_id, records)
        store.finish_run(run_id, "failed" if info.status == "failed" else "done", info.summary)
        if outcome is not None:
            outcome = dataclasses.replace(outcome, run_id=run_id)
    if error is not None:
        raise error
    assert outcome is not None
    return outcome


async def distributed_sweep(
    workload: str,
    grid: Mapping[str, Sequence[int]],
    *,
    variants: Sequence[str] | None = None,
    repeats: int = 1,
    seed: int = 0,
    backend: str = "sim",
    backend_options: Mapping[str, Any] | None = None,
    model: str | None = None,
    sim_error: float | None = None,
    store: RunStore | None = None,
    ray_address: str | None = None,
    task_options: Mapping[str, Any] | None = None,
) -> SweepResult:
    """Every point of ``grid`` × ``variants`` × ``repeats`` as a Ray task, all at once.

    The points, their order and their totals are those of :func:`hakaru.analysis.sweep.run_sweep`
    with the same arguments (repeat ``r`` runs with seed ``seed + r``); Ray runs as many at a
    time as the cluster has CPUs for. With a ``store``, each point is stored as a run (the sweep
    itself is not recorded and cannot be resumed: use ``run_sweep`` for that).

    >>> sweep = await distributed_sweep("tree-sum", {"n": [16, 64]})  # doctest: +SKIP
    """
    from hakaru.analysis.sweep import PointResult, SweepResult, SweepSpec
    from hakaru.store import SweepPoint
    from hakaru.workloads.base import get_workload

    spec_workload = get_workload(workload)
    wanted = list(variants) if variants else list(spec_workload.variants)
    for v in wanted:
        spec_workload.resolve(v, {})  # an unknown variant names the valid ones
    if not grid or not all(grid.values()):
        raise ConfigError("The sweep grid is empty. Give every parameter at least one value")
    if repeats < 1:
        raise ConfigError(f"repeats is {repeats}. Give at least 1")
    spec = SweepSpec(
        spec_workload.name,
        {name: sorted(set(map(int, values))) for name, values in grid.items()},
        [v for v in spec_workload.variants if v in wanted],
        repeats,
        seed,
        backend,
        model,
        sim_error,
        (backend_options or {}).get("base_url"),
    )
    names = list(spec.grid)
    plan: list[tuple[str, dict[str, int], int, int]] = []
    for variant in spec.variants:  # the order of run_sweep: variant, parameters, repeat
        for combo in itertools.product(*(spec.grid[n] for n in names)):
            _, params = spec_workload.resolve(variant, dict(zip(names, combo, strict=True)))
            plan.extend((variant, params, r, seed + r) for r in range(repeats))

    async def point(variant: str, params: dict[str, int], r: int, s: int) -> Any:
        try:
            out = await run_workload_remote(
                spec.workload,
                variant=variant,
                params=params,
                backend=backend,
                backend_options=dict(backend_options or {}),
                model=model,
                seed=s,
                sim_error=sim_error,
                store=store,
                ray_address=ray_address,
                task_options=task_options,
            )
        except ConfigError:
            raise  # wrong for every point: stop the sweep
        except BackendError as exc:
            if exc.retryable:
                return exc  # transient: the point is listed as failed
            return PointResult(variant, params, r, s, {}, False, error=str(exc))
        except HakaruError as exc:
            return PointResult(variant, params, r, s, {}, False, error=str(exc))
        return PointResult(
            variant, params, r, s, out.totals, out.result.correct, out.run_id, None,
            out.by_role, out.analytic,
        )  # fmt: skip

    finished = await asyncio.gather(*(point(*p) for p in plan))
    result = SweepResult("", spec, [])
    for p, done in zip(plan, finished, strict=True):
        if isinstance(done, BackendError):
            key = PointResult(p[0], p[1], p[2], p[3], {}, False).key
            result.failed[key] = str(done)
            continue
        # Through JSON, as run_sweep keeps points: the two compare equal.
        where, blob = json.loads(json.dumps(done.stored()))
        result.points.append(PointResult.from_stored(SweepPoint("", done.key, where, blob)))
        result.executed += 1
    return result


async def sample_concurrently(
    session: Session,
    request: Request,
    n: int,
    *,
    validate: Callable[[Response], Any] | None = None,
) -> list[Response | RedFlag]:
    """``n`` samples of ``request`` at once — the ballots of one round of a vote.

    The samples are concurrent calls, so on the Ray executor they spread over its actors
    (least outstanding requests first). A sample that ``validate`` flags gives its
    :class:`~hakaru.errors.RedFlag` in its place instead of ending the round; afterwards the
    caller depends on every sample (happens-before), as after ``session.gather``.

    >>> ballots = await sample_concurrently(session, request, 5, validate=parse)  # doctest: +SKIP
    """
    if n < 1:
        raise ConfigError(f"n is {n}. Draw at least 1 sample")

    async def one() -> Response | RedFlag:
        try:
            return await session.call(request, validate=validate)
        except RedFlag as flag:
            return flag

    return await session.gather(*(one() for _ in range(n)))
