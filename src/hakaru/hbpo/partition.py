"""The hierarchical rollout: a group's rollouts split across budget levels (paper §3.1).

For each prompt, HBPO samples ``group_size`` rollouts, ``group_size / k`` under each of the k
budgets (16 = 4 x 4 in the paper). The budget is announced right after the thinking tag — the
paper's phrase "I will answer the question within b tokens"; here one budget token such as
``<b32>`` — and it is *forced*: the sampler does not choose it, but it is part of the response,
so it counts in the response length the reward sees and it receives the policy gradient with
the rollout's advantage (the released code prepends the prefill to the response; see
docs/papers.md, HBPO). That is how a model learns to announce a budget itself in natural mode.

Rollouts of one group are contiguous and ordered by budget (16,16,16,16,32,…), as in the code.

>>> rollout_budgets((16, 32, 64, 80), 8)
[16, 16, 32, 32, 64, 64, 80, 80]
"""

from __future__ import annotations

from collections.abc import Sequence

from hakaru.errors import ConfigError
from hakaru.hbpo.config import check_budgets

__all__ = ["check_partition", "group_budgets", "rollout_budgets"]


def rollout_budgets(
    budgets: Sequence[int], group_size: int, counts: Sequence[int] | None = None
) -> list[int]:
    """The budget of each rollout of one group: ``counts[i]`` copies of ``budgets[i]``, in order.

    ``counts`` defaults to the even split ``group_size / len(budgets)`` for every budget.

    >>> rollout_budgets((16, 32), 3)
    Traceback (most recent call last):
    ...
    hakaru.errors.ConfigError: group_size 3 is not divisible by the 2 budgets. Give a multiple of 2 so that every budget gets the same number of rollouts (or list them in budget_counts).
    """  # noqa: E501
    k = len(budgets)
    if k == 0:
        raise ConfigError("No budgets given. Give at least one budget in tokens.")
    if counts is None:
        if group_size <= 0 or group_size % k:
            raise ConfigError(
                f"group_size {group_size} is not divisible by the {k} budgets. Give a multiple "
                f"of {k} so that every budget gets the same number of rollouts (or list them "
                "in budget_counts)."
            )
        counts = [group_size // k] * k
    elif len(counts) != k or any(c <= 0 for c in counts) or sum(counts) != group_size:
        raise ConfigError(
            f"budget_counts {tuple(counts)} are not a partition of the {group_size} rollouts "
            f"of a group over {k} budgets. Give one count > 0 per budget, summing to group_size."
        )
    return [b for b, c in zip(budgets, counts, strict=True) for _ in range(c)]


def group_budgets(
    budgets: Sequence[int],
    group_size: int,
    n_prompts: int,
    *,
    l_max: int,
    counts: Sequence[int] | None = None,
) -> list[int]:
    """The budget of every rollout of a batch: ``n_prompts`` groups, one after the other.

    >>> group_budgets((4, 8), 2, 2, l_max=32)
    [4, 8, 4, 8]
    """
    check_budgets(tuple(budgets), l_max)
    return rollout_budgets(budgets, group_size, counts) * n_prompts


def check_partition(
    assigned: Sequence[int], budgets: Sequence[int], counts: Sequence[int] | None = None
) -> None:
    """Raise :class:`ConfigError` unless ``assigned`` (one budget per rollout of a group) gives
    every budget its share — ``counts``, or an even split.

    >>> check_partition([16, 16, 32, 16], (16, 32))
    Traceback (most recent call last):
    ...
    hakaru.errors.ConfigError: The rollouts' budgets [16, 16, 32, 16] are not a partition over the budgets (16, 32): budget 16 has 3 rollouts, expected 2.
    """  # noqa: E501
    k = len(budgets)
    if counts is None:
        if len(assigned) % k:
            raise ConfigError(
                f"group_size {len(assigned)} is not divisible by the {k} budgets. Give a "
                f"multiple of {k} so that every budget gets the same number of rollouts (or "
                "list them in budget_counts)."
            )
        counts = [len(assigned) // k] * k
    extra = sorted(set(assigned) - set(budgets))
    if extra:
        raise ConfigError(
            f"The rollouts' budgets {list(assigned)} are not a partition over the budgets "
            f"{tuple(budgets)}: {extra[0]} is not one of them."
        )
    for b, c in zip(budgets, counts, strict=True):
        have = sum(1 for a in assigned if a == b)
        if have != c:
            raise ConfigError(
                f"The rollouts' budgets {list(assigned)} are not a partition over the budgets "
                f"{tuple(budgets)}: budget {b} has {have} rollouts, expected {c}."
            )
