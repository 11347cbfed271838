"""Sizes given on the command line: ``--sizes 4,8,16`` (sizes to run) and ``--at 1e6`` (sizes to
predict at)."""

from __future__ import annotations

from collections.abc import Sequence

from hakaru.errors import ConfigError


def parse_sizes(text: str, option: str) -> list[int]:
    """``"4,8,16"`` → ``[4, 8, 16]``; anything else is a clear error naming the option."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(
            f"{option} '{text}' is not a comma-separated list of integers. Write e.g. 8,16,32"
        ) from None
    if not sizes or min(sizes) < 1:
        raise ConfigError(f"{option} '{text}' needs positive integers. Write e.g. 8,16,32")
    return sizes


def parse_prediction_sizes(values: Sequence[str]) -> list[float]:
    """``--at`` values (``1000000``, ``1e6``, ``1_000_000``) as positive sizes."""
    out = []
    for text in values:
        try:
            n = float(text.replace("_", "").replace(",", ""))
        except ValueError:
            raise ConfigError(
                f"--at '{text}' is not a number. Give a size, e.g. --at 1e6"
            ) from None
        if not n > 0:
            raise ConfigError(f"--at {text} is not a positive size. Give e.g. --at 1e6")
        out.append(n)
    return out
