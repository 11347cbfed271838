"""Parsing of comma-separated size lists (``--sizes 4,8,16``)."""

from __future__ import annotations

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
