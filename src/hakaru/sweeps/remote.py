"""A sweep point in a Ray task: :func:`~hakaru.runner.run_workload` on any node of a cluster.

Design choice: a sweep point is a whole run — a session, its workload, its ledger — so it is the
natural unit to ship: each point runs :func:`hakaru.runner.run_workload` in a Ray task, on any
node, with the in-process executor inside (a simulated call costs microseconds; sending each
call to an actor would cost more than the call). The task writes the run into a throw-away
in-memory store and returns its records with the outcome, and the driver copies them into its
own run store, so a point run remotely is stored exactly as one run locally. The simulated LLM
is a pure function of the seed and the request, so a point gives the same totals wherever it
runs. ``run_sweep(executor="ray")`` (:mod:`hakaru.sweeps.run`) runs every point this way.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hakaru.errors import ConfigError
from hakaru.executors.cluster import connect, ray_module
from hakaru.runner import RunOutcome, run_workload
from hakaru.types import CallRecord

if TYPE_CHECKING:
    from hakaru.pricing import Prices
    from hakaru.store import RunInfo, RunStore

__all__ = ["run_workload_remote"]

#: Ray task options unless given: a simulated point is CPU-bound, so one CPU per point.
DEFAULT_TASK_OPTIONS: dict[str, Any] = {"num_cpus": 1}

_Shipped = tuple[
    RunOutcome | None,
    BaseException | None,
    "RunInfo | None",
    list[CallRecord],
    "dict[str, Prices | None]",  # the prices the run's calls were priced at, per model
]


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
            return outcome, error, None, [], {}
        run_id = runs[0].id
        return outcome, error, runs[0], list(memory.calls(run_id)), memory.prices(run_id)


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
    outcome, error, info, records, prices = shipped
    if store is not None and info is not None:
        run_id = store.new_run(info.kind, info.name, info.params)
        for model, known in prices.items():
            store.put_prices(run_id, model, known)
        store.add_calls(run_id, records)
        store.finish_run(run_id, "failed" if info.status == "failed" else "done", info.summary)
        if outcome is not None:
            outcome = dataclasses.replace(outcome, run_id=run_id)
    if error is not None:
        raise error
    assert outcome is not None
    return outcome
