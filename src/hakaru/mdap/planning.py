"""Planning a MAKER run and choosing its model, from the closed forms in ``formulas``.

:func:`plan` gathers, for one per-step success p, task length s, target t, granularity m and
red-flag pass rate v, everything :mod:`hakaru.mdap.formulas` gives: the paper's k_min
(Meyerson et al. 2025, arXiv 2511.09030, §3.2), the success probabilities at k_min and k_min − 1,
the exact expected votes and calls, and, when tokens and prices are given, the exact expected cost
next to the paper's projection c·s·k_min/(v·(2p−1)) (§4.4). :func:`choose_model` plans every
candidate model and picks the cheapest that can reach t; a model with p (or p^m) ≤ 0.5 is kept and
marked infeasible.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from hakaru.errors import ConfigError
from hakaru.mdap.formulas import (
    PAPER_STEPS,  # noqa: F401  (used by the doctests)
    _check_p,
    _check_sm,
    _check_t,
    _check_v,
    _odds,
    cost_per_call,
    expected_calls,
    expected_votes,
    full_success,
    k_min,
)

__all__ = [
    "ModelCandidate",
    "ModelChoice",
    "ModelOption",
    "Plan",
    "choose_model",
    "plan",
]


@dataclass(frozen=True)
class Plan:
    """Everything the planner says about one (p, s, t, m, v) and optional pricing.

    "Per step" means per subtask (m steps, one call each vote) when m > 1. Costs are USD and are
    ``None`` unless tokens and prices were given.
    """

    p: float  # per-step success of one valid sample
    steps: int  # s
    target: float  # t
    m: int  # steps per subtask
    v: float  # fraction of samples that pass the red flags
    p_subtask: float  # p^m
    subtasks: float  # s/m
    k_min: int
    p_step: float  # P(a vote at k_min picks the right answer)
    step_error: float  # 1 − p_step, computed without cancellation
    p_full: float  # P(the whole task is right) at k_min; >= target
    p_full_k_minus_1: float | None  # the same at k_min − 1 (< target); None when k_min = 1
    expected_votes_per_step: float  # exact gambler's ruin, valid votes
    expected_votes_per_step_bound: float  # k/(2p^m − 1)
    expected_samples_per_step: float  # valid votes / v
    expected_calls: float  # exact
    expected_calls_bound: float  # the paper's s·k/(v·(2p−1))
    in_tokens: float | None = None  # tokens per call
    out_tokens: float | None = None  # tokens per call
    price_in: float | None = None  # USD per 1M input tokens
    price_out: float | None = None  # USD per 1M output tokens
    cost_per_call: float | None = None  # USD
    expected_cost: float | None = None  # USD, exact
    expected_cost_bound: float | None = None  # USD, the paper's projection

    def to_dict(self) -> dict[str, Any]:
        """The plan as a JSON-ready dict (the ``hakaru maker plan --json`` object)."""
        return asdict(self)


def plan(
    p: float,
    steps: int,
    target: float,
    *,
    m: int = 1,
    v: float = 1.0,
    in_tokens: float | None = None,
    out_tokens: float | None = None,
    price_in: float | None = None,
    price_out: float | None = None,
) -> Plan:
    """Plan a MAKER run: k_min, success probabilities, expected votes, calls and (if priced) cost.

    Give all four of ``in_tokens``, ``out_tokens`` (per call), ``price_in``, ``price_out`` (USD per
    1M tokens) for costs, or none of them.

    >>> pl = plan(0.9978, PAPER_STEPS, 0.95, in_tokens=600, out_tokens=538, price_in=0.4,
    ...           price_out=1.6)
    >>> pl.k_min, round(pl.p_full, 6), round(pl.expected_cost_bound), round(pl.expected_cost)
    (3, 0.988824, 3478, 3478)
    """
    _check_sm(steps, m)
    _check_t(target)
    _check_v(v)
    d, log_r = _odds(p, m)
    k = k_min(p, steps, target, m=m)
    r_k = math.exp(k * log_r)
    pricing = (in_tokens, out_tokens, price_in, price_out)
    c: float | None = None
    if in_tokens is not None and out_tokens is not None and price_in is not None:
        c = None if price_out is None else cost_per_call(in_tokens, out_tokens, price_in, price_out)
    if c is None and any(x is not None for x in pricing):
        names = ("in_tokens", "out_tokens", "price_in", "price_out")
        missing = ", ".join(n for n, x in zip(names, pricing, strict=True) if x is None)
        raise ConfigError(
            f"To price the plan give in_tokens, out_tokens, price_in and price_out; missing "
            f"{missing}. Or give none of them for a plan without costs."
        )
    calls = expected_calls(p, steps, k, m=m, v=v)
    calls_bound = expected_calls(p, steps, k, m=m, v=v, bound=True)
    votes = expected_votes(p, k, m=m)
    return Plan(
        p=p,
        steps=steps,
        target=target,
        m=m,
        v=v,
        p_subtask=(d + 1.0) / 2.0,
        subtasks=steps / m,
        k_min=k,
        p_step=1.0 / (1.0 + r_k),
        step_error=r_k / (1.0 + r_k),
        p_full=full_success(p, k, steps, m=m),
        p_full_k_minus_1=full_success(p, k - 1, steps, m=m) if k > 1 else None,
        expected_votes_per_step=votes,
        expected_votes_per_step_bound=k / d,
        expected_samples_per_step=votes / v,
        expected_calls=calls,
        expected_calls_bound=calls_bound,
        cost_per_call=c,
        expected_cost=None if c is None else c * calls,
        expected_cost_bound=None if c is None else c * calls_bound,
        in_tokens=in_tokens,
        out_tokens=out_tokens,
        price_in=price_in,
        price_out=price_out,
    )


@dataclass(frozen=True)
class ModelCandidate:
    """One model as calibrated: p, v and tokens per call, with its prices (USD per 1M tokens)."""

    name: str
    p: float  # per-step success of one valid sample
    v: float  # fraction of samples that pass the red flags
    in_tokens: float  # per call
    out_tokens: float  # per call
    price_in: float  # USD per 1M input tokens
    price_out: float  # USD per 1M output tokens


@dataclass(frozen=True)
class ModelOption:
    """A candidate's row in a :class:`ModelChoice`: its plan, or why it cannot reach the target."""

    candidate: ModelCandidate
    plan: Plan | None  # None when infeasible
    reason: str = ""  # the ConfigError message when infeasible

    @property
    def feasible(self) -> bool:
        return self.plan is not None


@dataclass(frozen=True)
class ModelChoice:
    """Every candidate in the order given; ``best`` is the cheapest feasible one (None if none)."""

    options: tuple[ModelOption, ...]
    best: ModelOption | None


_CandidateLike = ModelCandidate | tuple[str, float, float, float, float, float, float]


def choose_model(
    candidates: Iterable[_CandidateLike], s: int, t: float, *, m: int = 1
) -> ModelChoice:
    """Plan every candidate and pick the cheapest (exact expected cost) that can reach t.

    Candidates are :class:`ModelCandidate` or tuples (name, p, v, in_tokens, out_tokens,
    price_in, price_out). A model with p (or p^m) <= 0.5 is kept and marked infeasible; any other
    invalid value raises ``ConfigError``.

    >>> choice = choose_model([("a", 0.99, 1, 600, 500, 0.4, 1.6), ("b", 0.4, 1, 600, 500, 0, 0.1)],
    ...                       1000, 0.95)
    >>> choice.best.candidate.name, [o.feasible for o in choice.options]
    ('a', [True, False])
    """
    options: list[ModelOption] = []
    for raw in candidates:
        cand = raw if isinstance(raw, ModelCandidate) else ModelCandidate(*raw)
        try:
            _check_p(cand.p, m)
        except ConfigError as exc:
            options.append(ModelOption(cand, None, str(exc)))
            continue
        pl = plan(
            cand.p, s, t, m=m, v=cand.v, in_tokens=cand.in_tokens, out_tokens=cand.out_tokens,
            price_in=cand.price_in, price_out=cand.price_out,
        )  # fmt: skip
        options.append(ModelOption(cand, pl))
    costs = [(o.plan.expected_cost or 0.0, i) for i, o in enumerate(options) if o.plan is not None]
    best = options[min(costs)[1]] if costs else None  # ties: the first given
    return ModelChoice(tuple(options), best)
