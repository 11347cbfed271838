"""The oracle allocation: budgets from each task's true difficulty and the model's true curve.

:class:`OracleBudget` is what a difficulty policy could do at best on the simulated ``reason``
task: it is given the *true* difficulty of every task (not an estimate) and, instead of
statistics learned from calibration calls, the simulated model's own expectations —
:func:`expected_outcome`, the mean output tokens and accuracy of one call at a budget,
integrated over the model's length spread and its compliance spread (on a grid of
equal-probability strata, exact for the model up to the grid's error). Difficulty is cut
into ``bins`` fine bins; the allocation is
:func:`~hakaru.reasoning.allocate.allocate_levels`, the same as the learned policy's. Its
curve is the upper bound on what difficulty information is worth: the gap
between the learned policy at estimate noise 0 and the oracle is what bucketing and calibration
cost; the gap that grows with ``--noise`` is what the estimates' noise costs.

The model's own error rate (``SimModel.error_rate``) is left out: it scales every level's
accuracy by the same factor, which changes no allocation.

>>> from hakaru.reasoning.kind import ReasoningKind
>>> tokens, acc = expected_outcome(ReasoningKind(), 0.5, 512, cap=704, answer_tokens=4)
>>> round(tokens), round(acc, 2)
(521, 0.82)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from hakaru.errors import ConfigError
from hakaru.reasoning.allocate import Plan, allocate_levels, assign
from hakaru.reasoning.kind import ReasoningKind
from hakaru.reasoning.phrase import BudgetPrompt
from hakaru.reasoning.policies import BudgetPolicy, check_levels
from hakaru.tokenizer import count_tokens

__all__ = ["OracleBudget", "expected_outcome"]


@functools.lru_cache(maxsize=4)
def _quantiles(points: int) -> Any:
    """Standard normal quantiles at the midpoints of ``points`` equal-probability strata."""
    import numpy as np
    from scipy.special import ndtri

    return ndtri((np.arange(points) + 0.5) / points)


def expected_outcome(
    kind: ReasoningKind,
    difficulty: float,
    budget: int | None,
    *,
    cap: int | None,
    answer_tokens: int,
    points: int = 256,
) -> tuple[float, float]:
    """(mean output tokens, accuracy) of one call at ``budget`` with output cap ``cap``, as
    the simulated model behaves (:meth:`ReasoningKind.reasoning`): a call whose reasoning and
    answer do not fit under the cap spends the cap and gives no answer. The two normal draws
    (length, compliance) are integrated on a ``points`` x ``points`` grid of equal-probability
    strata (the ``min`` of the two lengths has a kink that Gauss–Hermite nodes handle badly)."""
    import numpy as np

    q = _quantiles(points)
    need = kind.need(difficulty)
    natural = kind.verbosity * need * np.exp(kind.length_sigma * q)[:, None]
    if budget is None:
        length = natural
    else:
        length = np.minimum(natural, budget * np.exp(kind.compliance_sigma * q)[None, :])
    n = np.maximum(1, np.rint(length))
    ceiling = kind.ceiling_easy - kind.ceiling_drop * difficulty
    p = kind.floor + (ceiling - kind.floor) * (1.0 - np.exp(-kind.kappa * n / need))
    tokens = n + answer_tokens
    if cap is not None:
        cut = tokens > cap
        tokens = np.where(cut, cap, tokens)
        p = np.where(cut, 0.0, p)
    return float(tokens.mean()), float(p.mean())


class OracleBudget(BudgetPolicy):
    """Budgets from true difficulties (pass them as the "estimates"); see the module docstring.

    >>> oracle = OracleBudget((128, 1024), ReasoningKind(), tokens_per_task=400)
    >>> oracle.allocate([0.05, 0.6])
    [128, 1024]
    """

    name = "oracle"

    def __init__(
        self,
        levels: Sequence[int],
        kind: ReasoningKind,
        tokens_per_task: float,
        prompt: BudgetPrompt | None = None,
        bins: int = 50,
    ) -> None:
        self.levels = check_levels(levels)
        if not tokens_per_task > 0:
            raise ConfigError(
                f"tokens_per_task is {tokens_per_task}. Give a positive average token budget."
            )
        if bins < 1:
            raise ConfigError(f"bins is {bins}. Give at least 1 difficulty bin.")
        self.kind = kind
        self.tokens_per_task = tokens_per_task
        self.prompt = prompt or BudgetPrompt()
        self.bins = bins
        self.answer_tokens = count_tokens(kind.render(500))
        self.plan: Plan[int] | None = None

    @functools.cached_property
    def _table(self) -> dict[int, list[tuple[float, float]]]:
        return {
            b: [
                expected_outcome(
                    self.kind,
                    (b + 0.5) / self.bins,
                    level,
                    cap=self.prompt.cap(level),
                    answer_tokens=self.answer_tokens,
                )
                for level in self.levels
            ]
            for b in range(self.bins)
        }

    def allocate(self, difficulties: Sequence[float]) -> list[int | None]:
        groups = [min(self.bins - 1, int(d * self.bins)) for d in difficulties]
        counts: dict[int, int] = {}
        for g in groups:
            counts[g] = counts.get(g, 0) + 1
        table = self._table
        self.plan = allocate_levels(counts, {g: table[g] for g in counts}, self.tokens_per_task)
        return list(assign(self.plan, groups, difficulties, self.levels))
