"""One flat configuration for the HBPO reproduction: task, model, SFT, RL, evaluation, run.

Like nanoGPT's config files, every knob is a field with its default and a comment saying what
it means and why it has that value; ``Config.from_dict`` rejects keys that do not exist, so a
typo in a config file is an error rather than a silently ignored setting. Lengths are tokens of
the toy vocabulary (:mod:`hakaru.hbpo.task`). Scale: the paper trains with a 4,096-token window
and budgets {512, 1024, 2048, 2560}; here the window is 128 and the budgets keep the paper's
ratios to it (1/8, 1/4, 1/2, 5/8).

>>> cfg = Config()
>>> cfg.budgets, cfg.l_max, cfg.rollouts_per_budget()
((16, 32, 64, 80), 128, (4, 4, 4, 4))
>>> Config.from_dict({"l_max": 64, "budgets": [8, 16, 32, 40]}).alpha_value()
0.015625
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from hakaru.errors import ConfigError

__all__ = ["METHODS", "Config", "check_budgets", "preset"]

METHODS = ("grpo", "cosine", "hbpo")  # classic GRPO, GRPO + cosine length reward, HBPO


@dataclass(frozen=True)
class Config:
    """Every setting of the reproduction (see the module docstring); build with ``from_dict``."""

    # -- task: iterated lookup f^k(x0) over a random table (hakaru.hbpo.task) -----------------
    n_symbols: int = 10  # table size: f maps {0..9} -> {0..9}; chance accuracy is 1/10
    k_min: int = 1  # fewest lookup steps (the easiest difficulty)
    k_max: int = 24  # most lookup steps (the hardest difficulty)
    # SFT style mix (direct, stride4, stride2, compact, verbose): mostly verbose, so the
    # supervised model "overthinks" like a distilled reasoning model, while the short styles
    # stay in-distribution for RL to explore (hakaru's design, experiments/hbpo/README.md).
    style_mix: tuple[float, ...] = (0.04, 0.04, 0.07, 0.15, 0.70)
    # Share of SFT responses that open with a budget token. 1.0: the model always announces a
    # budget, so in natural mode it *picks* one (what HBPO trains through the forced token).
    sft_budget_frac: float = 1.0
    sft_budget_tilt: float = 3.0  # weight x for styles that fit that budget (a weak hint only)

    # -- window and budgets (paper §3.1: L_max = 4096, B = {512, 1024, 2048, 2560}) ----------
    l_max: int = 128  # response window in training (tokens); longer rollouts are cut, reward 0
    budgets: tuple[int, ...] = (16, 32, 64, 80)  # paper ratios 1/8, 1/4, 1/2, 5/8 of l_max
    budget_counts: tuple[int, ...] | None = None  # rollouts per budget; None = even split
    beta: float = 4.0  # reward scale β (paper code: 4)
    alpha: float | None = None  # deviation sensitivity α; None = 1/l_max (the paper's choice)
    intra_weight: float = 1.0  # weight of A_intra: 1 = the paper; 2 = released code; 0 = ablation

    # -- model: a nanoGPT-style decoder (hakaru.hbpo.model) --------------------------------
    n_layer: int = 3  # transformer blocks
    n_head: int = 4  # attention heads per block
    n_embd: int = 96  # model width (~0.39M parameters with these three settings)
    dropout: float = 0.0  # none: the data are generated fresh, there is nothing to overfit

    # -- supervised warm-up (hakaru.hbpo.sft) -------------------------------------------------
    sft_steps: int = 2000  # optimizer steps
    sft_batch: int = 64  # sequences per step (generated on the fly, never repeated)
    sft_lr: float = 2e-3  # peak AdamW learning rate (cosine decay to 1/10, linear warm-up)
    sft_warmup: int = 100  # warm-up steps
    weight_decay: float = 0.01  # AdamW weight decay in SFT (RL uses none, as verl's default)

    # -- RL: GRPO / GRPO+cosine / HBPO (hakaru.hbpo.trainer) ----------------------------------
    rl_steps: int = 300  # rollout batches per method (x minibatches optimizer steps)
    prompts_per_step: int = 16  # prompts per rollout batch (the paper: 64)
    group_size: int = 16  # rollouts per prompt (the paper: 16 = 4 budgets x 4)
    minibatches: int = 4  # optimizer steps per rollout batch, one pass (verl: 64/16 = 4)
    rl_lr: float = 1e-4  # AdamW, constant: largest of 5e-5, 1e-4, 2e-4 keeping GRPO stable
    temperature: float = 1.0  # rollout sampling temperature (verl's default)
    eps_low: float = 0.2  # clip ratio below 1 (DAPO / paper)
    eps_high: float = 0.28  # clip ratio above 1 (DAPO "clip-higher" / paper)
    grad_clip: float = 1.0  # max gradient norm (verl's default)
    val_every: int = 10  # steps between validation passes during RL (greedy, fixed prompts)
    val_prompts: int = 120  # validation prompts (spread evenly over k)

    # -- evaluation (hakaru.hbpo.experiment) -------------------------------------------------
    eval_per_k: int = 40  # fresh prompts per difficulty k (x 24 k = 960 per method)
    eval_max_new: int = 160  # generation cap at test time (> l_max, like 32K eval vs 4K train)
    eval_seed: int = 12345  # seed of the evaluation prompts (never used for training)

    # -- run ---------------------------------------------------------------------------------
    seed: int = 0  # seeds SFT data, initial weights and every rollout batch
    threads: int = 2  # torch CPU threads (the target machine has 2 cores)
    checkpoint_every: int = 10  # RL steps between checkpoints (SFT: every 10x as many steps)
    log_every: int = 10  # steps between log lines
    methods: tuple[str, ...] = METHODS  # which RL methods the experiment trains

    def __post_init__(self) -> None:
        check_budgets(self.budgets, self.l_max)
        self.rollouts_per_budget()  # validates group_size / budget_counts
        if not 1 <= self.k_min <= self.k_max:
            raise ConfigError(
                f"k_min {self.k_min} and k_max {self.k_max} do not make a range. "
                "Give 1 <= k_min <= k_max."
            )
        if not 2 <= self.n_symbols <= 10:
            raise ConfigError(f"n_symbols is {self.n_symbols}. Give 2 to 10 (digit tokens).")
        if (
            len(self.style_mix) != 5
            or any(w < 0 for w in self.style_mix)
            or sum(self.style_mix) <= 0
        ):
            raise ConfigError(
                f"style_mix {self.style_mix} is not 5 non-negative weights (direct, stride4, "
                "stride2, compact, verbose) with a positive sum."
            )
        if self.n_embd % self.n_head:
            raise ConfigError(
                f"n_embd {self.n_embd} is not divisible by n_head {self.n_head}. "
                "Give a width that is a multiple of the number of heads."
            )
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ConfigError(
                f"Unknown method(s) {', '.join(unknown) or '(none given)'}. "
                f"Choose from {', '.join(METHODS)}."
            )
        if self.prompts_per_step * self.group_size % self.minibatches:
            raise ConfigError(
                f"{self.prompts_per_step * self.group_size} rollouts per step do not split into "
                f"{self.minibatches} minibatches. Make prompts_per_step x group_size a multiple."
            )
        if self.eval_max_new < self.l_max:
            raise ConfigError(
                f"eval_max_new {self.eval_max_new} is below l_max {self.l_max}. "
                "Evaluate with at least the training window."
            )

    # -- derived values ----------------------------------------------------------------------

    def alpha_value(self) -> float:
        """α, resolving ``None`` to 1/l_max (the released code's 1/4096; docs/papers.md)."""
        return 1.0 / self.l_max if self.alpha is None else self.alpha

    def rollouts_per_budget(self) -> tuple[int, ...]:
        """Rollouts of one group under each budget: the even split unless ``budget_counts``."""
        k = len(self.budgets)
        if self.budget_counts is None:
            if self.group_size % k:
                raise ConfigError(
                    f"group_size {self.group_size} is not divisible by the {k} budgets. "
                    f"Give a multiple of {k} so that every budget gets the same number of "
                    "rollouts (or list them in budget_counts)."
                )
            return (self.group_size // k,) * k
        counts = tuple(self.budget_counts)
        if len(counts) != k or any(c <= 0 for c in counts) or sum(counts) != self.group_size:
            raise ConfigError(
                f"budget_counts {counts} are not a partition of the {self.group_size} rollouts "
                f"of a group over {k} budgets. Give one count > 0 per budget, summing to "
                "group_size."
            )
        return counts

    @property
    def prompt_len(self) -> int:
        """Prompt tokens: <bos>, the table, x0, the step token, <think>."""
        return self.n_symbols + 4

    @property
    def block_size(self) -> int:
        """Positions the model needs: the prompt plus the longest generation."""
        return self.prompt_len + max(self.eval_max_new, self.l_max)

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: Config | None = None) -> Config:
        """A config from a mapping (a JSON file), on top of ``base``; unknown keys are errors.

        >>> Config.from_dict({"lr": 1e-3})
        Traceback (most recent call last):
        ...
        hakaru.errors.ConfigError: Unknown config key: 'lr'. Known keys: alpha, beta, budget_counts, budgets, checkpoint_every, dropout, eps_high, eps_low, eval_max_new, eval_per_k, eval_seed, grad_clip, group_size, intra_weight, k_max, k_min, l_max, log_every, methods, minibatches, n_embd, n_head, n_layer, n_symbols, prompts_per_step, rl_lr, rl_steps, seed, sft_batch, sft_budget_frac, sft_budget_tilt, sft_lr, sft_steps, sft_warmup, style_mix, temperature, threads, val_every, val_prompts, weight_decay.
        """  # noqa: E501
        known = {f.name: f for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ConfigError(
                    f"Unknown config key: '{key}'. Known keys: {', '.join(sorted(known))}."
                )
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return replace(base or cls(), **values)

    @classmethod
    def load(cls, path: str | Path, base: Config | None = None) -> Config:
        """A config from a JSON file (see :meth:`from_dict`)."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"Cannot read config file {path}: {exc}. Give a JSON object."
            ) from None
        if not isinstance(data, dict):
            raise ConfigError(f"Config file {path} does not hold a JSON object.")
        return cls.from_dict(data, base)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict that ``from_dict`` reads back to an equal config."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def check_budgets(budgets: tuple[int, ...] | list[int], l_max: int) -> None:
    """Raise :class:`ConfigError` unless ``budgets`` are positive, ascending and <= ``l_max``.

    >>> check_budgets((512, 1024, 2048, 2560), 4096)
    >>> check_budgets((0, 16), 128)
    Traceback (most recent call last):
    ...
    hakaru.errors.ConfigError: Budget 0 is not positive. Give every budget as a number of tokens > 0.
    """  # noqa: E501
    if l_max <= 0:
        raise ConfigError(f"The window l_max is {l_max}. Give a positive number of tokens.")
    if not budgets:
        raise ConfigError("No budgets given. Give at least one budget in tokens.")
    for b in budgets:
        if not isinstance(b, int) or isinstance(b, bool):
            raise ConfigError(f"Budget {b!r} is not a whole number of tokens.")
        if b <= 0:
            raise ConfigError(
                f"Budget {b} is not positive. Give every budget as a number of tokens > 0."
            )
        if b > l_max:
            raise ConfigError(
                f"Budget {b} is above the window l_max = {l_max} tokens. Give budgets <= l_max."
            )
    if any(b >= c for b, c in itertools.pairwise(budgets)):
        raise ConfigError(
            f"Budgets {tuple(budgets)} are not strictly ascending. "
            "List each budget once, smallest first."
        )


_PRESETS: dict[str, dict[str, Any]] = {
    "full": {},
    # a few minutes on 2 cores: the whole pipeline, much shorter training, fewer eval prompts
    "quick": {
        "sft_steps": 300,
        "rl_steps": 6,
        "prompts_per_step": 8,
        "eval_per_k": 4,
        "val_prompts": 48,
        "val_every": 3,
        "checkpoint_every": 3,
        "log_every": 2,
    },
    # CI: a tiny model on a small window; mechanics only, no science (< a few seconds per stage)
    "smoke": {
        "k_max": 6,
        "l_max": 32,
        "budgets": (4, 8, 16, 20),
        "n_layer": 2,
        "n_head": 2,
        "n_embd": 32,
        "sft_steps": 120,
        "sft_batch": 32,
        "sft_lr": 3e-3,
        "sft_warmup": 5,
        "rl_steps": 3,
        "prompts_per_step": 2,
        "group_size": 8,
        "minibatches": 2,
        "val_every": 2,
        "val_prompts": 12,
        "eval_per_k": 3,
        "eval_max_new": 40,
        "checkpoint_every": 2,
        "log_every": 1,
        "threads": 1,
    },
}


def preset(name: str) -> Config:
    """A named configuration: ``full`` (the reproduction), ``quick`` or ``smoke`` (CI).

    >>> preset("smoke").l_max
    32
    """
    try:
        return Config.from_dict(_PRESETS[name])
    except KeyError:
        raise ConfigError(f"Unknown preset '{name}'. Choose from {', '.join(_PRESETS)}.") from None
