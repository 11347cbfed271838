"""RL from the supervised checkpoint: GRPO, GRPO + cosine length reward, and HBPO — one loop.

The three methods differ only where the paper says they do:

===========  =====================================  ===========================================
method       rollouts of a group                    reward → advantage
===========  =====================================  ===========================================
``grpo``     natural (nothing forced)               1/0 correct → group z-score
``cosine``   natural                                β·cos(π·n/2L) if correct → group z-score
``hbpo``     n/k per budget, budget token forced    R(n | b) → (μ_i − f2(b_i)) + group z-score
===========  =====================================  ===========================================

Everything else is shared: the same starting checkpoint, the same prompts at every step (drawn
from ``(seed, step)``), temperature-1 sampling with a per-step generator, one pass over the
rollouts in ``minibatches`` optimizer steps, the clipped surrogate (ε_low 0.2, ε_high 0.28,
no KL, token-mean). A response is cut at ``l_max`` tokens; one that did not finish by then is
wrong (reward 0 for every method). ``π_old`` log-probabilities are those recorded while
sampling (the same weights; the paper's verl recomputes them in a separate pass).

Resumable: every ``checkpoint_every`` steps the model, the optimizer, the step and the metrics
are written to ``out/ckpt.pt``; a restarted run continues from there and, because every step
is seeded by its index, produces the same result as an uninterrupted one.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hakaru.errors import ConfigError
from hakaru.hbpo.advantage import clipped_surrogate, grpo_advantages, hbpo_advantages
from hakaru.hbpo.checkpoint import build_model, load, save, set_threads, vocab_of
from hakaru.hbpo.config import METHODS, Config
from hakaru.hbpo.evaluate import generate
from hakaru.hbpo.partition import group_budgets
from hakaru.hbpo.reward import budget_reward, classic_reward, cosine_reward
from hakaru.hbpo.task import Graded, Problem, Vocab, sample_problem

if TYPE_CHECKING:
    import torch

    from hakaru.hbpo.model import GPT

__all__ = ["rl_problems", "rollout_rewards", "train_rl"]

Log = Callable[[str], None]


def rl_problems(cfg: Config, step: int) -> list[Problem]:
    """The prompts of RL step ``step``: the same for every method (seeded by step)."""
    rng = random.Random(cfg.seed * 7_919 + step * 104_729 + 1)
    return [
        sample_problem(rng, cfg.n_symbols, rng.randint(cfg.k_min, cfg.k_max))
        for _ in range(cfg.prompts_per_step)
    ]


def rollout_rewards(
    method: str, graded: list[Graded], budgets: list[int] | None, cfg: Config
) -> list[float]:
    """The reward of each rollout under ``method`` (lengths count the forced budget token)."""
    L, beta = cfg.l_max, cfg.beta
    if method == "grpo":
        return [classic_reward(g.tokens, g.correct, l_max=L) for g in graded]
    if method == "cosine":
        return [cosine_reward(g.tokens, g.correct, l_max=L, beta=beta) for g in graded]
    if method == "hbpo":
        assert budgets is not None
        a = cfg.alpha_value()
        return [
            budget_reward(g.tokens, b, g.correct, l_max=L, beta=beta, alpha=a)
            for g, b in zip(graded, budgets, strict=True)
        ]
    raise ConfigError(f"Unknown method '{method}'. Choose from {', '.join(METHODS)}.")


def _advantages(
    method: str, rewards: list[float], budgets: list[int] | None, cfg: Config
) -> tuple[list[float], list[float]]:
    """Advantages of all rollouts, group by group; and the A_intra part (0 except for HBPO)."""
    G = cfg.group_size
    total: list[float] = []
    intra: list[float] = []
    for g in range(0, len(rewards), G):
        r = rewards[g : g + G]
        if method == "hbpo":
            assert budgets is not None
            adv = hbpo_advantages(r, budgets[g : g + G], l_max=cfg.l_max, beta=cfg.beta)
            total += [cfg.intra_weight * i + z for i, z in zip(adv.intra, adv.inter, strict=True)]
            intra += adv.intra
        else:
            total += grpo_advantages(r)
            intra += [0.0] * len(r)
    return total, intra


def _update(
    model: GPT,
    opt: torch.optim.Optimizer,
    prompts: torch.Tensor,
    tokens: torch.Tensor,
    old_logp: torch.Tensor,
    lengths: torch.Tensor,
    adv: torch.Tensor,
    cfg: Config,
    gen: torch.Generator,
) -> dict[str, float]:
    """One pass over the rollouts in ``cfg.minibatches`` optimizer steps (random minibatches);
    each minibatch is processed in length-sorted chunks to save padding, with the loss
    normalised by the minibatch's response tokens (token-mean)."""
    import torch
    from torch.nn import functional as F

    n, P = tokens.shape[0], prompts.shape[1]
    order = torch.randperm(n, generator=gen)
    size = n // cfg.minibatches
    stats: dict[str, list[float]] = {"loss": [], "clip_frac": [], "grad_norm": []}
    for m in range(cfg.minibatches):
        idx = order[m * size : (m + 1) * size]
        idx = idx[torch.argsort(lengths[idx])]
        n_tok = float(lengths[idx].sum())
        opt.zero_grad(set_to_none=True)
        loss_sum, clip_sum = 0.0, 0.0
        for chunk in idx.chunk(4):
            T = int(lengths[chunk].max())
            seq = torch.cat([prompts[chunk], tokens[chunk, :T]], dim=1)  # (b, P + T)
            logits = model(seq[:, :-1])[:, P - 1 :]  # (b, T, V): predicts response tokens
            logp = F.log_softmax(logits / max(cfg.temperature, 1e-6), dim=-1)
            logp = logp.gather(-1, tokens[chunk, :T, None])[..., 0]  # (b, T)
            mask = (torch.arange(T)[None, :] < lengths[chunk, None]).float()
            loss, st = clipped_surrogate(
                logp,
                old_logp[chunk, :T],
                adv[chunk],
                mask,
                eps_low=cfg.eps_low,
                eps_high=cfg.eps_high,
            )
            share = float(mask.sum()) / n_tok  # token-mean over the whole minibatch
            (loss * share).backward()  # type: ignore[no-untyped-call]
            loss_sum += loss.item() * share
            clip_sum += st["clip_frac"] * share
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        stats["loss"].append(loss_sum)
        stats["clip_frac"].append(clip_sum)
        stats["grad_norm"].append(float(norm))
    return {k: sum(v) / len(v) for k, v in stats.items()}


def _step_metrics(
    problems: list[Problem],
    graded: list[Graded],
    rewards: list[float],
    budgets: list[int] | None,
    intra: list[float],
    cfg: Config,
) -> dict[str, Any]:
    """Rollout statistics of one step: reward, accuracy, length mean/std (all and hardest bin)."""
    G = cfg.group_size
    ks = [problems[i // G].k for i in range(len(graded))]
    lens = [g.tokens for g in graded]
    hard_lo = cfg.k_max - (cfg.k_max - cfg.k_min + 1) // 4 + 1  # top quarter of difficulty
    hard = [n for n, k in zip(lens, ks, strict=True) if k >= hard_lo]
    out: dict[str, Any] = {
        "reward": statistics.fmean(rewards),
        "accuracy": statistics.fmean(g.correct for g in graded),
        "finished": statistics.fmean(g.finished for g in graded),
        "len_mean": statistics.fmean(lens),
        "len_std": statistics.pstdev(lens),
        "len_hard_mean": statistics.fmean(hard) if hard else None,
        "len_hard_std": statistics.pstdev(hard) if hard else None,
        "a_intra_mean": statistics.fmean(intra),
    }
    if budgets is not None:
        per: dict[str, dict[str, float]] = {}
        for b in cfg.budgets:
            sel = [i for i, x in enumerate(budgets) if x == b]
            per[str(b)] = {
                "accuracy": statistics.fmean(graded[i].correct for i in sel),
                "len_mean": statistics.fmean(lens[i] for i in sel),
                "within": statistics.fmean(lens[i] <= b for i in sel),
            }
        out["per_budget"] = per
    return out


def train_rl(
    cfg: Config,
    method: str,
    sft: str | Path,
    out: str | Path,
    *,
    log: Log = print,
    progress: bool = True,
) -> dict[str, Any]:
    """Train ``method`` from the SFT checkpoint ``sft``; write ``out/model.pt``; return the
    history (one dict of rollout metrics per step, validation every ``val_every`` steps)."""
    import torch

    from hakaru.hbpo.progress import bar

    if method not in METHODS:
        raise ConfigError(f"Unknown method '{method}'. Choose from {', '.join(METHODS)}.")
    out = Path(out)
    final = out / "model.pt"
    if final.exists():
        return dict(load(final)["history"])
    set_threads(cfg.threads)
    vocab = vocab_of(cfg)
    model = build_model(cfg)
    model.load_state_dict(load(sft)["model"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.rl_lr, betas=(0.9, 0.999), weight_decay=0.0)
    history: dict[str, Any] = {"method": method, "steps": [], "val": []}
    start = 0
    ckpt = out / "ckpt.pt"
    if ckpt.exists():
        state = load(ckpt)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start, history = state["step"], state["history"]
        log(f"{method}: resuming at step {start}")
    vrng = random.Random(cfg.eval_seed + 1)  # fixed validation prompts, spread evenly over k
    span = cfg.k_max - cfg.k_min + 1
    val = [
        sample_problem(vrng, cfg.n_symbols, cfg.k_min + i % span) for i in range(cfg.val_prompts)
    ]
    if start == 0:
        history["val"].append(_validate(model, vocab, val, cfg, 0))
    with bar(method.upper(), cfg.rl_steps, start, enabled=progress) as advance:
        for step in range(start, cfg.rl_steps):
            row = _rl_step(model, opt, vocab, cfg, method, step)
            history["steps"].append(row)
            if (step + 1) % cfg.val_every == 0 or step + 1 == cfg.rl_steps:
                history["val"].append(_validate(model, vocab, val, cfg, step + 1))
            advance()
            if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.rl_steps:
                v = history["val"][-1]
                log(
                    f"{method} step {step + 1}/{cfg.rl_steps} | reward {row['reward']:.3f} | "
                    f"acc {row['accuracy']:.3f} | len {row['len_mean']:.1f}±{row['len_std']:.1f} "
                    f"tokens | val acc {v['accuracy']:.3f} @ {v['mean_tokens']:.1f} tokens "
                    f"(step {v['step']}) | {row['seconds']:.1f} s/step"
                )
            if (step + 1) % cfg.checkpoint_every == 0 and step + 1 < cfg.rl_steps:
                save(
                    ckpt,
                    {
                        "config": cfg.to_dict(),
                        "model": model.state_dict(),
                        "optimizer": opt.state_dict(),
                        "step": step + 1,
                        "history": history,
                    },
                )
    save(final, {"config": cfg.to_dict(), "model": model.state_dict(), "history": history})
    ckpt.unlink(missing_ok=True)
    return history


def _rl_step(
    model: GPT, opt: torch.optim.Optimizer, vocab: Vocab, cfg: Config, method: str, step: int
) -> dict[str, Any]:
    """Sample a batch of groups, score them, update the policy; return the step's metrics."""
    import torch

    from hakaru.hbpo.model import sample

    t0 = time.perf_counter()
    problems = rl_problems(cfg, step)
    G = cfg.group_size
    prompts = torch.tensor([vocab.prompt(p) for p in problems]).repeat_interleave(G, dim=0)
    budgets: list[int] | None = None
    prefix = prompts
    if method == "hbpo":
        budgets = group_budgets(
            cfg.budgets, G, len(problems), l_max=cfg.l_max, counts=cfg.budget_counts
        )
        forced = torch.tensor([[vocab.budget_token(b)] for b in budgets])
        prefix = torch.cat([prompts, forced], dim=1)  # budget token right after <think>
    gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step * 7 + 3)
    roll = sample(
        model,
        prefix,
        prefix.shape[1] - prompts.shape[1],
        cfg.l_max,
        eos=vocab.eos,
        pad=vocab.pad,
        temperature=cfg.temperature,
        generator=gen,
    )
    t1 = time.perf_counter()
    graded = [
        vocab.grade(problems[i // G], row[:n])
        for i, (row, n) in enumerate(zip(roll.tokens.tolist(), roll.lengths.tolist(), strict=True))
    ]
    rewards = rollout_rewards(method, graded, budgets, cfg)
    adv, intra = _advantages(method, rewards, budgets, cfg)
    upd = _update(
        model,
        opt,
        prompts,
        roll.tokens,
        roll.logp,
        roll.lengths,
        torch.tensor(adv),
        cfg,
        gen,
    )
    t2 = time.perf_counter()
    row = _step_metrics(problems, graded, rewards, budgets, intra, cfg)
    row.update(upd)
    row.update(step=step + 1, seconds=t2 - t0, seconds_sample=t1 - t0, seconds_update=t2 - t1)
    return row


def _validate(
    model: GPT, vocab: Vocab, val: list[Problem], cfg: Config, step: int
) -> dict[str, Any]:
    """Greedy natural-mode accuracy and mean tokens on the fixed validation prompts."""
    graded = generate(model, vocab, val, max_new=cfg.l_max)
    return {
        "step": step,
        "accuracy": statistics.fmean(g.correct for g in graded),
        "mean_tokens": statistics.fmean(g.tokens for g in graded),
    }
