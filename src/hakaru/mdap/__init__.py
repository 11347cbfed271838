"""MDAP / MAKER: massively decomposed agentic processes (Meyerson et al. 2025, arXiv 2511.09030).

``planner`` is the pure math (which voting margin k, at what cost); voting, red flags, the step
driver and the Towers of Hanoi task build on it.
"""

from hakaru.mdap.planner import (
    PAPER_STEPS,
    PAPER_TABLE,
    PAPER_TARGET,
    ModelCandidate,
    ModelChoice,
    ModelOption,
    PaperRow,
    Plan,
    choose_model,
    cost_per_call,
    expected_calls,
    expected_cost,
    expected_votes,
    full_success,
    k_min,
    plan,
    reproduce_paper_table,
    step_success,
    votes_bound,
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
