"""Budget policies: which reasoning budget each call gets.

- :class:`NoBudget` — no phrase, no cap: what the model does unprompted (the baseline);
- :class:`FixedBudget` — the same budget for every call;
- :class:`LadderBudget` — a ladder of levels: start at the lowest, and climb one rung whenever
  an answer does not come back (cut off by the cap, or rejected by the strict parser);
- :class:`DifficultyBudget` — allocation by estimated difficulty under a global token budget,
  learned from past calls (:class:`~hakaru.reasoning.stats.BudgetStats`): the optimum of the
  multiple-choice knapsack's linear relaxation on smoothed estimates
  (:func:`~hakaru.reasoning.allocate.allocate_levels`), which spends the budget exactly in
  expectation — one difficulty bucket is split between two adjacent levels;
- :class:`~hakaru.reasoning.oracle.OracleBudget` — the same allocation from each task's *true*
  difficulty and the simulated model's own accuracy curve: the upper bound on what difficulty
  information is worth.

A policy answers two questions: :meth:`~BudgetPolicy.allocate` — the first budget of each task
of a batch, given their estimated difficulties; :meth:`~BudgetPolicy.escalate` — the budget of
a retry after an answer did not come back, or ``None`` to stop.

>>> DifficultyBudget.__name__, LadderBudget((256, 1024)).allocate([0.1, 0.9])
('DifficultyBudget', [256, 256])
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Sequence

from hakaru.errors import ConfigError
from hakaru.reasoning.allocate import Plan, allocate_levels, assign
from hakaru.reasoning.stats import BudgetStats

__all__ = [
    "BudgetPolicy",
    "DifficultyBudget",
    "FixedBudget",
    "LadderBudget",
    "NoBudget",
    "check_levels",
]


def check_levels(levels: Sequence[int], window: int | None = None) -> tuple[int, ...]:
    """Budget levels as a tuple, or a :class:`ConfigError`: each positive, at most ``window``,
    strictly ascending.

    >>> check_levels([256, 128])
    Traceback (most recent call last):
    ...
    hakaru.errors.ConfigError: Budgets (256, 128) are not strictly ascending. List each budget once, smallest first.
    """  # noqa: E501
    levels = tuple(levels)
    if not levels:
        raise ConfigError("No budgets given. Give at least one budget in tokens.")
    for b in levels:
        if isinstance(b, bool) or not isinstance(b, int):
            raise ConfigError(f"Budget {b!r} is not a whole number of tokens.")
        if b <= 0:
            raise ConfigError(
                f"Budget {b} is not positive. Give every budget as a number of tokens > 0."
            )
        if window is not None and b > window:
            raise ConfigError(
                f"Budget {b} is above the window of {window} tokens. Give budgets <= {window}."
            )
    if any(a >= b for a, b in itertools.pairwise(levels)):
        raise ConfigError(
            f"Budgets {levels} are not strictly ascending. List each budget once, smallest first."
        )
    return levels


class BudgetPolicy(ABC):
    """Chooses budgets; see the module docstring."""

    name: str = ""
    max_tokens: int | None = None  # output cap of calls without a budget

    @abstractmethod
    def allocate(self, difficulties: Sequence[float]) -> list[int | None]:
        """The first budget of each task (``None``: no budget)."""

    def escalate(self, budget: int | None) -> int | None:
        """The budget of a retry after an answer did not come back; ``None``: give up."""
        return None


class NoBudget(BudgetPolicy):
    """No budget phrase; no cap unless ``max_tokens`` (an output cap the model is not told of).

    >>> NoBudget().name, NoBudget(max_tokens=512).name
    ('none', 'none:cap=512')
    """

    name = "none"

    def __init__(self, max_tokens: int | None = None) -> None:
        if max_tokens is not None:
            check_levels([max_tokens])
            self.name = f"none:cap={max_tokens}"
        self.max_tokens = max_tokens

    def allocate(self, difficulties: Sequence[float]) -> list[int | None]:
        return [None] * len(difficulties)


class FixedBudget(BudgetPolicy):
    """The same budget for every call.

    >>> FixedBudget(512).allocate([0.2, 0.8]), FixedBudget(512).name
    ([512, 512], 'fixed:512')
    """

    def __init__(self, budget: int) -> None:
        (self.budget,) = check_levels([budget])
        self.name = f"fixed:{budget}"

    def allocate(self, difficulties: Sequence[float]) -> list[int | None]:
        return [self.budget] * len(difficulties)


class LadderBudget(BudgetPolicy):
    """Start at the lowest level; after a missing answer retry one level up, to the top.

    >>> ladder = LadderBudget((256, 512, 1024))
    >>> ladder.escalate(256), ladder.escalate(1024)
    (512, None)
    """

    name = "ladder"

    def __init__(self, levels: Sequence[int]) -> None:
        self.levels = check_levels(levels)

    def allocate(self, difficulties: Sequence[float]) -> list[int | None]:
        return [self.levels[0]] * len(difficulties)

    def escalate(self, budget: int | None) -> int | None:
        higher = [b for b in self.levels if budget is not None and b > budget]
        return higher[0] if higher else None


class DifficultyBudget(BudgetPolicy):
    """Budgets by estimated difficulty, within ``tokens_per_task`` expected output tokens on
    average over a batch, from ``stats`` learned on past calls.

    >>> stats = BudgetStats(buckets=2)
    >>> for _ in range(20):
    ...     stats.observe(0.1, 128, tokens=100, correct=True)
    ...     stats.observe(0.1, 512, tokens=400, correct=True)
    ...     stats.observe(0.9, 128, tokens=128, correct=False)
    ...     stats.observe(0.9, 512, tokens=450, correct=True)
    >>> DifficultyBudget((128, 512), stats, tokens_per_task=300).allocate([0.1, 0.9])
    [128, 512]
    """

    name = "difficulty"

    def __init__(self, levels: Sequence[int], stats: BudgetStats, tokens_per_task: float) -> None:
        self.levels = check_levels(levels)
        if not tokens_per_task > 0:
            raise ConfigError(
                f"tokens_per_task is {tokens_per_task}. Give a positive average token budget."
            )
        self.stats = stats
        self.tokens_per_task = tokens_per_task
        self.plan: Plan[int] | None = None  # the last allocation's plan

    def allocate(self, difficulties: Sequence[float]) -> list[int | None]:
        stats, levels = self.stats, self.levels
        groups = [stats.bucket(d) for d in difficulties]
        counts: dict[int, int] = {}
        for b in groups:
            counts[b] = counts.get(b, 0) + 1
        table = {
            b: [(stats.mean_tokens(b, lv), stats.accuracy(b, lv)) for lv in levels] for b in counts
        }
        self.plan = allocate_levels(counts, table, self.tokens_per_task)
        return list(assign(self.plan, groups, difficulties, levels))
