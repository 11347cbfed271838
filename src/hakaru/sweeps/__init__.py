"""Sweeps: a workload run over a grid of sizes × variants × repeats, point by point, resumably.

A sweep sits above :mod:`hakaru.runner`: each point is one :func:`~hakaru.runner.run_workload`,
stored as its own run, and the sweep's points are kept in the run store so an interrupted sweep
resumes where it stopped. Three modules:

- :mod:`~hakaru.sweeps.results` — what a sweep is and what it produced (:class:`SweepSpec`,
  :class:`PointResult`, :class:`SweepResult`, :class:`SweepSeries`): the data model that reports
  and fits read, with no dependency on the workloads;
- :mod:`~hakaru.sweeps.run` — :func:`run_sweep` (plan the grid, run the points, store them)
  and :func:`load_sweep` (read a stored one);
- :mod:`~hakaru.sweeps.remote` — :func:`~hakaru.sweeps.remote.run_workload_remote`, a point in
  a Ray task (``run_sweep(executor="ray")``).

>>> import asyncio
>>> from hakaru.sweeps import run_sweep
>>> sweep = asyncio.run(run_sweep("tree-sum", {"n": [16, 64]}, variants=["tree"]))
>>> [p.totals["calls"] for p in sweep.points]
[5, 21]
"""

from hakaru.sweeps.results import (
    PointResult,
    SweepProgress,
    SweepResult,
    SweepSeries,
    SweepSpec,
    point_key,
)
from hakaru.sweeps.run import load_sweep, run_sweep

__all__ = [
    "PointResult",
    "SweepProgress",
    "SweepResult",
    "SweepSeries",
    "SweepSpec",
    "load_sweep",
    "point_key",
    "run_sweep",
]
