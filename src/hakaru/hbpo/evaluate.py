"""Evaluation: generate on fixed problems, grade, and summarise per difficulty.

- :func:`eval_problems` — a fixed set, ``per_k`` problems for every k, from its own seed;
- :func:`generate` — batched decoding in *natural* mode (nothing forced after ``<think>``) or
  *budget-prompted* mode (a budget token forced, the analogue of the paper's efficiency prompt);
- :func:`style_accuracy` — how reliable each reasoning style is at each k: teacher-forced on a
  correct response of that style, does greedy prediction get every state digit and the answer
  right? (the gate before RL: experiments/hbpo/README.md);
- :func:`summarise` — accuracy with a 95 % Wilson interval and mean tokens per difficulty bin,
  the chosen budget and style per bin, Spearman's ρ between k and tokens.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hakaru.hbpo.task import STYLES, Graded, Problem, Vocab, bin_of, difficulty_bins, sample_problem

if TYPE_CHECKING:
    from hakaru.hbpo.model import GPT

__all__ = ["eval_problems", "generate", "spearman", "style_accuracy", "summarise", "wilson"]


def eval_problems(n_symbols: int, k_min: int, k_max: int, per_k: int, seed: int) -> list[Problem]:
    """``per_k`` problems for each k in [k_min, k_max], reproducible from ``seed``."""
    rng = random.Random(seed)
    return [
        sample_problem(rng, n_symbols, k) for k in range(k_min, k_max + 1) for _ in range(per_k)
    ]


def generate(
    model: GPT,
    vocab: Vocab,
    problems: Sequence[Problem],
    *,
    max_new: int,
    budget: int | None = None,
    temperature: float = 0.0,
    seed: int = 0,
    batch: int = 512,
) -> list[Graded]:
    """Decode a response for each problem and grade it (greedy unless ``temperature`` > 0).

    With ``budget``, that budget token is forced right after ``<think>`` (it counts in the
    response length, as in training).
    """
    import torch

    from hakaru.hbpo.model import sample

    out: list[Graded] = []
    gen = torch.Generator().manual_seed(seed)
    for i in range(0, len(problems), batch):
        chunk = problems[i : i + batch]
        forced = [] if budget is None else [vocab.budget_token(budget)]
        prefix = torch.tensor([vocab.prompt(p) + forced for p in chunk])
        roll = sample(
            model,
            prefix,
            len(forced),
            max_new,
            eos=vocab.eos,
            pad=vocab.pad,
            temperature=temperature,
            generator=gen,
        )
        for p, row, n in zip(chunk, roll.tokens.tolist(), roll.lengths.tolist(), strict=True):
            out.append(vocab.grade(p, row[:n]))
    return out


def style_accuracy(
    model: GPT, vocab: Vocab, problems: Sequence[Problem], style: str, batch: int = 512
) -> list[bool]:
    """For each problem: following ``style``, does the model get every state digit and the
    answer right? Teacher-forced on the correct response; at each digit position the most
    likely digit must be the right one (structural tokens, and the choice of style, ignored)."""
    import torch

    results: list[bool] = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(problems), batch):
            chunk = problems[i : i + batch]
            seqs = [vocab.prompt(p) + vocab.response(p, style) for p in chunk]
            T = max(len(s) for s in seqs)
            x = torch.full((len(seqs), T), vocab.pad, dtype=torch.long)
            for j, s in enumerate(seqs):
                x[j, : len(s)] = torch.tensor(s)
            # the most likely *digit* at each position: given that a state is written here, is
            # it the right one? (which style comes next is the model's choice, not its skill)
            pred = model(x[:, :-1])[..., :10].argmax(-1)  # (B, T-1): digit predicted for t+1
            for j, s in enumerate(seqs):
                start = len(vocab.prompt(chunk[j]))
                ok = all(
                    int(pred[j, t - 1]) == s[t]
                    for t in range(start, len(s))
                    if s[t] < 10  # digits only: states and the answer
                )
                results.append(ok)
    return results


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion.

    >>> [round(x, 4) for x in wilson(45, 50)]
    [0.7864, 0.9565]
    """
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, mid - half), min(1.0, mid + half))


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN if either side is constant.

    >>> spearman([1, 2, 3, 4], [10, 20, 15, 40])
    0.8
    """

    def ranks(v: Sequence[float]) -> list[float]:
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for m in range(i, j + 1):
                r[order[m]] = (i + j) / 2 + 1
            i = j + 1
        return r

    rx, ry = ranks(x), ranks(y)
    n = len(rx)
    mx, my = sum(rx) / n, sum(ry) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return float("nan")
    return round(sxy / math.sqrt(sxx * syy), 6)


def summarise(
    problems: Sequence[Problem], graded: Sequence[Graded], k_min: int, k_max: int
) -> dict[str, Any]:
    """Accuracy (95 % Wilson CI) and mean tokens overall, per bin and per k; budgets and styles
    chosen per bin; Spearman ρ of tokens with k (per problem, and over the per-k means)."""
    bins = difficulty_bins(k_min, k_max)

    def block(idx: list[int]) -> dict[str, Any]:
        n = len(idx)
        ok = sum(graded[i].correct for i in idx)
        lo, hi = wilson(ok, n)
        toks = [graded[i].tokens for i in idx]
        return {
            "n": n,
            "accuracy": ok / n if n else float("nan"),
            "ci95": [round(lo, 4), round(hi, 4)],
            "mean_tokens": sum(toks) / n if n else float("nan"),
            "finished": sum(graded[i].finished for i in idx) / n if n else float("nan"),
            "budget": dict(Counter(str(graded[i].budget) for i in idx)),
            "style": {
                s: c
                for s in (*STYLES, "other", "unfinished")
                if (c := sum(graded[i].style == s for i in idx))
            },
        }

    all_idx = list(range(len(problems)))
    per_bin = [
        {"k": [lo, hi], **block([i for i in all_idx if bin_of(problems[i].k, bins) == b])}
        for b, (lo, hi) in enumerate(bins)
    ]
    ks = sorted({p.k for p in problems})
    per_k = {k: block([i for i in all_idx if problems[i].k == k]) for k in ks}
    return {
        "overall": block(all_idx),
        "bins": per_bin,
        "per_k": {
            str(k): {"accuracy": v["accuracy"], "mean_tokens": v["mean_tokens"]}
            for k, v in per_k.items()
        },
        "spearman_problems": spearman([p.k for p in problems], [g.tokens for g in graded]),
        "spearman_k_means": spearman(ks, [per_k[k]["mean_tokens"] for k in ks]),
    }
