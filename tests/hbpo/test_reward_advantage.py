"""HBPO's reward and advantage, exactly as the paper defines them (§3; docs/papers.md, HBPO)."""

from __future__ import annotations

import itertools
import math

import pytest

from hakaru.errors import ConfigError
from hakaru.hbpo import (
    budget_reward,
    classic_reward,
    cosine_reward,
    f1,
    f2,
    grpo_advantages,
    hbpo_advantages,
)

L = 4096


@pytest.mark.parametrize(
    ("b", "value"), [(512, 3.9231), (1024, 3.6955), (2048, 2.8284), (2560, 2.2223)]
)
def test_f2_exact_values(b: int, value: float) -> None:
    assert round(f2(b, l_max=L), 4) == value
    # the default beta is 4 and the budget-aware reward gives f2 inside the budget
    assert f2(b, l_max=L) == f2(b, l_max=L, beta=4.0)
    assert budget_reward(b, b, True, l_max=L) == f2(b, l_max=L)
    assert budget_reward(1, b, True, l_max=L) == f2(b, l_max=L)


def test_f1_over_budget_and_default_alpha() -> None:
    # f1(n, b) = 4 cos(pi n / 8192) - |n - b| / 4096
    assert f1(1024, 512, l_max=L) == pytest.approx(4 * math.cos(math.pi / 8) - 0.125, abs=1e-12)
    assert f1(1024, 512, l_max=L) == f1(1024, 512, l_max=L, alpha=1 / 4096)
    assert f1(1024, 512, l_max=L, alpha=0.0) == pytest.approx(3.6955, abs=1e-4)
    assert budget_reward(1024, 512, True, l_max=L) == f1(1024, 512, l_max=L)
    # over budget the reward falls with the length
    rewards = [budget_reward(n, 512, True, l_max=L) for n in range(513, 4097, 97)]
    assert all(a > b for a, b in itertools.pairwise(rewards))
    # docs/papers.md: f1 turns negative only near the window's end (n >= 3602 for b = 512)
    assert f1(3601, 512, l_max=L) > 0 > f1(3602, 512, l_max=L)


def test_wrong_or_too_long_scores_zero() -> None:
    assert budget_reward(100, 512, False, l_max=L) == 0.0
    assert budget_reward(4097, 512, True, l_max=L) == 0.0
    assert budget_reward(4096, 2560, True, l_max=L) == pytest.approx(f1(4096, 2560, l_max=L))
    assert cosine_reward(100, False, l_max=L) == 0.0
    assert cosine_reward(4097, True, l_max=L) == 0.0
    assert cosine_reward(2048, True, l_max=L) == pytest.approx(2.8284, abs=1e-4)
    assert classic_reward(4096, True, l_max=L) == 1.0
    assert classic_reward(4097, True, l_max=L) == 0.0
    assert classic_reward(10, False, l_max=L) == 0.0


def test_smaller_budget_worth_more_and_adjacent_crossover() -> None:
    values = [f2(b, l_max=L) for b in (512, 1024, 2048, 2560)]
    assert values == sorted(values, reverse=True)
    # docs/papers.md: the 512 and 1024 reward curves cross near n = 865
    assert budget_reward(860, 512, True, l_max=L) > budget_reward(860, 1024, True, l_max=L)
    assert budget_reward(870, 512, True, l_max=L) < budget_reward(870, 1024, True, l_max=L)


@pytest.mark.parametrize(
    ("b", "message"),
    [
        (0, "Budget 0 is not positive. Give every budget as a number of tokens > 0."),
        (-5, "Budget -5 is not positive. Give every budget as a number of tokens > 0."),
        (5000, "Budget 5000 is above the window l_max = 4096 tokens. Give budgets <= l_max."),
    ],
)
def test_reward_rejects_bad_budgets(b: int, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        f2(b, l_max=L)
    assert str(err.value) == message
    with pytest.raises(ConfigError):
        budget_reward(10, b, True, l_max=L)


def test_grpo_advantage_is_the_group_z_score() -> None:
    r = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    adv = grpo_advantages(r)
    mean = sum(r) / 6
    std = math.sqrt(sum((x - mean) ** 2 for x in r) / 5)  # unbiased, as torch.std
    assert adv == pytest.approx([(x - mean) / (std + 1e-6) for x in r])
    assert sum(adv) == pytest.approx(0.0, abs=1e-9)
    assert grpo_advantages([2.0] * 4) == [0.0] * 4


def test_hbpo_advantage_decomposition() -> None:
    budgets = [512] * 4 + [1024] * 4 + [2048] * 4 + [2560] * 4
    f = {b: f2(b, l_max=L) for b in (512, 1024, 2048, 2560)}
    # subgroup 512: 2 right within budget, 2 wrong; 1024: all right within budget;
    # 2048: one right over budget; 2560: all wrong
    rewards = [
        f[512],
        0.0,
        f[512],
        0.0,
        *[f[1024]] * 4,
        0.0,
        0.0,
        0.0,
        f1(2100, 2048, l_max=L),
        0.0,
        0.0,
        0.0,
        0.0,
    ]
    adv = hbpo_advantages(rewards, budgets, l_max=L)
    # A_intra = mu_i - f2(b_i): constant within a subgroup, <= 0, 0 for a perfect subgroup
    assert adv.intra[:4] == pytest.approx([f[512] / 2 - f[512]] * 4)
    assert adv.intra[4:8] == pytest.approx([0.0] * 4)
    assert adv.intra[8:12] == pytest.approx([f1(2100, 2048, l_max=L) / 4 - f[2048]] * 4)
    assert adv.intra[12:] == pytest.approx([-f[2560]] * 4)
    assert all(a <= 1e-12 for a in adv.intra)
    # A_inter is the GRPO z-score over the whole group of 16, not per subgroup
    assert adv.inter == pytest.approx(grpo_advantages(rewards))
    assert adv.total == pytest.approx([i + z for i, z in zip(adv.intra, adv.inter, strict=True)])
    assert adv.subgroup_mean[1024] == pytest.approx(f[1024])
    # a right answer under a small budget beats the same answer under a large one
    assert adv.total[0] > adv.total[11]


def test_hbpo_advantage_needs_one_budget_per_rollout() -> None:
    with pytest.raises(ConfigError) as err:
        hbpo_advantages([1.0, 0.0], [512], l_max=L)
    assert str(err.value) == "2 rewards but 1 budgets. Give one budget per rollout."
