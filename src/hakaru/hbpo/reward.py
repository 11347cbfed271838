"""Rewards: HBPO's budget-aware reward (paper §3.2) and the two baselines it is compared with.

All three score one response from its length ``n`` (response tokens, the forced budget phrase
or token included, as in the released code) and whether its answer is correct. A wrong answer,
or a response longer than the window ``l_max`` (cut off before it answered), scores 0.

- :func:`budget_reward` — HBPO, eq. "reward_intra": f2(b) inside the budget, f1(n, b) over it;
- :func:`cosine_reward` — the paper's "cosine reward" ablation: β·cos(π·n / (2·L_max)) for a
  correct answer, a uniform length penalty with no budget (the code's exact form);
- :func:`classic_reward` — GRPO's correct/incorrect reward (the "classic reward" ablation).

Pure Python: no torch, usable anywhere.

>>> round(f2(512, l_max=4096), 4), round(f2(2560, l_max=4096), 4)
(3.9231, 2.2223)
"""

from __future__ import annotations

import math

from hakaru.errors import ConfigError

__all__ = ["budget_reward", "classic_reward", "cosine_reward", "f1", "f2"]


def _check(b: int, l_max: int) -> None:
    if l_max <= 0:
        raise ConfigError(f"The window l_max is {l_max}. Give a positive number of tokens.")
    if b <= 0:
        raise ConfigError(
            f"Budget {b} is not positive. Give every budget as a number of tokens > 0."
        )
    if b > l_max:
        raise ConfigError(
            f"Budget {b} is above the window l_max = {l_max} tokens. Give budgets <= l_max."
        )


def f2(b: int, *, l_max: int, beta: float = 4.0) -> float:
    """The within-budget reward f2(b) = β·cos(π·b / (2·L_max)) (paper §3.2, eq. reward_intra).

    Flat in the response length: inside its budget a response is not pushed to be shorter,
    but a correct answer under a smaller budget is worth more.

    >>> [round(f2(b, l_max=4096), 4) for b in (512, 1024, 2048, 2560)]
    [3.9231, 3.6955, 2.8284, 2.2223]
    """
    _check(b, l_max)
    return beta * math.cos(math.pi * b / (2 * l_max))


def f1(n: int, b: int, *, l_max: int, beta: float = 4.0, alpha: float | None = None) -> float:
    """The over-budget reward f1(n, b) = β·cos(π·n / (2·L_max)) − α·|n − b| (paper §3.2).

    A cosine decay in the length plus a linear pull back to the budget; ``alpha`` defaults to
    1/L_max (the paper's draft: "the reciprocal of the context window").

    >>> round(f1(1024, 512, l_max=4096), 4)   # 4·cos(π/8) − 512/4096
    3.5705
    """
    _check(b, l_max)
    a = 1.0 / l_max if alpha is None else alpha
    return beta * math.cos(math.pi * n / (2 * l_max)) - a * abs(n - b)


def budget_reward(
    n: int,
    b: int,
    correct: bool,
    *,
    l_max: int,
    beta: float = 4.0,
    alpha: float | None = None,
) -> float:
    """HBPO's budget-aware reward R(n | b) of a response of ``n`` tokens under budget ``b``.

    ``f2(b)`` if correct and n <= b; ``f1(n, b)`` if correct and b < n <= L_max; 0 if wrong or
    n > L_max (paper §3.2, the piecewise form; the released code's ``min(f1, f2)`` differs by
    less than 0.05 for the smallest budget only — docs/papers.md, HBPO).

    >>> budget_reward(300, 512, True, l_max=4096) == f2(512, l_max=4096)
    True
    >>> budget_reward(300, 512, False, l_max=4096), budget_reward(5000, 512, True, l_max=4096)
    (0.0, 0.0)
    """
    _check(b, l_max)
    if not correct or n > l_max:
        return 0.0
    if n <= b:
        return f2(b, l_max=l_max, beta=beta)
    return f1(n, b, l_max=l_max, beta=beta, alpha=alpha)


def cosine_reward(n: int, correct: bool, *, l_max: int, beta: float = 4.0) -> float:
    """The uniform length penalty β·cos(π·n / (2·L_max)) for a correct answer, else 0.

    The paper's "cosine reward" ablation (HBPO's reward without a budget; its reward ablation).

    >>> round(cosine_reward(2048, True, l_max=4096), 4), cosine_reward(10, False, l_max=4096)
    (2.8284, 0.0)
    """
    if l_max <= 0:
        raise ConfigError(f"The window l_max is {l_max}. Give a positive number of tokens.")
    if not correct or n > l_max:
        return 0.0
    return beta * math.cos(math.pi * n / (2 * l_max))


def classic_reward(n: int, correct: bool, *, l_max: int) -> float:
    """GRPO's correct/incorrect reward: 1 if correct within the window, else 0.

    >>> classic_reward(100, True, l_max=128), classic_reward(129, True, l_max=128)
    (1.0, 0.0)
    """
    if l_max <= 0:
        raise ConfigError(f"The window l_max is {l_max}. Give a positive number of tokens.")
    return 1.0 if correct and n <= l_max else 0.0
