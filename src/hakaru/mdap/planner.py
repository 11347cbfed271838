"""Planner for MAKER: which voting margin k a run needs, what it will cost, and on which model.

One import for the whole planner (Meyerson et al. 2025, arXiv 2511.09030, §3-4), which lives in
three modules:

* :mod:`hakaru.mdap.formulas`: the closed forms of the two-candidate model, computed in logs:
  per-step and full-task success (§3.2), k_min, expected votes, calls and cost (§4.4), and the
  checks of their inputs;
* :mod:`hakaru.mdap.planning`: :class:`Plan` and :func:`plan` (everything about one run), and
  :func:`choose_model` (the cheapest candidate that reaches the target);
* :mod:`hakaru.mdap.paper_table`: the paper's projected-cost table (Fig. 6b) and
  :func:`reproduce_paper_table`.

``doctest.testmod`` on this module runs the examples of all three (see ``__test__``).
"""

from __future__ import annotations

from hakaru.mdap import formulas, paper_table, planning
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

# The examples live with the code they document; doctest.testmod(planner) skips objects defined
# elsewhere, so list each function and class of the three modules for it.
__test__: dict[str, object] = {
    f"{mod.__name__.rpartition('.')[2]}.{name}": getattr(mod, name)
    for mod in (formulas, planning, paper_table)
    for name in mod.__all__
    if callable(getattr(mod, name))
}
