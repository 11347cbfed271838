"""Advantages and the loss: GRPO's group z-score, HBPO's decomposition, the clipped surrogate.

For the rollouts of one prompt (a *group*) HBPO computes (paper §3.3, Algorithm 1)

    A_ij = A_intra_i + A_inter_ij
    A_intra_i  = μ_i − f2(b_i)                        same for every rollout j of subgroup i
    A_inter_ij = (R_ij − mean(R)) / std(R)            the GRPO z-score over the whole group

where μ_i is the mean reward of the rollouts under budget b_i. Every reward in a subgroup is at
most f2(b_i), so A_intra <= 0: a negative offset that grows with the subgroup's shortfall.
(The released code adds A_intra twice — docs/papers.md; we follow the paper.) The std is
the unbiased one (``torch.std``, as verl) plus 1e-6; a group whose rewards are all equal gets
A_inter = 0.

The loss is the clipped surrogate of GRPO/DAPO with asymmetric clipping and no KL term,
averaged over all response tokens of the minibatch ("token-mean", verl's default), so that
loss normalisation does not favour short or long responses.

Advantages are plain Python (testable without torch); :func:`clipped_surrogate` imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hakaru.errors import ConfigError
from hakaru.hbpo.reward import f2

if TYPE_CHECKING:
    import torch

__all__ = ["Advantages", "clipped_surrogate", "grpo_advantages", "hbpo_advantages"]

EPS = 1e-6  # added to the group std (verl's epsilon)


def grpo_advantages(rewards: Sequence[float]) -> list[float]:
    """GRPO's group-relative advantage: (R − mean) / (std + 1e-6), std unbiased.

    >>> [round(a, 4) for a in grpo_advantages([1.0, 0.0, 0.0, 1.0])]
    [0.866, -0.866, -0.866, 0.866]
    >>> grpo_advantages([1.0, 1.0])
    [0.0, 0.0]
    """
    n = len(rewards)
    if n == 0:
        return []
    mean = sum(rewards) / n
    var = sum((r - mean) ** 2 for r in rewards) / (n - 1) if n > 1 else 0.0
    std = math.sqrt(var)
    return [(r - mean) / (std + EPS) for r in rewards]


@dataclass(frozen=True)
class Advantages:
    """HBPO's advantage of each rollout of a group and its two parts (``total = intra + inter``)."""

    total: list[float]
    intra: list[float]  # μ_i − f2(b_i) of the rollout's subgroup (paper: A_intra)
    inter: list[float]  # the GRPO z-score over the whole group (paper: A_inter)
    subgroup_mean: dict[int, float]  # μ_i by budget b_i


def hbpo_advantages(
    rewards: Sequence[float],
    budgets: Sequence[int],
    *,
    l_max: int,
    beta: float = 4.0,
) -> Advantages:
    """HBPO's advantage A = (μ_i − f2(b_i)) + z-score, for the rollouts of one prompt.

    ``rewards[j]`` and ``budgets[j]`` belong to rollout j; rollouts sharing a budget form a
    subgroup.

    >>> adv = hbpo_advantages([3.9, 0.0, 2.8, 2.8], [16, 16, 64, 64], l_max=128)
    >>> [round(a, 3) for a in adv.intra]
    [-1.973, -1.973, -0.028, -0.028]
    >>> all(abs(t - i - z) < 1e-12 for t, i, z in zip(adv.total, adv.intra, adv.inter))
    True
    """
    if len(rewards) != len(budgets):
        raise ConfigError(
            f"{len(rewards)} rewards but {len(budgets)} budgets. Give one budget per rollout."
        )
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    for r, b in zip(rewards, budgets, strict=True):
        sums[b] = sums.get(b, 0.0) + r
        counts[b] = counts.get(b, 0) + 1
    mu = {b: sums[b] / counts[b] for b in sums}
    offset = {b: mu[b] - f2(b, l_max=l_max, beta=beta) for b in mu}
    intra = [offset[b] for b in budgets]
    inter = grpo_advantages(rewards)
    total = [i + z for i, z in zip(intra, inter, strict=True)]
    return Advantages(total=total, intra=intra, inter=inter, subgroup_mean=mu)


def clipped_surrogate(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    adv: torch.Tensor,
    mask: torch.Tensor,
    *,
    eps_low: float = 0.2,
    eps_high: float = 0.28,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """The clipped policy-gradient loss, token-mean, no KL (GRPO/DAPO; paper §3.3).

    L = −Σ_t min(ρ_t·A, clip(ρ_t, 1 − ε_low, 1 + ε_high)·A) / Σ_t mask_t with
    ρ_t = π_θ(o_t) / π_old(o_t). Shapes: ``logp``, ``old_logp``, ``mask`` (B, T) — log-probs of
    the sampled tokens and 1 on response tokens; ``adv`` (B,) — one advantage per sequence.
    Returns the loss and statistics (clip fraction, mean ratio).

    >>> import torch
    >>> lp = torch.zeros(1, 2); m = torch.ones(1, 2)
    >>> loss, _ = clipped_surrogate(lp, lp, torch.tensor([2.0]), m)
    >>> float(loss)
    -2.0
    """
    import torch

    ratio = torch.exp(logp - old_logp)  # (B, T)
    a = adv[:, None]  # (B, 1)
    unclipped = ratio * a
    clipped = torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high) * a
    per_token = -torch.minimum(unclipped, clipped)  # (B, T)
    n_tok = mask.sum().clamp(min=1.0)
    loss = (per_token * mask).sum() / n_tok
    with torch.no_grad():
        was_clipped = ((clipped < unclipped) & (mask > 0)).float().sum() / n_tok
        mean_ratio = (ratio * mask).sum() / n_tok
    return loss, {"clip_frac": float(was_clipped), "ratio": float(mean_ratio)}
