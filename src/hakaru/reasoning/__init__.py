"""Reasoning budgets at inference: announce a budget, cap the output, choose budgets by policy.

- :func:`with_budget` / :class:`BudgetPrompt` — the budget phrase after the thinking tag
  (template configurable), ``Request.reasoning_budget`` set, ``max_tokens`` capped;
- policies — :class:`NoBudget`, :class:`FixedBudget`, :class:`LadderBudget` (climb a ladder of
  levels when an answer does not come back) and :class:`DifficultyBudget` (allocation by
  estimated difficulty under a global token budget, learned from past calls with
  :class:`BudgetStats`);
- the ``reason`` task kind (:class:`ReasoningKind`), whose simulated accuracy depends on
  difficulty and on the budget granted, so that policies can be compared offline;
- :func:`compare_policies` — tokens saved against accuracy lost, per policy (``hakaru reasoning
  compare``);
- :func:`sweep_frontier` — every family swept over its knob, accuracy against tokens with 95 %
  intervals, compared at equal tokens with a paired test (``hakaru reasoning frontier``);
  :class:`OracleBudget` — the allocation from true difficulty, the bound of the difficulty policy;
- :func:`probe` — whether a server honours a reasoning parameter, ignores it or starves the
  answer (``hakaru reasoning probe``); the parameters themselves are
  :mod:`hakaru.backends.reasoning_controls`.

>>> from hakaru.reasoning import with_budget
>>> from hakaru.types import Request
>>> with_budget(Request.chat("m", "hi"), 256).max_tokens
384

The training side — HBPO, which teaches a model to pick its own budget — is
:mod:`hakaru.hbpo`. Nothing here imports torch.
"""

from hakaru.reasoning.allocate import Plan, allocate_levels
from hakaru.reasoning.compare import (
    PolicyComparison,
    PolicyResult,
    calibrate,
    compare_policies,
    run_policy,
)
from hakaru.reasoning.frontier import (
    Frontier,
    FrontierPoint,
    equal_token_comparisons,
    sweep_frontier,
)
from hakaru.reasoning.kind import ReasoningKind, reasoning_payload
from hakaru.reasoning.oracle import OracleBudget, expected_outcome
from hakaru.reasoning.phrase import DEFAULT_TEMPLATE, BudgetPrompt, with_budget
from hakaru.reasoning.policies import (
    BudgetPolicy,
    DifficultyBudget,
    FixedBudget,
    LadderBudget,
    NoBudget,
    check_levels,
)
from hakaru.reasoning.probe import ProbeCall, ProbeResult, probe
from hakaru.reasoning.stats import BucketTally, BudgetStats

__all__ = [
    "DEFAULT_TEMPLATE",
    "BucketTally",
    "BudgetPolicy",
    "BudgetPrompt",
    "BudgetStats",
    "DifficultyBudget",
    "FixedBudget",
    "Frontier",
    "FrontierPoint",
    "LadderBudget",
    "NoBudget",
    "OracleBudget",
    "Plan",
    "PolicyComparison",
    "PolicyResult",
    "ProbeCall",
    "ProbeResult",
    "ReasoningKind",
    "allocate_levels",
    "calibrate",
    "check_levels",
    "compare_policies",
    "equal_token_comparisons",
    "expected_outcome",
    "probe",
    "reasoning_payload",
    "run_policy",
    "sweep_frontier",
    "with_budget",
]
