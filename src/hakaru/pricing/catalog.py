"""Prices of real model names from the ``genai-prices`` package's bundled snapshot.

genai-prices (Pydantic's maintained price table of LLM providers) ships its data inside the
package; hakaru reads only that snapshot and never calls its updater, so pricing works offline
and gives the same figures every time for one installed version. The snapshot's per-model
prices — per-class rates in USD per 1M tokens, sometimes with long-context tiers — become a
:class:`~hakaru.pricing.prices.Prices`; a name it does not know gives ``None`` (unknown, never
$0). The package is imported on the first lookup only (about 0.2 s), so runs on the simulated
models never load it.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from hakaru.pricing.prices import Prices

__all__ = ["catalog_prices", "catalog_version"]

# genai-prices' price keys for each class (the first one present wins).
_KEYS = {
    "input": ("input_mtok",),
    "cache_read": ("cache_read_mtok",),
    "cache_write": ("cache_write_5m_mtok", "cache_write_mtok"),
    "output": ("output_mtok",),
    "reasoning": ("output_reasoning_mtok",),
}


def catalog_version() -> str | None:
    """The installed genai-prices version, or ``None`` when it is not installed."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("genai-prices")
    except PackageNotFoundError:
        return None


def _rate(value: Any, start: int | None) -> float:
    """A price key's rate (USD per 1M) for calls above ``start`` input tokens (``None``: the
    base rate); a tiered rate is the last tier starting at or below ``start``."""
    tiers = getattr(value, "tiers", None)
    if tiers is None:
        return float(value)
    steps = [t for t in tiers if start is not None and t.start <= start]
    return float(steps[-1].price if steps else value.base)


def _prices_at(model_price: Any, start: int | None, source: str) -> Prices | None:
    """The :class:`Prices` of a genai-prices ``ModelPrice`` for calls above ``start``."""
    rates: dict[str, float | None] = {}
    for name, keys in _KEYS.items():
        value = next((v for k in keys if (v := getattr(model_price, k, None)) is not None), None)
        rates[name] = None if value is None else _rate(value, start)
    if rates["input"] is None or rates["output"] is None:  # priced per request…: not ours
        return None
    return Prices.of(
        rates["input"],
        rates["output"],
        cache_read=rates["cache_read"],
        cache_write=rates["cache_write"],
        reasoning=rates["reasoning"],
        source=source,
    )


@functools.lru_cache(maxsize=1024)
def catalog_prices(model: str) -> Prices | None:
    """The snapshot's prices of ``model`` today, or ``None`` when it does not know the name.

    >>> catalog_prices("gpt-4.1-mini").rates  # doctest: +SKIP
    (0.4, 0.1, 0.4, 1.6, 1.6)
    """
    version = catalog_version()
    if version is None or not model:
        return None
    from genai_prices import data_snapshot

    try:
        _, info = data_snapshot.get_snapshot().find_provider_model(model, None, None, None)
    except LookupError:
        return None
    model_price = info.get_prices(datetime.now(tz=UTC))
    source = f"genai-prices {version} ({info.id})"
    base = _prices_at(model_price, None, source)
    if base is None:
        return None
    # genai-prices tiers each key on the call's whole input ("cliff" pricing); a tier of
    # hakaru's holds every class's rate from one start on.
    starts = sorted(
        {
            t.start
            for keys in _KEYS.values()
            for key in keys
            for t in getattr(getattr(model_price, key, None), "tiers", None) or ()
        }
    )
    tiers = tuple(
        (start, tier)
        for start in starts
        if (tier := _prices_at(model_price, start, source)) is not None
    )
    return replace(base, tiers=tiers) if tiers else base
