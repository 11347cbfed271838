"""Train ``neural-sum`` on CPU and measure it on the held-out set.

:func:`train` fits the HBPO decoder (:class:`hakaru.hbpo.model.GPT`, imported, not copied) by
next-token cross-entropy on the response tokens of :func:`hakaru.neural.data.training_batch`,
with AdamW and a cosine learning rate over the time or step budget, whichever ends first. It
uses one torch thread unless told otherwise. :func:`evaluate` is the held-out accuracy: exact
answers, greedy, on :func:`hakaru.neural.data.held_out`; the model card records it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from hakaru.errors import ConfigError
from hakaru.neural.data import held_out, training_batch
from hakaru.neural.hanoi_data import evaluate_hanoi, hanoi_batch
from hakaru.neural.tokenizer import ANSWER_TOKENS, SumTokenizer

if TYPE_CHECKING:
    from hakaru.hbpo.model import GPT

__all__ = ["TASKS", "TrainConfig", "TrainResult", "build", "evaluate", "k_max", "train"]

TASKS = ("sum", "hanoi")


@dataclass(frozen=True)
class TrainConfig:
    """What a training run does. ``context_numbers`` sets the context window (the prompts it
    can read: longer than the training inputs, so that the single call's growth of error with n
    beyond them is measured, not refused)."""

    task: str = "sum"
    steps: int = 1_000_000
    minutes: float = 10.0
    seed: int = 0
    batch: int = 64
    lr: float = 2e-3
    n_layer: int = 3
    n_head: int = 4
    n_embd: int = 96
    max_numbers: int = 8
    context_numbers: int = 16
    held_out: int = 2000
    threads: int = 1
    curriculum: float = 0.0  # share of the budget over which k_max grows from 2 (0: none)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(
                f"Unknown neural task '{self.task}'. Choose one of: {', '.join(TASKS)}."
            )
        if self.steps < 1 or self.minutes <= 0:
            raise ConfigError("Give a positive --steps and --minutes.")


@dataclass
class TrainResult:
    model: GPT
    steps: int
    seconds: float
    losses: list[float]  # mean loss of each logged window
    accuracy: float
    by_disks: dict[int, float] = field(default_factory=dict)  # hanoi: accuracy per N

    def card(self, cfg: TrainConfig, command: str) -> dict[str, Any]:
        """The model card."""
        from hakaru.neural.hanoi_data import HANOI_DATA

        return {
            "name": f"neural-{cfg.task}",
            "task": cfg.task,
            "data": HANOI_DATA
            if cfg.task == "hanoi"
            else (
                f"k numbers, k uniform in 1..{cfg.max_numbers}"
                + (
                    f" (1..k_max, k_max growing from 2 over the first {cfg.curriculum:.0%} of "
                    "the budget)"
                    if cfg.curriculum > 0
                    else ""
                )
                + ", each the sum of 2^j leaves drawn uniformly from 0..9 (tree-sum's "
                "generator with leaf_max 9), j uniform in 0..7, or (half the batches) drawn "
                "uniformly from 0..9*2^j; digit-and-place tokens, least significant first"
            ),
            "config": asdict(cfg),
            "parameters": self.model.n_params(),
            "steps": self.steps,
            "train_seconds": round(self.seconds, 1),
            "final_loss": self.losses[-1] if self.losses else None,
            "held_out": {
                "examples": cfg.held_out,
                "max_numbers": cfg.max_numbers,
                "accuracy": self.accuracy,
                **({"accuracy_by_disks": self.by_disks} if self.by_disks else {}),
                "decoding": "greedy, exact answer",
            },
            "command": command,
        }


def k_max(cfg: TrainConfig, done: float) -> int:
    """The most numbers of a training example when ``done`` of the budget is spent: 2 at the
    start, growing linearly to ``max_numbers`` at ``curriculum`` of the budget."""
    grown = 1.0 if cfg.curriculum <= 0 else min(1.0, done / cfg.curriculum)
    low = min(2, cfg.max_numbers)
    return low + round((cfg.max_numbers - low) * grown)


def build(cfg: TrainConfig) -> GPT:
    """A freshly initialised model for ``cfg``."""
    from hakaru.hbpo.model import GPT, GPTConfig

    if cfg.task == "hanoi":
        from hakaru.neural.hanoi_data import build_hanoi

        return build_hanoi(cfg.n_layer, cfg.n_head, cfg.n_embd)

    tok = SumTokenizer()
    block = tok.prompt_length(cfg.context_numbers) + ANSWER_TOKENS
    return GPT(GPTConfig(len(tok), block, cfg.n_layer, cfg.n_head, cfg.n_embd))


def train(
    cfg: TrainConfig, *, log: Callable[[str], None] | None = None, log_every: int = 100
) -> TrainResult:
    """Train a model for ``cfg`` and evaluate it on the held-out set."""
    import torch
    from torch.nn import functional as F

    torch.set_num_threads(max(1, cfg.threads))
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = build(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    model.train()
    start, budget = time.monotonic(), cfg.minutes * 60
    losses: list[float] = []
    window = 0.0
    step = 0
    while step < cfg.steps:
        done = max(step / cfg.steps, (time.monotonic() - start) / budget)
        if done >= 1:
            break
        warm = min(1.0, (step + 1) / min(200, max(1, cfg.steps // 5)))  # linear warm-up
        for group in opt.param_groups:
            group["lr"] = cfg.lr * warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * done)))
        if cfg.task == "hanoi":
            x, y = hanoi_batch(cfg.batch, gen)
        else:
            x, y = training_batch(cfg.batch, k_max(cfg, done), gen)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        window += float(loss.detach())
        if step % log_every == 0:
            losses.append(window / log_every)
            window = 0.0
            if log:
                elapsed = time.monotonic() - start
                log(f"step {step} loss {losses[-1]:.4f} ({elapsed:.0f}s)")
    if step % log_every:
        losses.append(window / (step % log_every))
    seconds = time.monotonic() - start
    if cfg.task == "hanoi":
        accuracy, by_disks = evaluate_hanoi(model, cfg.held_out)
        return TrainResult(model, step, seconds, losses, accuracy, by_disks)
    accuracy = evaluate(model, cfg.held_out, cfg.max_numbers)
    return TrainResult(model, step, seconds, losses, accuracy)


def evaluate(model: GPT, count: int, max_numbers: int = 8, batch: int = 256) -> float:
    """Exact-answer accuracy of greedy decoding on the first ``count`` held-out examples."""
    from hakaru.neural.generate import greedy

    tok = SumTokenizer()
    examples = held_out(count, max_numbers)
    by_k: dict[int, list[int]] = {}
    for i, ex in enumerate(examples):
        by_k.setdefault(len(ex.numbers), []).append(i)
    right = 0
    for rows in by_k.values():
        for at in range(0, len(rows), batch):
            chunk = [examples[i] for i in rows[at : at + batch]]
            prompts = [tok.encode_numbers(ex.numbers) for ex in chunk]
            outs = greedy(model, prompts, max_new=ANSWER_TOKENS, eos=tok.eos)
            right += sum(
                tok.answer_text(out) == f"sum = {ex.answer}"
                for out, ex in zip(outs, chunk, strict=True)
            )
    return right / count if count else 0.0
