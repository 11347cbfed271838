"""Supervised warm-up: teach the model the task in a mix of reasoning styles, mostly verbose.

The stand-in for the paper's starting point, a distilled reasoning model that overthinks. Every
example is generated fresh (a random table, k uniform in [k_min, k_max]); its style is drawn
from ``cfg.style_mix`` (70 % verbose by default), so the model learns all five styles but
prefers the long one. A share ``sft_budget_frac`` of examples (all, by default) starts with a
budget token after ``<think>``, drawn uniformly; the style is then drawn with the styles that
fit the budget weighted ``sft_budget_tilt`` times — a model that half-understands "answer
within b tokens", and that announces a budget of its own accord in natural mode.
The loss covers response tokens only (budget token included), averaged per token.

Seeding: the data of step s come from ``random.Random(seed, s)``, so a resumed run sees exactly
the batches an uninterrupted one would.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hakaru.hbpo.checkpoint import build_model, load, save, set_threads, vocab_of
from hakaru.hbpo.config import Config
from hakaru.hbpo.task import STYLES, Vocab, sample_problem

if TYPE_CHECKING:
    import torch

__all__ = ["length_buckets", "make_batch", "sft_sequence", "train_sft"]

Log = Callable[[str], None]


def sft_sequence(rng: random.Random, vocab: Vocab, cfg: Config) -> list[int]:
    """One training sequence: prompt + response in a style drawn from the mix."""
    p = sample_problem(rng, cfg.n_symbols, rng.randint(cfg.k_min, cfg.k_max))
    weights = list(cfg.style_mix)
    budget = None
    if rng.random() < cfg.sft_budget_frac:
        budget = rng.choice(cfg.budgets)
        for i, style in enumerate(STYLES):  # weak hint: styles that fit the budget more often
            if len(vocab.response(p, style, budget)) <= budget:
                weights[i] *= cfg.sft_budget_tilt
    style = rng.choices(STYLES, weights=weights)[0]
    return vocab.prompt(p) + vocab.response(p, style, budget)


def make_batch(
    seqs: list[list[int]], prompt_len: int, pad: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs, targets and loss mask, each (n, T), padded to the longest sequence; the mask is
    1 on response targets (the budget token included)."""
    import torch

    n, T = len(seqs), max(len(s) for s in seqs) - 1
    x = torch.full((n, T), pad, dtype=torch.long)
    y = torch.full((n, T), pad, dtype=torch.long)
    mask = torch.zeros(n, T)
    for i, s in enumerate(seqs):
        x[i, : len(s) - 1] = torch.tensor(s[:-1])
        y[i, : len(s) - 1] = torch.tensor(s[1:])
        mask[i, prompt_len - 1 : len(s) - 1] = 1.0  # targets from the first response token
    return x, y, mask


def length_buckets(seqs: list[list[int]], n_buckets: int) -> list[list[list[int]]]:
    """Split a batch into ``n_buckets`` micro-batches of similar length (less padding: the
    verbose style makes lengths range from ~18 to ~160 tokens)."""
    ordered = sorted(seqs, key=len)
    size = -(-len(ordered) // n_buckets)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _lr(cfg: Config, step: int) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < cfg.sft_warmup:
        return cfg.sft_lr * (step + 1) / cfg.sft_warmup
    frac = (step - cfg.sft_warmup) / max(1, cfg.sft_steps - cfg.sft_warmup)
    return cfg.sft_lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


def train_sft(
    cfg: Config, out: str | Path, *, log: Log = print, progress: bool = True
) -> dict[str, Any]:
    """Train the starting model; write ``out/sft.pt``; resume from ``out/sft_ckpt.pt`` if there.

    Returns the training record (losses, tokens per second, seconds).
    """
    import torch
    from torch.nn import functional as F

    from hakaru.hbpo.progress import bar

    out = Path(out)
    final = out / "sft.pt"
    if final.exists():
        return dict(load(final)["record"])
    set_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    vocab = vocab_of(cfg)
    model = build_model(cfg)
    opt = torch.optim.AdamW(
        model.parameters(), lr=cfg.sft_lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay
    )
    record: dict[str, Any] = {"loss": [], "seconds": 0.0, "tokens": 0}
    start = 0
    ckpt = out / "sft_ckpt.pt"
    if ckpt.exists():
        state = load(ckpt)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start, record = state["step"], state["record"]
        log(f"sft: resuming at step {start}")
    log(f"sft: {model.n_params():,} parameters, {cfg.sft_steps} steps x {cfg.sft_batch} sequences")
    model.train()
    t_last, tok_last = time.perf_counter(), 0
    with bar("SFT", cfg.sft_steps, start, enabled=progress) as advance:
        for step in range(start, cfg.sft_steps):
            rng = random.Random(cfg.seed * 1_000_003 + step)
            seqs = [sft_sequence(rng, vocab, cfg) for _ in range(cfg.sft_batch)]
            for group in opt.param_groups:
                group["lr"] = _lr(cfg, step)
            n_target = sum(len(s) - cfg.prompt_len for s in seqs)  # response tokens
            opt.zero_grad(set_to_none=True)
            loss_sum, n_tok = 0.0, 0
            for chunk in length_buckets(seqs, 4):
                x, y, mask = make_batch(chunk, cfg.prompt_len, vocab.pad)
                logits = model(x)  # (b, T, V)
                nll = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none")
                loss = (nll * mask.flatten()).sum() / n_target  # token mean over the batch
                loss.backward()  # type: ignore[no-untyped-call]
                loss_sum += loss.item()
                n_tok += int(x.numel())
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            loss = torch.tensor(loss_sum)
            record["tokens"] += n_tok
            tok_last += n_tok
            record["loss"].append(round(float(loss), 5))
            advance()
            if (step + 1) % (cfg.log_every * 10) == 0 or step + 1 == cfg.sft_steps:
                now = time.perf_counter()
                record["seconds"] += now - t_last
                rate = tok_last / max(now - t_last, 1e-9)
                log(
                    f"sft step {step + 1}/{cfg.sft_steps} | loss {float(loss):.4f} | "
                    f"lr {_lr(cfg, step):.2e} | {rate / 1000:.1f}k tokens/s"
                )
                t_last, tok_last = now, 0
            if (step + 1) % (cfg.checkpoint_every * 10) == 0 and step + 1 < cfg.sft_steps:
                save(
                    ckpt,
                    {
                        "config": cfg.to_dict(),
                        "model": model.state_dict(),
                        "optimizer": opt.state_dict(),
                        "step": step + 1,
                        "record": record,
                    },
                )
    save(final, {"config": cfg.to_dict(), "model": model.state_dict(), "record": record})
    ckpt.unlink(missing_ok=True)
    return record
