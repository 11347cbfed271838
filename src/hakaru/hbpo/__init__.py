"""HBPO — Hierarchical Budget Policy Optimization (Lyu et al., arXiv 2507.15844), and a CPU toy.

The paper's method, exactly (§3 and Algorithm 1; docs/papers.md): rollouts of a prompt split evenly
across budget levels, the budget announced right after the thinking tag and counted in the length
and the loss (:mod:`~hakaru.hbpo.partition`); the budget-aware reward f1/f2
(:mod:`~hakaru.hbpo.reward`); the advantage (μ_i − f2(b_i)) + group z-score and the clipped
surrogate with ε 0.2/0.28 and no KL (:mod:`~hakaru.hbpo.advantage`). The baselines — GRPO with a
correct/incorrect reward and GRPO with the uniform cosine length penalty — run in the same loop
(:mod:`~hakaru.hbpo.trainer`).

The reproduction (:mod:`~hakaru.hbpo.experiment`) trains a 0.4M-parameter nanoGPT-style model
(:mod:`~hakaru.hbpo.model`) from scratch on iterated lookup (:mod:`~hakaru.hbpo.task`), first by
supervised learning on mostly verbose reasoning (:mod:`~hakaru.hbpo.sft`), then by each RL method
from that checkpoint, on two CPU cores with nothing downloaded.

>>> from hakaru.hbpo import f2
>>> round(f2(1024, l_max=4096), 4)
3.6955

Importing this package does not import torch; the training modules import it when they run.
"""

from hakaru.hbpo.advantage import Advantages, clipped_surrogate, grpo_advantages, hbpo_advantages
from hakaru.hbpo.config import METHODS, Config, check_budgets, preset
from hakaru.hbpo.partition import check_partition, group_budgets, rollout_budgets
from hakaru.hbpo.reward import budget_reward, classic_reward, cosine_reward, f1, f2
from hakaru.hbpo.task import STYLES, Graded, Problem, Vocab

__all__ = [
    "METHODS",
    "STYLES",
    "Advantages",
    "Config",
    "Graded",
    "Problem",
    "Vocab",
    "budget_reward",
    "check_budgets",
    "check_partition",
    "classic_reward",
    "clipped_surrogate",
    "cosine_reward",
    "f1",
    "f2",
    "group_budgets",
    "grpo_advantages",
    "hbpo_advantages",
    "preset",
    "rollout_budgets",
    "run_experiment",
    "train_rl",
    "train_sft",
]


def __getattr__(name: str) -> object:
    # The training entry points load on first use (they pull in torch when they run).
    if name == "run_experiment":
        from hakaru.hbpo.experiment import run_experiment

        return run_experiment
    if name == "train_rl":
        from hakaru.hbpo.trainer import train_rl

        return train_rl
    if name == "train_sft":
        from hakaru.hbpo.sft import train_sft

        return train_sft
    raise AttributeError(f"module 'hakaru.hbpo' has no attribute {name!r}")
