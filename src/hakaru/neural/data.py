"""Training and held-out data for ``neural-sum``: the numbers tree-sum adds, at every level.

tree-sum draws its leaves uniformly from 0 … 999 (:meth:`hakaru.workloads.tree_sum.TreeSum.numbers`)
and each level of its tree adds partial sums of 1, f, f², … leaves. So an example here is k
numbers (k uniform in 1 … ``max_numbers``), each the sum of m = 2^j leaves of 0 … 999 (j uniform
in 0 … 7, shared by the example's numbers as in one tree level): the calls tree-sum makes at fan-in
k for n ≤ 256, and the ``single`` call's prompt for n ≤ ``max_numbers``.

Training batches are drawn with torch from a seeded generator (one k and m per batch, so a batch
has no padding); the held-out set is drawn with tree-sum's own generator, one seed per example,
from seeds training never uses (:data:`HELD_OUT_SEED` on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hakaru.neural.tokenizer import OUT_WIDTH, WIDTH, SumTokenizer
from hakaru.workloads.tree_sum import TreeSum

if TYPE_CHECKING:
    import torch

__all__ = ["HELD_OUT_SEED", "LEVELS", "Example", "held_out", "training_batch"]

LEVELS = 8  #: m = 2^j leaves per number, j < LEVELS
HELD_OUT_SEED = 10**9  #: seeds of the held-out examples start here


@dataclass(frozen=True)
class Example:
    numbers: tuple[int, ...]

    @property
    def answer(self) -> int:
        return sum(self.numbers)


def held_out(count: int, max_numbers: int = 8, seed: int = HELD_OUT_SEED) -> list[Example]:
    """``count`` examples cycling through k = 1 … max_numbers and m = 1, 2, 4, … 128 leaves."""
    examples = []
    for i in range(count):
        k, m = 1 + i % max_numbers, 2 ** ((i // max_numbers) % LEVELS)
        leaves = TreeSum.numbers(k * m, seed + i)
        examples.append(Example(tuple(sum(leaves[j * m : (j + 1) * m]) for j in range(k))))
    return examples


def training_batch(
    size: int, max_numbers: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets (size, T) for next-token training; targets are −100 (ignored) on the
    prompt, so the loss is the response's: the answer digits and ``<eos>``."""
    import torch

    tok = SumTokenizer()
    k = int(torch.randint(1, max_numbers + 1, (1,), generator=gen))
    m = 2 ** int(torch.randint(0, LEVELS, (1,), generator=gen))
    numbers = torch.randint(0, 1000, (size, k, m), generator=gen).sum(-1)  # (size, k)
    powers = 10 ** torch.arange(OUT_WIDTH)
    digits = (numbers[..., None] // powers[:WIDTH]) % 10  # (size, k, WIDTH)
    seps = torch.full((size, k, 1), tok.plus)
    seps[:, -1] = tok.equals
    prompt = torch.cat([digits, seps], dim=-1).reshape(size, -1)
    answer = (numbers.sum(-1, keepdim=True) // powers) % 10  # (size, OUT_WIDTH)
    seq = torch.cat(
        [
            torch.full((size, 1), tok.bos),
            prompt,
            answer,
            torch.full((size, 1), tok.eos),
        ],
        dim=1,
    )
    x, y = seq[:, :-1], seq[:, 1:].clone()
    y[:, : tok.prompt_length(k) - 1] = -100
    return x, y
