"""A small causal transformer, written as plainly as nanoGPT's, plus batched sampling.

Pre-norm blocks (LayerNorm → causal self-attention → residual, LayerNorm → MLP 4x → residual),
learned positions, tied input/output embeddings — nanoGPT's ``model.py`` minus what a 0.4M
parameter model on a 46-token vocabulary does not need. One addition: a key/value cache, so
that sampling 256 rollouts costs one forward per new token instead of one per prefix.

:func:`sample` generates after a batch of equal-length prefixes (the prompt, plus any forced
tokens such as HBPO's budget token) until ``<eos>`` or ``max_new`` tokens, and returns the
tokens and their log-probabilities under the sampling distribution (for the PPO ratio).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

__all__ = ["GPT", "GPTConfig", "Rollout", "sample"]


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int
    block_size: int  # most positions (prompt + response)
    n_layer: int = 3
    n_head: int = 4
    n_embd: int = 96
    dropout: float = 0.0


class KVCache:
    """Keys and values of every layer for a batch, preallocated to ``block_size`` positions."""

    def __init__(self, cfg: GPTConfig, batch: int, device: torch.device, dtype: torch.dtype):
        shape = (batch, cfg.n_head, cfg.block_size, cfg.n_embd // cfg.n_head)
        self.k = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(cfg.n_layer)]
        self.v = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(cfg.n_layer)]
        self.pos = 0  # positions filled

    def keep(self, rows: torch.Tensor) -> None:
        """Drop the batch rows not in ``rows`` (finished sequences); copies the filled part."""
        for buf in (self.k, self.v):
            for i, old in enumerate(buf):
                new = torch.zeros((len(rows), *old.shape[1:]), dtype=old.dtype, device=old.device)
                new[:, :, : self.pos] = old[rows, :, : self.pos]
                buf[i] = new


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.n_head = cfg.n_head
        self.dropout = cfg.dropout

    def forward(
        self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0
    ) -> torch.Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        causal = True
        if cache is not None:
            p = cache.pos
            cache.k[layer][:, :, p : p + T] = k
            cache.v[layer][:, :, p : p + T] = v
            k, v = cache.k[layer][:, :, : p + T], cache.v[layer][:, :, : p + T]
            causal = p == 0  # a prefill is causal; one new token may see every cached one
            assert causal or T == 1, "after the prefill, feed one token at a time"
        drop = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=causal)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        out: torch.Tensor = self.c_proj(y)
        return out


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.dropout(self.c_proj(F.gelu(self.c_fc(x))))
        return out


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = MLP(cfg)

    def forward(
        self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0
    ) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        out: torch.Tensor = x + self.mlp(self.ln_2(x))
        return out


class GPT(nn.Module):
    """The decoder. ``model(idx)`` returns logits (B, T, vocab) for token ids ``idx`` (B, T)."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2's scaled init of residual projections
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def n_params(self) -> int:
        """Parameters, position embeddings included (the tied head counted once)."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        _B, T = idx.size()
        start = 0 if cache is None else cache.pos
        assert start + T <= self.cfg.block_size, f"{start + T} positions > {self.cfg.block_size}"
        pos = torch.arange(start, start + T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)
        if cache is not None:
            cache.pos += T
        logits: torch.Tensor = self.lm_head(self.ln_f(x))  # (B, T, vocab)
        return logits


@dataclass
class Rollout:
    """Generated responses: ``tokens`` (B, N) padded with ``pad`` after ``<eos>``; ``logp`` (B, N)
    log-probabilities of those tokens under the sampling distribution (0 on padding);
    ``lengths`` (B,) response tokens up to and including ``<eos>`` (N if it never came)."""

    tokens: torch.Tensor
    logp: torch.Tensor
    lengths: torch.Tensor


@torch.no_grad()
def sample(
    model: GPT,
    prefix: torch.Tensor,
    n_forced: int,
    max_new: int,
    *,
    eos: int,
    pad: int,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> Rollout:
    """Continue each row of ``prefix`` (B, T0) until ``<eos>`` or a response of ``max_new`` tokens.

    The last ``n_forced`` tokens of the prefix are *forced response tokens* (HBPO's budget
    token): they are returned as the start of the response, count in its length, and get their
    log-probabilities like sampled tokens. ``temperature`` 0 decodes greedily. Finished rows
    are dropped from the batch as they finish, so a batch costs what its long rows cost.
    """
    was_training = model.training
    model.eval()
    B, T0 = prefix.shape
    cache = KVCache(model.cfg, B, prefix.device, model.lm_head.weight.dtype)
    tokens = torch.full((B, max_new), pad, dtype=torch.long)
    logp = torch.zeros(B, max_new)
    lengths = torch.full((B,), max_new, dtype=torch.long)
    logits = model(prefix, cache)  # (B, T0, V)
    scale = 1.0 / temperature if temperature > 0 else 1.0
    if n_forced:
        forced = prefix[:, T0 - n_forced :]  # (B, F)
        lp = F.log_softmax(logits[:, T0 - n_forced - 1 : T0 - 1] * scale, dim=-1)
        tokens[:, :n_forced] = forced
        logp[:, :n_forced] = lp.gather(-1, forced[..., None])[..., 0]
    rows = torch.arange(B)  # original index of each row of the (shrinking) batch
    alive = torch.ones(B, dtype=torch.bool)  # rows of the batch still generating
    last = logits[:, -1]  # (b, V)
    for t in range(n_forced, max_new):
        if temperature > 0:
            lp = F.log_softmax(last * scale, dim=-1)
            nxt = torch.multinomial(lp.exp(), 1, generator=generator)[:, 0]
            logp[rows[alive], t] = lp.gather(-1, nxt[:, None])[:, 0][alive]
        else:
            nxt = last.argmax(-1)
        nxt = torch.where(alive, nxt, torch.full_like(nxt, pad))  # finished rows feed padding
        tokens[rows[alive], t] = nxt[alive]
        done = alive & (nxt == eos)
        lengths[rows[done]] = t + 1
        alive &= ~done
        if not alive.any() or t + 1 == max_new:
            break
        if alive.sum() < 0.75 * len(alive):  # drop finished rows once a quarter are done
            keep = alive.nonzero()[:, 0]
            rows, nxt, alive = rows[keep], nxt[keep], alive[keep]
            cache.keep(keep)
        last = model(nxt[:, None], cache)[:, -1]
    model.train(was_training)
    return Rollout(tokens=tokens, logp=logp, lengths=lengths)
