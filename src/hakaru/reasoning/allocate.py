"""Allocating budget levels to groups of tasks under a global token budget.

Each group of tasks (a difficulty bucket) has, per budget level, an expected cost (output
tokens per task) and an expected accuracy. Choosing one level per task to maximise expected
correct answers while the expected tokens stay within ``tokens_per_task · tasks`` is a
multiple-choice knapsack. :func:`allocate_levels` solves its linear relaxation exactly, the way
the relaxation is always solved: per group, keep the levels on the upper concave hull of
(cost, accuracy) — a level under the hull is never worth buying —; take the hull's upgrade
steps of all groups in order of accuracy gained per token; the step that no longer fits in full
is split, a fraction of its group's tasks moving up. Because of that split the plan spends the
budget *exactly* (in expectation), unless every upgrade is bought first or the cheapest levels
alone already cost more than the budget — the greedy "stop when the next upgrade does not fit"
left up to one whole upgrade step unspent.

The returned :class:`Plan` says, per group, the lower level, the upper level and how many of the
group's tasks get the upper one; :func:`assign` turns it into one level per task (the hardest
tasks of a group, by their estimate, get the upper level).

>>> plan = allocate_levels({0: 10, 1: 10}, {0: [(100.0, 0.90), (400.0, 0.95)],
...                                        1: [(120.0, 0.20), (450.0, 0.90)]}, 300.0)
>>> plan.steps[1], plan.steps[0], round(plan.expected_tokens)
((1, 1, 0), (0, 1, 2), 6100)
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["Plan", "allocate_levels", "assign", "upper_hull"]

K = TypeVar("K", bound=Hashable)


def upper_hull(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the levels on the upper concave hull of ``points`` = (cost, accuracy), from
    the cheapest, each next one strictly more accurate at a falling gain per token.

    >>> upper_hull([(100, 0.5), (200, 0.6), (300, 0.9), (400, 0.9)])
    [0, 2]
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    hull = [order[0]]
    while True:
        c0, a0 = points[hull[-1]]
        best, best_slope = None, 0.0
        for i in order:
            c, a = points[i]
            if a <= a0 or i in hull:
                continue
            slope = float("inf") if c <= c0 else (a - a0) / (c - c0)
            if best is None or slope > best_slope or (slope == best_slope and c > points[best][0]):
                best, best_slope = i, slope
        if best is None:
            return hull
        hull.append(best)


@dataclass
class Plan(Generic[K]):
    """Per group: ``steps[g] = (lower level, upper level, tasks at the upper level)``."""

    steps: dict[K, tuple[int, int, int]] = field(default_factory=dict)
    expected_tokens: float = 0.0  # total, over all tasks
    expected_correct: float = 0.0
    over_budget: bool = False  # the cheapest levels alone cost more than the budget
    saturated: bool = False  # every upgrade bought, budget left over


def allocate_levels(
    counts: Mapping[K, int],
    table: Mapping[K, Sequence[tuple[float, float]]],
    tokens_per_task: float,
) -> Plan[K]:
    """The LP-optimal plan (see the module docstring): ``counts[g]`` tasks in group g,
    ``table[g][i] = (expected tokens, expected accuracy)`` at level i."""
    hulls = {g: upper_hull(table[g]) for g in counts}
    level = {g: hulls[g][0] for g in counts}
    spent = sum(n * table[g][level[g]][0] for g, n in counts.items())
    left = tokens_per_task * sum(counts.values()) - spent
    plan: Plan[K] = Plan(over_budget=left < 0)
    steps = []  # (gain per token, order, group, from, to)
    for g, hull in hulls.items():
        for k, (i, j) in enumerate(itertools.pairwise(hull)):
            (c0, a0), (c1, a1) = table[g][i], table[g][j]
            slope = float("inf") if c1 <= c0 else (a1 - a0) / (c1 - c0)
            steps.append((slope, k, g, i, j))
    steps.sort(key=lambda s: (-s[0], s[1]))
    plan.steps = {g: (level[g], level[g], 0) for g in counts}
    plan.saturated = True
    for _, _, g, i, j in steps:
        if left <= 0:
            plan.saturated = False
            break
        n = counts[g]
        extra = n * (table[g][j][0] - table[g][i][0])
        if extra <= left:
            left -= extra
            level[g] = j
            plan.steps[g] = (j, j, 0)
            continue
        k = round(n * left / extra)  # the split step: k tasks of the group move up
        plan.steps[g] = (i, j, k)
        left -= extra * k / n
        plan.saturated = False
        break
    for g, (lo, hi, k) in plan.steps.items():
        n = counts[g]
        plan.expected_tokens += (n - k) * table[g][lo][0] + k * table[g][hi][0]
        plan.expected_correct += (n - k) * table[g][lo][1] + k * table[g][hi][1]
    return plan


def assign(
    plan: Plan[K], groups: Sequence[K], estimates: Sequence[float], levels: Sequence[int]
) -> list[int]:
    """One level per task: task t is in group ``groups[t]``; in a split group the tasks with the
    highest ``estimates`` get the upper level."""
    out = [0] * len(groups)
    members: dict[K, list[int]] = {}
    for t, g in enumerate(groups):
        members.setdefault(g, []).append(t)
    for g, tasks in members.items():
        lo, hi, k = plan.steps[g]
        tasks.sort(key=lambda t: estimates[t], reverse=True)
        for rank, t in enumerate(tasks):
            out[t] = levels[hi] if rank < k else levels[lo]
    return out
