"""Generation with the HBPO decoder's key/value cache, and what it computed.

:func:`generate` continues a batch of equal-length prompts, one forward pass for the whole
prompt (the prefill) and then one per generated token over the batch, each row with its own
temperature and random generator — so a row's tokens do not depend on which other rows share
its batch. It counts what was computed (:class:`Work`): forward passes and the positions the
network actually ran, and per row the positions a call needs with and without a KV cache.

For a prompt of n tokens and a response of o tokens (``<eos>`` included):

- with the cache (what runs here): o forward passes computing n + (o − 1) positions — the
  prefill, then one position per fed-back token (the last token is sampled, never fed);
- without a cache: o forward passes computing Σ_{j<o} (n + j) = o·n + o(o − 1)/2 positions —
  exactly the AALP cost's sum (:mod:`hakaru.costs`, ``aalp``) with m = 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from hakaru.hbpo.model import GPT

__all__ = ["Work", "generate", "greedy", "positions_cached", "positions_uncached"]


def positions_cached(n: int, o: int) -> int:
    """Positions a call of n prompt and o response tokens computes with a KV cache."""
    return n + max(o - 1, 0)


def positions_uncached(n: int, o: int) -> int:
    """Positions it computes without a cache (every pass re-reads its whole prefix)."""
    return o * n + o * (o - 1) // 2


@dataclass
class Work:
    """What one :func:`generate` call ran: ``passes`` forward passes of the batch computing
    ``positions`` positions in all (padding rows included), for ``rows`` requests."""

    passes: int = 0
    positions: int = 0
    rows: int = 0


def generate(
    model: GPT,
    prompts: torch.Tensor,
    *,
    max_new: int,
    eos: int,
    temperatures: Sequence[float],
    generators: Sequence[torch.Generator | None],
) -> tuple[list[list[int]], Work]:
    """Continue each row of ``prompts`` (B, n) until ``<eos>`` or ``max_new`` tokens.

    Row i samples at ``temperatures[i]`` (0: greedy) with ``generators[i]``. Returns each row's
    response tokens (``<eos>`` included when it came) and the :class:`Work` done.
    """
    import torch
    from torch.nn import functional as F

    from hakaru.hbpo.model import KVCache

    was_training = model.training
    model.eval()
    batch, n = prompts.shape
    work = Work(rows=batch)
    out: list[list[int]] = [[] for _ in range(batch)]
    done = [False] * batch
    with torch.no_grad():
        cache = KVCache(model.cfg, batch, prompts.device, model.lm_head.weight.dtype)
        last = model(prompts, cache)[:, -1]
        work.passes, work.positions = 1, batch * n
        sampled = [i for i in range(batch) if temperatures[i] > 0]
        for step in range(max_new):
            chosen = last.argmax(-1).tolist()  # greedy rows; sampled rows are redrawn below
            for i in sampled:
                if not done[i]:
                    probs = F.softmax(last[i] / temperatures[i], dim=-1)
                    chosen[i] = int(torch.multinomial(probs, 1, generator=generators[i])[0])
            for i in range(batch):
                if done[i]:
                    chosen[i] = eos
                    continue
                out[i].append(chosen[i])
                done[i] = chosen[i] == eos
            if all(done) or step + 1 == max_new:
                break
            last = model(torch.tensor(chosen)[:, None], cache)[:, -1]
            work.passes += 1
            work.positions += batch
    model.train(was_training)
    return out, work


def greedy(model: GPT, prompts: list[list[int]], *, max_new: int, eos: int) -> list[list[int]]:
    """:func:`generate` at temperature 0 for every prompt (token lists of one length): each
    prompt's greedy response tokens."""
    import torch

    outs, _ = generate(
        model,
        torch.tensor(prompts),
        max_new=max_new,
        eos=eos,
        temperatures=[0.0] * len(prompts),
        generators=[None] * len(prompts),
    )
    return outs
