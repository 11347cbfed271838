"""A user's price file (``--prices FILE``): model names → USD per token class, TOML or JSON.

Users supply it, so it is validated with pydantic and every mistake is one
:class:`~hakaru.errors.ConfigError` line naming the file, the model and the key: an unknown key,
a negative or non-numeric price, a missing input or output rate, a unit hakaru does not know.
Nothing in it is guessed. The form (TOML; JSON is the same object)::

    unit = "USD per 1M tokens"        # optional; or "USD per 1K tokens", "USD per token"

    ["gpt-4.1-mini"]
    input = 0.40                      # uncached input
    output = 1.60
    cache_read = 0.10                 # optional: the input rate when left out
    cache_write = 0.50                # optional: the input rate (5-minute writes)
    reasoning = 1.60                  # optional: the output rate
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from hakaru.errors import ConfigError
from hakaru.pricing.prices import Prices

__all__ = ["UNITS", "load_price_file", "parse_prices"]

#: The units a price file may state, and the factor to USD per 1M tokens.
UNITS: dict[str, float] = {
    "USD per 1M tokens": 1.0,
    "USD per 1K tokens": 1e3,
    "USD per token": 1e6,
}


class _Entry(BaseModel):
    """One model's rates as the file gives them (in the file's unit)."""

    model_config = ConfigDict(extra="forbid", strict=False)

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None

    @field_validator("*")
    @classmethod
    def _price(cls, value: float | None) -> float | None:
        if value is not None and (not math.isfinite(value) or value < 0):
            raise ValueError("a price must be a finite number >= 0")
        return value


def _one_line(exc: ValidationError) -> str:
    """The first problem pydantic found, as ``key: what``."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "entry"
    if err["type"] == "extra_forbidden":
        known = ", ".join(_Entry.model_fields)
        return f"unknown key '{where}' (known keys: {known})"
    if err["type"] == "missing":
        return f"the '{where}' rate is missing"
    return f"'{where}': {err['msg'].removeprefix('Value error, ')}"


def parse_prices(data: Mapping[str, Any], source: str = "price file") -> dict[str, Prices]:
    """The prices of a price file's parsed content (see the module docstring).

    >>> parse_prices({"unit": "USD per 1K tokens", "m": {"input": 0.001, "output": 0.002}})["m"]
    Prices(input=1.0, cache_read=1.0, cache_write=1.0, output=2.0, reasoning=2.0, tiers=())
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"The {source} is not a table of models. See docs/pricing.md.")
    rest = dict(data)
    unit = rest.pop("unit", "USD per 1M tokens")
    if unit not in UNITS:
        raise ConfigError(
            f"The {source} gives prices in '{unit}', a unit hakaru does not know. Use one of: "
            + ", ".join(f"'{u}'" for u in UNITS)
            + "."
        )
    factor = UNITS[unit]
    out: dict[str, Prices] = {}
    for model, entry in rest.items():
        if not isinstance(entry, Mapping):
            raise ConfigError(
                f"The {source} gives '{model}' as {entry!r}, not a table of rates. Write "
                f'["{model}"] with input = … and output = … under it.'
            )
        try:
            parsed = _Entry.model_validate(dict(entry))
        except ValidationError as exc:
            raise ConfigError(f"The {source}, model '{model}': {_one_line(exc)}.") from None

        def scaled(value: float | None) -> float | None:
            return None if value is None else value * factor

        out[str(model)] = Prices.of(
            parsed.input * factor,
            parsed.output * factor,
            cache_read=scaled(parsed.cache_read),
            cache_write=scaled(parsed.cache_write),
            reasoning=scaled(parsed.reasoning),
            source=source,
        )
    return out


def load_price_file(path: str | Path) -> dict[str, Prices]:
    """The prices in a TOML (``.toml``) or JSON file; one clear error for anything wrong."""
    path = Path(path)
    shown = f"price file {path}"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the price file {path}: {exc.strerror}. Give an existing TOML or JSON "
            "file with --prices."
        ) from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            data = tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise ConfigError(
            f"The {shown} is not valid {kind}: {exc}. Fix it (see docs/pricing.md)."
        ) from None
    return parse_prices(data, shown)
