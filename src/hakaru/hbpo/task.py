"""The toy reasoning task: iterated lookup ("pointer chasing") with a difficulty knob k.

A prompt shows a random table f: {0..9} -> {0..9}, a start digit x0 and a step count k; the
answer is y = f^k(x0), one digit. Chance is 1/10, but a random function's values repeat, and
guessing the table's most frequent value is right about 30 % of the time at any k — the floor
that reasoning has to beat. Each step is one lookup, so a small model
cannot answer a large k in one forward pass, but writing the intermediate states x1 … xk in a
chain of thought removes the depth limit: *writing steps truly helps*, and harder problems
truly need longer chains. Difficulty = k (hakaru's design, experiments/hbpo/README.md).

Token sequences (one token per symbol)::

    prompt    <bos> f(0) f(1) … f(9) x0 K<k> <think>
    response  [<bNN>] <chain of thought> </think> y <eos>

The chain of thought writes states one token after another, so each new state is one lookup
*from the token just written* (attend to the table position it names) — the one-hop step a
small transformer learns quickly; answering without the chain needs k hops in one pass.

The five reasoning styles of the chain of thought, shortest first:

    direct    nothing                                   0 tokens      reliable only for tiny k
    stride4   x0 x4 x8 …     (4 lookups per token)      k/4 + 1       unreliable
    stride2   x0 x2 x4 …     (2 lookups per token)      k/2 + 1       so-so
    compact   x0 x1 x2 … xk  (1 lookup per token)       k + 1         reliable
    verbose   x0 x1 , x1 x2 , … ; x0 x1 , … (twice)     6k + 1        reliable, wasteful

``verbose`` is the "overthinking" style the supervised model mostly learns: a step log and then
the same log again as a re-check, no more accurate than ``compact``; the whole response (with
``</think> y <eos>``) is 6k + 4 tokens, so for k >= 21 it does not fit the 128-token training
window (like a distilled reasoning model's AIME answers in a 4K window).

>>> v = Vocab(k_max=24, budgets=(16, 32, 64, 80))
>>> p = Problem(table=(1, 2, 3, 4, 5, 6, 7, 8, 9, 0), x0=0, k=3)
>>> p.answer, v.decode(v.response(p, "compact"))
(3, '0 1 2 3 </think> 3 <eos>')
>>> v.decode(v.response(p, "verbose", budget=80))
'<b80> 0 1 , 1 2 , 2 3 , ; 0 1 , 1 2 , 2 3 , </think> 3 <eos>'
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "STYLES",
    "Graded",
    "Problem",
    "Vocab",
    "bin_of",
    "chain",
    "difficulty_bins",
    "sample_problem",
    "style_tokens",
]

STYLES = ("direct", "stride4", "stride2", "compact", "verbose")


@dataclass(frozen=True)
class Problem:
    """One instance: the table f (``table[a]`` = f(a)), the start ``x0`` and the steps ``k``."""

    table: tuple[int, ...]
    x0: int
    k: int

    @property
    def answer(self) -> int:
        """y = f^k(x0)."""
        return chain(self.table, self.x0, self.k)[-1]


def chain(table: Sequence[int], x0: int, k: int) -> list[int]:
    """The states x0, x1 = f(x0), …, xk.

    >>> chain((1, 2, 0), 0, 4)
    [0, 1, 2, 0, 1]
    """
    xs = [x0]
    for _ in range(k):
        xs.append(table[xs[-1]])
    return xs


def sample_problem(rng: random.Random, n_symbols: int, k: int) -> Problem:
    """A uniformly random table and start digit for ``k`` steps."""
    table = tuple(rng.randrange(n_symbols) for _ in range(n_symbols))
    return Problem(table=table, x0=rng.randrange(n_symbols), k=k)


class Vocab:
    """Token ids: digits 0–9, step counts K1…K<k_max>, specials, one token per budget.

    >>> v = Vocab(k_max=4, budgets=(8, 16))
    >>> len(v), v.decode([v.bos, 3, v.step(2), v.think, v.budget_token(16)])
    (24, '<bos> 3 K2 <think> <b16>')
    """

    SPECIALS = ("<pad>", "<bos>", "<think>", "</think>", "<eos>", ">", ",", ";")

    def __init__(self, k_max: int, budgets: Sequence[int], n_symbols: int = 10) -> None:
        self.n_symbols = n_symbols
        self.k_max = k_max
        self.budgets = tuple(budgets)
        names = [str(d) for d in range(10)]
        names += [f"K{k}" for k in range(1, k_max + 1)]
        names += list(self.SPECIALS)
        names += [f"<b{b}>" for b in self.budgets]
        self.names = names
        self.ids = {name: i for i, name in enumerate(names)}
        self.pad, self.bos, self.think = self.ids["<pad>"], self.ids["<bos>"], self.ids["<think>"]
        self.end_think, self.eos = self.ids["</think>"], self.ids["<eos>"]
        self.arrow, self.comma, self.semi = self.ids[">"], self.ids[","], self.ids[";"]
        self._budget_ids = {b: self.ids[f"<b{b}>"] for b in self.budgets}
        self.budget_of_id = {i: b for b, i in self._budget_ids.items()}

    def __len__(self) -> int:
        return len(self.names)

    def step(self, k: int) -> int:
        """The id of the step-count token K<k>."""
        return self.ids[f"K{k}"]

    def budget_token(self, b: int) -> int:
        """The id of the budget token <b…> (the stand-in for the paper's budget phrase)."""
        return self._budget_ids[b]

    def decode(self, ids: Sequence[int]) -> str:
        return " ".join(self.names[i] for i in ids)

    def prompt(self, p: Problem) -> list[int]:
        """<bos> f(0) … f(9) x0 K<k> <think>."""
        return [self.bos, *p.table, p.x0, self.step(p.k), self.think]

    def response(self, p: Problem, style: str, budget: int | None = None) -> list[int]:
        """A correct response in ``style``, optionally starting with a budget token."""
        head = [] if budget is None else [self.budget_token(budget)]
        return [*head, *style_tokens(self, p, style), self.end_think, p.answer, self.eos]

    def grade(self, p: Problem, response: Sequence[int]) -> Graded:
        """Read a generated response (padding after ``<eos>`` is ignored)."""
        ids = list(response)
        n = ids.index(self.eos) + 1 if self.eos in ids else len(ids)
        body = ids[:n]
        finished = self.eos in body
        budget = self.budget_of_id.get(body[0]) if body else None
        correct = (
            finished
            and n >= 3
            and body[-3] == self.end_think
            and body[-2] == p.answer
            and body.count(self.end_think) == 1
        )
        start = 1 if budget is not None else 0
        cot = body[start : body.index(self.end_think)] if self.end_think in body else body[start:]
        return Graded(
            correct=correct,
            tokens=n,
            finished=finished,
            budget=budget,
            style=classify(self, cot, p.k) if finished else "unfinished",
        )


@dataclass(frozen=True)
class Graded:
    """What one response did: correct?, its length, the budget it announced, its style."""

    correct: bool
    tokens: int  # response tokens up to and including <eos> (the budget token counts)
    finished: bool  # reached <eos>
    budget: int | None  # the budget token it starts with, if any
    style: str  # one of STYLES, "other" or "unfinished"

    def as_dict(self) -> dict[str, Any]:
        return {
            "correct": self.correct,
            "tokens": self.tokens,
            "finished": self.finished,
            "budget": self.budget,
            "style": self.style,
        }


def style_tokens(vocab: Vocab, p: Problem, style: str) -> list[int]:
    """The chain of thought of ``style`` for problem ``p`` (without ``</think> y <eos>``)."""
    xs = chain(p.table, p.x0, p.k)
    if style == "direct":
        return []
    if style == "stride4":
        return xs[0::4]
    if style == "stride2":
        return xs[0::2]
    if style == "compact":
        return xs
    if style == "verbose":
        log: list[int] = []
        for a, b in itertools.pairwise(xs):
            log += [a, b, vocab.comma]
        return [*log, vocab.semi, *log]
    raise ValueError(f"unknown style {style!r}; styles are {', '.join(STYLES)}")


def classify(vocab: Vocab, cot: Sequence[int], k: int) -> str:
    """Name the style of a generated chain of thought (by its shape, not its correctness)."""
    if not cot:
        return "direct"
    if vocab.comma in cot or vocab.semi in cot:
        return "verbose"
    if all(t < 10 for t in cot):
        n = len(cot)
        for style, want in (("compact", k + 1), ("stride2", k // 2 + 1), ("stride4", k // 4 + 1)):
            if n == want:
                return style
    return "other"


def difficulty_bins(k_min: int, k_max: int) -> list[tuple[int, int]]:
    """Five difficulty bins over [k_min, k_max] (1–3, 4–6, 7–12, 13–18, 19–24 for 1..24).

    >>> difficulty_bins(1, 24)
    [(1, 3), (4, 6), (7, 12), (13, 18), (19, 24)]
    >>> difficulty_bins(1, 6)
    [(1, 1), (2, 2), (3, 3), (4, 4), (5, 6)]
    """
    span = k_max - k_min + 1
    edges = [round(k_min - 1 + span * f) for f in (0, 1 / 8, 1 / 4, 1 / 2, 3 / 4, 1)]
    bins: list[tuple[int, int]] = []
    for lo, hi in itertools.pairwise(edges):
        lo = max(lo + 1, bins[-1][1] + 1 if bins else k_min)
        hi = max(hi, lo)
        if lo <= k_max:
            bins.append((lo, min(hi, k_max)))
    return bins


def bin_of(k: int, bins: Sequence[tuple[int, int]]) -> int:
    """Index of the bin holding ``k``."""
    for i, (lo, hi) in enumerate(bins):
        if lo <= k <= hi:
            return i
    raise ValueError(f"k = {k} is outside the bins {list(bins)}")
