"""Quality gates and effective throughput (seed 003): model, optimum, frontier, fitting, A/B.

A gate of strength g ∈ [0, 1] trades raw throughput for less rework. The model
(:mod:`~hakaru.gates.model`) is T(g) = F0·(1 − αg)·(1 − R0·e^(−βg)) and its net variant with a
rework cost multiplier c; :func:`optimize` finds the best strength g* and its sensitivities,
:func:`frontier` tabulates the trade-off, :func:`fit_gate_model` estimates the parameters from
per-strength observations and :func:`compare_ab` compares two configurations. The derivation and
the source document's claims next to what the model gives are in docs/gates.md.

>>> from hakaru.gates import GateParams, optimize
>>> round(optimize(GateParams(r0=0.258, beta=3.16, alpha=0.30)).g_star, 3)
0.316

Only numpy is imported here; scipy (root finding) and matplotlib (plots) load inside the
functions that need them.
"""

from hakaru.gates.ab import ABMetric, ABResult, ArmTotals, arm_totals, compare_ab
from hakaru.gates.data import GateObservation, read_observations
from hakaru.gates.fit import Estimate, GateFit, fit_gate_model
from hakaru.gates.frontier import (
    FrontierReport,
    FrontierRow,
    frontier,
    frontier_report,
    frontier_svg,
)
from hakaru.gates.model import (
    GateParams,
    Objective,
    effective_throughput,
    net_throughput,
    raw_completion,
    rework_rate,
    throughput,
    throughput_derivatives,
)
from hakaru.gates.optimum import Case, GateOptimum, grid_optimum, optimize, sensitivity

__all__ = [
    "ABMetric",
    "ABResult",
    "ArmTotals",
    "Case",
    "Estimate",
    "FrontierReport",
    "FrontierRow",
    "GateFit",
    "GateObservation",
    "GateOptimum",
    "GateParams",
    "Objective",
    "arm_totals",
    "compare_ab",
    "effective_throughput",
    "fit_gate_model",
    "frontier",
    "frontier_report",
    "frontier_svg",
    "grid_optimum",
    "net_throughput",
    "optimize",
    "raw_completion",
    "read_observations",
    "rework_rate",
    "sensitivity",
    "throughput",
    "throughput_derivatives",
]
