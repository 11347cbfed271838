"""Training and held-out data for ``neural-sum``: the numbers tree-sum adds, at every level.

The model is trained for tree-sum run with ``leaf_max`` = :data:`LEAF_MAX` (leaves uniform in
0 … 9, :meth:`hakaru.workloads.tree_sum.TreeSum.numbers`); each level of its tree adds partial sums
of 1, f, f², … leaves. So an example here is k numbers (k uniform in 1 … ``max_numbers``), each the
sum of m = 2^j leaves of 0 … 9 (j uniform in 0 … 7, shared by the example's numbers as in one tree
level): the calls tree-sum makes at fan-in k for n ≤ 256, and the ``single`` call's prompt for
n ≤ ``max_numbers``. Half the training batches draw each number uniformly from 0 … 9m instead (the
same magnitudes, every digit pattern), so the model sees digits the narrow sums of many leaves
rarely make.

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

__all__ = ["HELD_OUT_SEED", "LEAF_MAX", "LEVELS", "Example", "held_out", "training_batch"]

LEAF_MAX = 9  #: tree-sum's ``leaf_max`` the model is trained for: leaves uniform in 0 … 9
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
        leaves = TreeSum.numbers(k * m, seed + i, LEAF_MAX)
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
    if int(torch.randint(0, 2, (1,), generator=gen)):
        numbers = torch.randint(0, LEAF_MAX * m + 1, (size, k), generator=gen)
    else:
        numbers = torch.randint(0, LEAF_MAX + 1, (size, k, m), generator=gen).sum(-1)  # (size, k)
    powers = 10 ** torch.arange(max(WIDTH, OUT_WIDTH))
    places = 10 * torch.arange(max(WIDTH, OUT_WIDTH))  # digit tokens: 10 * place + digit
    digits = (numbers[..., None] // powers[:WIDTH]) % 10 + places[:WIDTH]  # (size, k, WIDTH)
    seps = torch.full((size, k, 1), tok.plus)
    seps[:, -1] = tok.equals
    prompt = torch.cat([digits, seps], dim=-1).reshape(size, -1)
    answer = (numbers.sum(-1, keepdim=True) // powers[:OUT_WIDTH]) % 10 + places[
        :OUT_WIDTH
    ]  # (size, OUT_WIDTH)
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
