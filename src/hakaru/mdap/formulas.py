"""Closed forms of MAKER: which voting margin k a run needs, and what it will cost.

Pure functions of the paper's two-candidate model (Meyerson et al. 2025, arXiv 2511.09030, §3-4):
every sample is correct with probability p and all wrong samples agree (the worst case), so
first-to-ahead-by-k voting is gambler's ruin with barriers ±k. Standard library ``math`` only.

The design choice is numerical: targets like t = 0.95 over s = 1,048,575 steps put the interesting
quantities at 1 − 5·10⁻⁸, so everything runs in logs. The odds ratio r = (1−p)/p is carried as
ln r = log1p(−(2p−1)/p) (2p−1 is exact in floating point), t^(−m/s)−1 as expm1(−(m/s)·ln t), and
p_full as exp(−(s/m)·log1p(r^k)). ``k_min`` then checks its closed form against ``full_success``
so that it is exactly the smallest k with ``full_success(k) >= t``, rounding notwithstanding.

Granularity m > 1 (m steps per subtask, one call per subtask) is not given as an equation in the
paper; hakaru's choice (docs/papers.md, F7): a subtask is correct when all its m steps are, so p
becomes p^m everywhere, there are s/m subtasks, and one call covers m steps
(``in_tokens``/``out_tokens`` are per call). p (or p^m) ≤ 0.5 is infeasible: voting then favours a
wrong answer.

The input checks (``_check_*``) and ``_odds`` are shared with :mod:`hakaru.mdap.planning`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from hakaru.errors import ConfigError

__all__ = [
    "PAPER_STEPS",
    "PAPER_TARGET",
    "cost_per_call",
    "expected_calls",
    "expected_cost",
    "expected_votes",
    "full_success",
    "k_min",
    "step_success",
    "votes_bound",
]

PAPER_STEPS = 2**20 - 1  # steps of the 20-disk Towers of Hanoi: 1,048,575
PAPER_TARGET = 0.95  # the paper's target full-task success t (Fig. 6b)

_LN2 = math.log(2.0)


# ---------------------------------------------------------------------------------------------
# validation


def _check_p(p: float, m: int = 1) -> None:
    if not (isinstance(p, int | float) and 0.0 <= p <= 1.0):
        raise ConfigError(
            f"p must be a probability in (0, 1], got {p!r}. "
            "Give the per-step success rate of one valid sample, e.g. 0.998."
        )
    if p <= 0.5:
        raise ConfigError(
            f"p = {p:g} is not above 0.5: a wrong answer is at least as likely as the right one, "
            "so voting cannot favour the correct answer. Use a better model (p > 0.5), or "
            "red-flag bad responses to raise p."
        )
    if m > 1 and p < 1.0 and m * math.log(p) + _LN2 <= 0.0:
        m_max = math.ceil(-_LN2 / math.log(p)) - 1  # largest m with p^m > 0.5
        raise ConfigError(
            f"p^m = {p:g}^{m} = {math.exp(m * math.log(p)):.4g} is not above 0.5: a subtask of "
            f"{m} steps is wrong at least as often as it is right, so voting cannot favour the "
            f"correct answer. Use a smaller m (m <= {m_max} keeps p^m above 0.5), a better "
            "model, or red-flag bad responses to raise p."
        )


def _check_int(name: str, value: int, what: str, low: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{name} ({what}) must be a whole number >= {low}, got {value!r}.")


def _check_sm(s: int, m: int) -> None:
    _check_int("steps", s, "the number of steps s")
    _check_int("m", m, "steps per subtask")
    if m > s:
        raise ConfigError(
            f"m (steps per subtask) is {m} but the task has only {s} steps. Use m <= steps."
        )


def _check_t(t: float) -> None:
    if not (isinstance(t, int | float) and 0.0 < t < 1.0):
        raise ConfigError(
            f"target must be a probability in (0, 1), got {t!r}. "
            "A target of 1 needs an infinite margin; use e.g. 0.95."
        )


def _check_v(v: float) -> None:
    if not (isinstance(v, int | float) and 0.0 < v <= 1.0):
        raise ConfigError(
            f"v (the fraction of samples that pass the red flags) must be in (0, 1], got {v!r}. "
            "Use 1 when nothing is red-flagged."
        )


def _check_nonneg(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}.")


# ---------------------------------------------------------------------------------------------
# the two-candidate race


def _odds(p: float, m: int) -> tuple[float, float]:
    """(d, ln r) for one subtask: d = 2p^m − 1 = p_sub − q_sub > 0, r = q_sub/p_sub ∈ [0, 1)."""
    _check_p(p, m)
    if p == 1.0:
        return 1.0, -math.inf
    if m == 1:
        p_sub, q_sub, log_p_sub = p, 1.0 - p, math.log(p)  # 1 − p and 2p − 1 are exact here
        d = 2.0 * p - 1.0
    else:
        log_p_sub = m * math.log(p)
        p_sub, q_sub = math.exp(log_p_sub), -math.expm1(log_p_sub)
        d = math.expm1(log_p_sub + _LN2)
    # Near p = 1/2, ln r = ln(1 − d/p) avoids subtracting two logs of ≈ ln 2; near p = 1 the
    # plain difference keeps q's precision, which 1 − d/p would round away.
    log_r = math.log1p(-d / p_sub) if p_sub <= 0.75 else math.log(q_sub) - log_p_sub
    return d, log_r


def _log_full(log_r: float, k: int, subtasks: float) -> float:
    """ln p_full = −(s/m)·ln(1 + r^k)."""
    return -subtasks * math.log1p(math.exp(k * log_r))


def step_success(p: float, k: int, *, m: int = 1) -> float:
    """P(the correct answer wins one first-to-ahead-by-k vote) = 1/(1 + ((1−p)/p)^k).

    The paper's per-step success with voting (two candidates, all errors agreeing; Eq. 9 in
    third-party code). With m > 1, p is replaced by p^m (one subtask).

    >>> round(step_success(0.7, 3), 10)
    0.927027027
    """
    _check_int("k", k, "the voting margin")
    _, log_r = _odds(p, m)
    return 1.0 / (1.0 + math.exp(k * log_r))


def full_success(p: float, k: int, s: int, *, m: int = 1) -> float:
    """P(all s/m subtasks are voted correct) = step_success^(s/m), computed via log1p/exp.

    The paper's p_full = (1 + ((1−p)/p)^k)^(−s/m) (§3.2); exact for m = 1.

    >>> round(full_success(0.99, 4, PAPER_STEPS), 6)
    0.989143
    """
    _check_int("k", k, "the voting margin")
    _check_sm(s, m)
    _, log_r = _odds(p, m)
    return math.exp(_log_full(log_r, k, s / m))


def _log_expm1(x: float) -> float:
    """ln(e^x − 1) for x > 0 without overflow."""
    return x + math.log1p(-math.exp(-x)) if x > 30.0 else math.log(math.expm1(x))


def k_min(p: float, s: int, t: float, *, m: int = 1) -> int:
    """The smallest margin k with full_success(p, k, s, m=m) >= t.

    The paper's k_min = ⌈ln(t^(−m/s) − 1) / ln((1−p)/p)⌉ = Θ(ln s) (Eq. 14 in third-party code),
    at least 1, with t^(−m/s) − 1 = expm1(−(m/s)·ln t); the result is then checked against
    ``full_success`` one k either way so that float rounding at an integer boundary cannot make it
    off by one. p = 1 gives 1.

    >>> k_min(0.99, PAPER_STEPS, 0.95), k_min(0.9978, PAPER_STEPS, 0.95)
    (4, 3)
    """
    _check_sm(s, m)
    _check_t(t)
    _, log_r = _odds(p, m)
    if log_r == -math.inf:
        return 1
    x = -(m / s) * math.log(t)  # > 0; t^(−m/s) − 1 = expm1(x)
    guess = max(1, math.ceil(_log_expm1(x) / log_r)) if x > 0.0 else 1
    return _smallest_true(lambda k: full_success(p, k, s, m=m) >= t, guess)


def _smallest_true(pred: Callable[[int], bool], guess: int) -> int:
    """The smallest k >= 1 with pred(k), for pred monotone in k, searching out from guess.

    The closed form is right or off by one, so this usually costs two evaluations; galloping
    plus bisection keeps it logarithmic where floats make p_full flat (p ≈ 1/2 with t ≈ 1).
    """
    lo, hi, step = 0, guess, 1  # invariant once settled: pred(lo) is False (k = 0 counts False)
    if pred(hi):
        lo = hi - 1
        while lo >= 1 and pred(lo):
            hi, lo, step = lo, max(0, lo - 2 * step), 2 * step
    else:
        while not pred(hi):
            lo, hi, step = hi, hi + step, 2 * step
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if pred(mid) else (mid, hi)
    return hi


def expected_votes(p: float, k: int, *, m: int = 1) -> float:
    """Exact expected number of valid votes in one first-to-ahead-by-k vote.

    Gambler's ruin from 0 with barriers ±k (q = 1 − p): E[N] = k/(p−q)·(p^k − q^k)/(p^k + q^k),
    evaluated as k·tanh(−k·ln r / 2)/(2p − 1). At least k (the first k votes agree), below the
    bound k/(2p−1) (``votes_bound``). With m > 1, p is replaced by p^m.

    >>> round(expected_votes(0.7, 3), 6), round(votes_bound(0.7, 3), 6)
    (6.405405, 7.5)
    """
    _check_int("k", k, "the voting margin")
    d, log_r = _odds(p, m)
    return k * math.tanh(-k * log_r / 2.0) / d if log_r > -math.inf else float(k)


def votes_bound(p: float, k: int, *, m: int = 1) -> float:
    """The paper's expected votes per vote, k/(2p − 1) (Eq. 16 in third-party code): an upper bound.

    >>> votes_bound(0.9, 3)
    3.75
    """
    _check_int("k", k, "the voting margin")
    d, _ = _odds(p, m)
    return k / d


def cost_per_call(in_tokens: float, out_tokens: float, price_in: float, price_out: float) -> float:
    """USD per call: in_tokens·price_in/1e6 + out_tokens·price_out/1e6 (prices per 1M tokens).

    >>> round(cost_per_call(600, 538, 0.40, 1.60), 7)   # gpt-4.1-mini, τ = 0.1
    0.0011008
    """
    for name, value in (
        ("in_tokens", in_tokens),
        ("out_tokens", out_tokens),
        ("price_in", price_in),
        ("price_out", price_out),
    ):
        _check_nonneg(name, value)
    return in_tokens * price_in / 1e6 + out_tokens * price_out / 1e6


def expected_calls(
    p: float, s: int, k: int, *, m: int = 1, v: float = 1.0, bound: bool = False
) -> float:
    """Expected LLM calls for the whole task: (s/m)·E[votes]/v (flagged samples are calls too).

    ``bound=True`` gives the paper's projection s·k/(v·(2p−1)) (m = 1, §4.4), which uses
    ``votes_bound`` in place of the exact ``expected_votes``.

    >>> round(expected_calls(0.9978, PAPER_STEPS, 3, bound=True))
    3159627
    """
    _check_sm(s, m)
    _check_v(v)
    votes = votes_bound(p, k, m=m) if bound else expected_votes(p, k, m=m)
    return (s / m) * votes / v


def expected_cost(
    c: float, p: float, s: int, k: int, *, m: int = 1, v: float = 1.0, bound: bool = False
) -> float:
    """Expected USD for the whole task: c·expected_calls; ``bound=True`` gives c·s·k/(v·(2p−1)).

    The paper's E[cost of MAKER] ≈ c·s·k_min/(v·(2p−1)) (§4.4) is ``bound=True`` with k = k_min.

    >>> round(expected_cost(cost_per_call(600, 538, 0.4, 1.6), 0.9978, PAPER_STEPS, 3, bound=True))
    3478
    """
    _check_nonneg("c (USD per call)", c)
    return c * expected_calls(p, s, k, m=m, v=v, bound=bound)
