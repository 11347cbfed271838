"""The trained weights of a neural model and its model card: where they live, how they load.

A weights file is one ``torch.save`` dict: ``format``, ``task``, ``model`` (the GPT config as a
dict) and ``state`` (the state dict); beside it ``<name>.json`` is the model card (data, steps,
seed, held-out accuracy, the command that trained it). The committed models live in
``hakaru/neural/weights/`` (``neural-sum.pt``). Every failure to load is a
:class:`~hakaru.errors.ConfigError` of one line that says what to do.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hakaru.errors import ConfigError

if TYPE_CHECKING:
    from hakaru.hbpo.model import GPT

__all__ = [
    "FORMAT",
    "WEIGHTS_DIR",
    "card_path",
    "default_weights",
    "load_card",
    "load_weights",
    "require_torch",
    "save_weights",
]

FORMAT = 1
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def require_torch() -> None:
    """Raise a clear error when torch is not installed."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ConfigError(
            "The neural model needs torch, which is not installed. "
            "Install the extra: pip install 'hakaru[train]'"
        ) from None


def default_weights(task: str) -> Path:
    """The committed weights of ``neural-<task>``."""
    return WEIGHTS_DIR / f"neural-{task}.pt"


def card_path(weights: str | Path) -> Path:
    return Path(weights).with_suffix(".json")


def save_weights(path: str | Path, model: GPT, task: str, card: dict[str, Any]) -> None:
    """Write the weights (atomically) and the model card beside them."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": FORMAT, "task": task, "model": asdict(model.cfg)}
    state["state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    card_path(path).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")


def _retrain(task: str, path: Path) -> str:
    return f"Train it: hakaru neural train {task} --out {path}"


def load_weights(path: str | Path, task: str) -> GPT:
    """The model stored at ``path``, which must have been trained for ``task``."""
    require_torch()
    import torch

    from hakaru.hbpo.model import GPT, GPTConfig

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"No neural weights at {path}. {_retrain(task, path)}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError("not a hakaru neural weights file")
        trained_for = state["task"]
        if trained_for != task:
            raise ConfigError(
                f"The weights at {path} were trained for task '{trained_for}', not '{task}'. "
                f"Use --model neural-{trained_for}, or {_retrain(task, path)}"
            )
        model = GPT(GPTConfig(**state["model"]))
        model.load_state_dict(state["state"])
    except ConfigError:
        raise
    except Exception as exc:  # torch raises many kinds on a damaged file
        reason = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"The neural weights at {path} are corrupt or unreadable ({reason}). "
            f"{_retrain(task, path)}"
        ) from None
    model.eval()
    return model


def load_card(path: str | Path) -> dict[str, Any]:
    """The model card beside the weights at ``path``."""
    card = card_path(path)
    try:
        data: dict[str, Any] = json.loads(card.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read the model card {card} ({exc}).") from None
    return data
