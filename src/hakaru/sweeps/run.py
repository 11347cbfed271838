"""Sweeps: run a workload over a grid of sizes × variants × repeats, resumably.

Design choice: a sweep is a set of *points*, each named by a canonical key of
(variant, parameters, repeat) and run as its own stored run through
:func:`hakaru.runner.run_workload`. A point is written to the store's ``points`` table the moment
it finishes; resuming reads those keys and runs only the rest. The simulated LLM is a pure
function of the seed and the request, so a resumed sweep holds exactly the points an
uninterrupted one would (``tests/sweeps/test_sweep_kill.py`` kills one with SIGKILL to check).
Points run as asyncio tasks in one process, at most ``concurrency`` at a time: a simulated call
costs microseconds of CPU, and a real backend is I/O-bound, so processes would buy nothing.

The sweep itself is a run of kind ``"sweep"`` whose parameters hold its :class:`SweepSpec`
(workload, grid, variants, repeats, seed, backend); a resumed sweep must have the same spec.
Repeat ``r`` runs with seed ``seed + r``.

A point that ends in a deterministic error (a context overflow, a step that kept failing, a
budget) is a result: it is stored with its ``error`` and ``correct = False``. A point whose
backend kept failing with a transient error (rate limits, timeouts, 5xx after the session's
retries) is *not* stored; :attr:`SweepResult.failed` lists it and a resume runs it again.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import math
import os
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hakaru.errors import BackendError, ConfigError, HakaruError
from hakaru.store import RunInfo, RunStore, SweepPoint
from hakaru.sweeps.results import PointResult, SweepProgress, SweepResult, SweepSpec, point_key
from hakaru.workloads.base import Workload, get_workload

if TYPE_CHECKING:
    from hakaru.runner import RunOutcome

__all__ = ["MAX_POINTS", "load_sweep", "run_sweep"]

_EXAMPLE = "e.g. --param n=8,16,32 or --param n=8..1024*2"  # the CLI's syntax, in messages

#: Points one sweep may have (variants x grid x repeats): each is a stored run, planned before
#: any runs, and a sweep beyond this would not finish in a sitting.
MAX_POINTS = 10_000


# -- the grid -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Planned:
    key: str
    variant: str
    params: dict[str, int]
    repeat: int
    seed: int

    def coords(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "params": self.params,
            "repeat": self.repeat,
            "seed": self.seed,
        }


def _ordered(workload: Workload, grid: Mapping[str, Any]) -> list[str]:
    """Grid names in the workload's parameter order, unknown ones last (``_plan`` rejects them)."""
    known = [p.name for p in workload.params]
    return sorted(grid, key=lambda name: known.index(name) if name in known else len(known))


def _plan(spec: SweepSpec, workload: Workload) -> list[_Planned]:
    """Every point of the grid, in table order: variant, then parameters, then repeat."""
    if not spec.grid:
        raise ConfigError(
            f"The sweep grid is empty. Give at least one parameter and its values, {_EXAMPLE}"
        )
    for name, values in spec.grid.items():
        if not values:
            raise ConfigError(
                f"Parameter {name} of the grid lists no values. Give some, {_EXAMPLE}"
            )
    if spec.repeats < 1:
        raise ConfigError(f"--repeats is {spec.repeats}. Give at least 1")
    points = len(spec.variants) * spec.repeats * math.prod(len(v) for v in spec.grid.values())
    if points > MAX_POINTS:
        raise ConfigError(
            f"The sweep has {points:,} points ({len(spec.variants)} variants x "
            f"{' x '.join(str(len(v)) for v in spec.grid.values())} values x {spec.repeats} "
            f"repeats); one sweep runs at most {MAX_POINTS:,}. Give fewer values (a factor: "
            "n=8..1024*2) or fewer repeats"
        )
    for variant in spec.variants:  # unknown names and variants, before anything is ordered
        workload.resolve(variant, {name: values[0] for name, values in spec.grid.items()})
    names = [p.name for p in workload.params if p.name in spec.grid]  # the workload's order
    plan = []
    for variant in spec.variants:
        for combo in itertools.product(*(spec.grid[n] for n in names)):
            _, params = workload.resolve(variant, dict(zip(names, combo, strict=True)))
            for r in range(spec.repeats):
                key = point_key(variant, params, r)
                plan.append(_Planned(key, variant, params, r, spec.seed + r))
    return plan


# -- results --------------------------------------------------------------------------------


def _find_sweep(store: RunStore, ref: str) -> RunInfo:
    """The sweep whose id is ``ref`` or starts with it (its points' runs share its prefix)."""
    key = ref.strip().lower()
    found = [i for i in store.runs(limit=None, kind="sweep") if key and i.id.startswith(key)]
    if len(found) > 1 and not any(i.id == key for i in found):
        shown = ", ".join(i.id for i in found[:5])
        raise ConfigError(
            f"Sweep id prefix '{ref}' is ambiguous: it matches {shown}. Give more "
            "characters of the id"
        )
    info = next((i for i in found if i.id == key), None) or (found[0] if found else store.run(ref))
    if info.kind != "sweep":
        raise ConfigError(
            f"Run {info.id} is a {info.kind} run, not a sweep. List sweeps with 'hakaru runs list'"
        )
    return info


def _open_sweep(
    store: RunStore, spec: SweepSpec, sweep_id: str | None, resume: bool
) -> tuple[str, dict[str, SweepPoint]]:
    """The sweep's id (found, or new) and the points it has stored."""
    if sweep_id:
        info = _find_sweep(store, sweep_id)
        diff = SweepSpec.from_json(info.params).differences(spec)
        if diff:
            raise ConfigError(
                f"Sweep {info.id} has a different grid from this command ({'; '.join(diff)}). "
                "Repeat its options to resume it, or leave out --sweep-id to start a new sweep"
            )
        store.finish_run(info.id, "running")
        return info.id, store.get_points(info.id)
    if resume:
        for info in store.runs(limit=None, kind="sweep"):  # newest first
            if info.status != "done" and SweepSpec.from_json(info.params) == spec:
                store.finish_run(info.id, "running")
                return info.id, store.get_points(info.id)
    return store.new_run("sweep", spec.workload, spec.as_json()), {}


async def run_sweep(
    workload: str,
    grid: Mapping[str, Sequence[int]],
    *,
    variants: Sequence[str] | None = None,
    repeats: int = 1,
    seed: int = 0,
    store: RunStore | str | os.PathLike[str] | bool | None = None,
    sweep_id: str | None = None,
    resume: bool = False,
    concurrency: int = 8,
    backend: str = "sim",
    backend_options: Mapping[str, Any] | None = None,
    model: str | None = None,
    sim_error: float | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    executor: str = "local",
    ray_address: str | None = None,
) -> SweepResult:
    """Run ``workload`` at every point of ``grid`` × ``variants`` × ``repeats``.

    ``grid`` maps swept parameters to their values; the others keep their defaults. ``variants``
    defaults to all of the workload's. With a ``store`` (a :class:`RunStore`, a path, or
    ``True`` for the default one) every point is a stored run and every finished point is
    recorded at once, so the sweep can be resumed: give its ``sweep_id``, or ``resume=True`` to
    continue the newest unfinished sweep with the same spec (or start one). Points already
    stored are not run again. ``progress`` is called at the start and after every point.
    ``executor="ray"`` runs each point as a Ray task (``ray_address`` picks the cluster); the
    executor is not part of the sweep's identity, so a sweep can be resumed on another one.

    >>> import asyncio
    >>> sweep = asyncio.run(run_sweep("tree-sum", {"n": [16, 64]}, repeats=2))
    >>> [(p.variant, p.params["n"], p.repeat, p.totals["calls"]) for p in sweep.points][:4]
    [('tree', 16, 0, 5), ('tree', 16, 1, 5), ('tree', 64, 0, 21), ('tree', 64, 1, 21)]
    """
    wl = get_workload(workload)
    wanted = list(variants) if variants else list(wl.variants)
    for v in wanted:
        wl.resolve(v, {})  # an unknown variant names the valid ones
    spec = SweepSpec(
        wl.name,
        {name: sorted(set(map(int, grid[name]))) for name in _ordered(wl, grid)},
        [v for v in wl.variants if v in wanted],
        repeats,
        seed,
        backend,
        model,
        sim_error,
        (backend_options or {}).get("base_url"),
    )
    plan = _plan(spec, wl)
    if concurrency < 1:
        raise ConfigError(f"--concurrency is {concurrency}. Run at least 1 point at a time")
    if store in (None, False) and (sweep_id or resume):
        raise ConfigError("Resuming a sweep needs its run store. Give the store it was run with")

    db: RunStore | None = None
    if isinstance(store, RunStore):
        db = store
    elif store is True:
        db = RunStore()
    elif store not in (None, False):
        db = RunStore(store)  # type: ignore[arg-type]
    try:
        return await _run(
            spec,
            plan,
            db,
            sweep_id,
            resume,
            concurrency,
            progress,
            dict(backend_options or {}),
            _point_runner(executor, ray_address),
        )
    finally:
        if db is not None and db is not store:
            db.close()


def _point_runner(executor: str, ray_address: str | None) -> Callable[..., Awaitable[RunOutcome]]:
    """``run_workload`` in this process, or in a Ray task per point."""
    from hakaru.runner import run_workload

    if executor == "local":
        return run_workload
    if executor != "ray":
        raise ConfigError(f"Unknown executor '{executor}'. Choose 'local' or 'ray'")
    from hakaru.sweeps.remote import run_workload_remote

    return functools.partial(run_workload_remote, ray_address=ray_address)


async def _run(
    spec: SweepSpec,
    plan: list[_Planned],
    db: RunStore | None,
    sweep_id: str | None,
    resume: bool,
    concurrency: int,
    progress: Callable[[SweepProgress], None] | None,
    backend_options: dict[str, Any],
    run_workload: Callable[..., Awaitable[RunOutcome]],
) -> SweepResult:
    stored: dict[str, SweepPoint] = {}
    sid = ""
    if db is not None:
        sid, stored = _open_sweep(db, spec, sweep_id, resume)
    done = {p.key: PointResult.from_stored(stored[p.key]) for p in plan if p.key in stored}
    pending = deque(p for p in plan if p.key not in done)
    result = SweepResult(sid, spec, [], resumed=len(done))

    def report(point: PointResult | None) -> None:
        if progress is not None:
            progress(
                SweepProgress(sid, len(plan), len(done), result.resumed, len(result.failed), point)
            )

    async def run_point(p: _Planned) -> PointResult | None:
        try:
            out = await run_workload(
                spec.workload,
                variant=p.variant,
                params=p.params,
                backend=spec.backend,
                backend_options=backend_options,
                model=spec.model,
                seed=p.seed,
                sim_error=spec.sim_error,
                store=db,
            )
        except ConfigError:
            raise  # wrong for every point: stop the sweep
        except HakaruError as exc:
            if isinstance(exc, BackendError) and exc.retryable:  # transient: left to a resume
                result.failed[p.key] = str(exc)
                return None
            return PointResult(**p.coords(), totals={}, correct=False, error=str(exc))
        return PointResult(
            **p.coords(),
            totals=out.totals,
            correct=out.result.correct,
            run_id=out.run_id,
            by_role=out.by_role,
            analytic=out.analytic,
        )

    async def worker() -> None:
        while pending:
            p = pending.popleft()
            point = await run_point(p)
            if point is not None:
                blobs = _round_trip(point.stored())
                if db is not None:
                    db.put_point(sid, p.key, blobs[0], blobs[1], point.run_id or None)
                point = PointResult.from_stored(SweepPoint(sid, p.key, *blobs))
                done[p.key] = point
                result.executed += 1
            report(point)

    report(None)
    try:
        try:
            async with asyncio.TaskGroup() as tasks:
                for _ in range(min(concurrency, len(pending))):
                    tasks.create_task(worker())
        except BaseExceptionGroup as group:  # the first error of a point, as itself
            raise group.exceptions[0] from None
    except BaseException as exc:
        if db is not None:
            db.finish_run(sid, "failed", {"error": f"{type(exc).__name__}: {exc}"})
        raise
    result.points = [done[p.key] for p in plan if p.key in done]
    if db is not None:
        summary = {
            "points": len(plan),
            "finished": len(done),
            "failed": len(result.failed),
            "correct": sum(p.correct for p in result.points),
        }
        db.finish_run(sid, "done" if result.complete else "failed", summary)
    return result


def _round_trip(blobs: tuple[dict[str, Any], dict[str, Any]]) -> tuple[Any, Any]:
    """Through JSON, as the store keeps them: fresh and resumed points compare equal."""
    return json.loads(json.dumps(blobs[0])), json.loads(json.dumps(blobs[1]))


def load_sweep(store: RunStore, sweep_id: str) -> SweepResult:
    """A stored sweep's finished points (in grid order), without running anything.

    ``sweep_id`` may be a unique prefix. Points not yet finished are simply absent; resume the
    sweep to run them.
    """
    info = _find_sweep(store, sweep_id)
    spec = SweepSpec.from_json(info.params)
    stored = store.get_points(info.id)
    plan = _plan(spec, get_workload(spec.workload))
    points = [PointResult.from_stored(stored[p.key]) for p in plan if p.key in stored]
    return SweepResult(info.id, spec, points, resumed=len(points))
