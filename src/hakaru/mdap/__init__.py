"""MDAP / MAKER: massively decomposed agentic processes (Meyerson et al. 2025, arXiv 2511.09030).

The planner is the pure math of the paper (§3-4) — which voting margin k a run needs, what it
will cost, on which model — and is what this package exports. It lives in three modules:

* :mod:`hakaru.mdap.formulas`: the closed forms of the two-candidate model, computed in logs:
  per-step and full-task success (§3.2), k_min, expected votes, calls and cost (§4.4);
* :mod:`hakaru.mdap.planning`: :class:`Plan` and :func:`plan` (everything about one run), and
  :func:`choose_model` (the cheapest candidate that reaches the target);
* :mod:`hakaru.mdap.paper_table`: the paper's projected-cost table (Fig. 6b) and
  :func:`reproduce_paper_table`.

Voting and red flags (:mod:`hakaru.patterns`), the step driver (:mod:`hakaru.mdap.driver`),
a whole run (:func:`hakaru.mdap.run.run_maker`), calibration (:mod:`hakaru.mdap.calibrate`) and
the Towers of Hanoi task (:mod:`hakaru.mdap.hanoi`) build on it.
"""

from hakaru.mdap.formulas import (
    PAPER_STEPS,
    PAPER_TARGET,
    cost_per_call,
    expected_calls,
    expected_cost,
    expected_votes,
    full_success,
    k_min,
    step_success,
    votes_bound,
)
from hakaru.mdap.paper_table import PAPER_TABLE, PaperRow, reproduce_paper_table
from hakaru.mdap.planning import (
    ModelCandidate,
    ModelChoice,
    ModelOption,
    Plan,
    choose_model,
    plan,
)

__all__ = [
    "PAPER_STEPS",
    "PAPER_TABLE",
    "PAPER_TARGET",
    "ModelCandidate",
    "ModelChoice",
    "ModelOption",
    "PaperRow",
    "Plan",
    "choose_model",
    "cost_per_call",
    "expected_calls",
    "expected_cost",
    "expected_votes",
    "full_success",
    "k_min",
    "plan",
    "reproduce_paper_table",
    "step_success",
    "votes_bound",
]
