"""Checkpoints: model weights with the config that made them, written atomically.

A checkpoint is one ``torch.save`` file holding ``config`` (the :class:`Config` as a dict),
``model`` (the state dict) and whatever training state the writer adds (``step``, the
optimizer, the metrics so far). It is written to a temporary name and renamed, so a run killed
mid-write leaves the previous checkpoint intact and resuming never reads half a file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hakaru.errors import ConfigError
from hakaru.hbpo.config import Config
from hakaru.hbpo.task import Vocab

if TYPE_CHECKING:
    from hakaru.hbpo.model import GPT

__all__ = ["build_model", "load", "load_model", "save", "set_threads", "vocab_of"]


def vocab_of(cfg: Config) -> Vocab:
    """The token vocabulary a config implies."""
    return Vocab(k_max=cfg.k_max, budgets=cfg.budgets, n_symbols=cfg.n_symbols)


def build_model(cfg: Config) -> GPT:
    """A freshly initialised model for ``cfg`` (seed torch first for reproducible weights)."""
    from hakaru.hbpo.model import GPT, GPTConfig

    return GPT(
        GPTConfig(
            vocab_size=len(vocab_of(cfg)),
            block_size=cfg.block_size,
            n_layer=cfg.n_layer,
            n_head=cfg.n_head,
            n_embd=cfg.n_embd,
            dropout=cfg.dropout,
        )
    )


def set_threads(n: int) -> None:
    """Use ``n`` CPU threads in torch (the reproduction targets 2 cores)."""
    import torch

    torch.set_num_threads(max(1, n))


def save(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (temporary file, then rename)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save`."""
    import torch

    try:
        state: dict[str, Any] = torch.load(Path(path), map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise ConfigError(f"No checkpoint at {path}. Train the model first.") from None
    return state


def load_model(path: str | Path) -> tuple[GPT, Config]:
    """The model of a checkpoint and the config it was trained with."""
    state = load(path)
    cfg = Config.from_dict(state["config"])
    model = build_model(cfg)
    model.load_state_dict(state["model"])
    return model, cfg
