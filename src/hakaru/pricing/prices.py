"""What one model's tokens cost: a :class:`Prices` value, one rate per token class.

A call's tokens fall into five classes that never overlap (hakaru counts each token once):

- ``uncached_input``  prompt tokens neither read from nor written to a prompt cache
- ``cache_read``      prompt tokens read from the provider's prompt cache
- ``cache_write``     prompt tokens written to it (Anthropic's ``cache_creation_input_tokens``)
- ``output``          generated tokens other than reasoning ones
- ``reasoning``       generated reasoning (thinking) tokens

A record keeps ``input_tokens`` (every prompt token: the AALP cost's n) and ``output_tokens``
(every generated token, reasoning included), and of those the cache and reasoning counts; the
two remaining classes follow by subtraction. Rates are USD per 1M tokens, as providers publish
them. A rate left out falls back to the one a provider bills when it has no separate rate: cache
reads and writes at the input rate, reasoning at the output rate. Cache writes are priced at
the 5-minute rate; Anthropic bills 1-hour writes at 2× the input rate instead of 1.25×, which a
record does not tell apart (both arrive as ``cache_creation_input_tokens``).

Some providers price a whole call at a higher rate once its prompt passes a threshold
(Anthropic's and Google's long-context tiers: "cliff" pricing, every token at the tier's rate).
``tiers`` holds those as ``(above, Prices)``: the tier applies when the call's input tokens,
cache included, exceed ``above``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hakaru.errors import ConfigError

__all__ = ["TOKEN_CLASSES", "Prices", "TokenCounts", "class_tokens", "dollars_of"]

#: The token classes, in the order every breakdown shows them.
TOKEN_CLASSES: tuple[str, ...] = (
    "uncached_input",
    "cache_read",
    "cache_write",
    "output",
    "reasoning",
)


def class_tokens(
    input_tokens: int, output_tokens: int, reasoning: int, cache_read: int, cache_write: int
) -> tuple[int, int, int, int, int]:
    """The tokens of one call per class (:data:`TOKEN_CLASSES` order), from a record's counts.

    >>> class_tokens(1000, 200, 50, 400, 100)
    (500, 400, 100, 150, 50)
    """
    return (
        input_tokens - cache_read - cache_write,
        cache_read,
        cache_write,
        output_tokens - reasoning,
        reasoning,
    )


class TokenCounts(Protocol):
    """What has a call's token counts by class: a record, a :class:`~hakaru.types.Usage`."""

    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def reasoning_tokens(self) -> int: ...
    @property
    def cache_read_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...


def dollars_of(prices: Prices | None, tokens: TokenCounts) -> float | None:
    """USD of one call with these token counts at ``prices``; ``None`` when the model is
    priced nowhere (``prices`` is ``None``), which a total must not count as free.

    >>> from hakaru.types import Usage
    >>> round(dollars_of(Prices.of(input=0.4, output=1.6), Usage(1000, 200)), 9)
    0.00072
    >>> dollars_of(None, Usage(1000, 200)) is None
    True
    """
    if prices is None:
        return None
    return prices.dollars(
        tokens.input_tokens,
        tokens.output_tokens,
        tokens.reasoning_tokens,
        tokens.cache_read_tokens,
        tokens.cache_write_tokens,
    )


@dataclass(frozen=True, slots=True)
class Prices:
    """USD per 1M tokens of each token class, for one model.

    Build one with :meth:`of`, which fills in the rates a provider does not set apart.
    ``source`` says where the rates were found (a model spec, a price file, the genai-prices
    snapshot); it is shown beside the dollars, never used in arithmetic.

    >>> p = Prices.of(input=0.4, output=1.6, cache_read=0.1)
    >>> p.cache_write, p.reasoning                      # fall back to input and output
    (0.4, 1.6)
    >>> round(p.dollars(1000, 200, 0, 400, 0), 9)     # 600·0.4 + 400·0.1 + 200·1.6, per 1M
    0.0006
    """

    input: float  # USD per 1M uncached input tokens
    cache_read: float  # USD per 1M
    cache_write: float  # USD per 1M, 5-minute writes
    output: float  # USD per 1M output tokens (reasoning excepted)
    reasoning: float  # USD per 1M
    tiers: tuple[tuple[int, Prices], ...] = ()  # (above input tokens, prices), ascending
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name, value in zip(TOKEN_CLASSES, self.rates, strict=True):
            if isinstance(value, bool) or not (
                isinstance(value, int | float) and math.isfinite(value) and value >= 0
            ):
                raise ConfigError(
                    f"The {name} price {value!r} is not a number >= 0. Give USD per 1M tokens."
                )
        starts = [above for above, _ in self.tiers]
        if starts != sorted(starts) or any(above < 0 for above in starts):
            raise ConfigError("Price tiers must start at ascending token counts >= 0.")

    @classmethod
    def of(
        cls,
        input: float,
        output: float,
        *,
        cache_read: float | None = None,
        cache_write: float | None = None,
        reasoning: float | None = None,
        tiers: tuple[tuple[int, Prices], ...] = (),
        source: str = "",
    ) -> Prices:
        """Prices with cache reads and writes at the input rate and reasoning at the output
        rate unless given."""
        return cls(
            input,
            input if cache_read is None else cache_read,
            input if cache_write is None else cache_write,
            output,
            output if reasoning is None else reasoning,
            tiers,
            source,
        )

    @property
    def rates(self) -> tuple[float, float, float, float, float]:
        """USD per 1M tokens per class, in :data:`TOKEN_CLASSES` order."""
        return (self.input, self.cache_read, self.cache_write, self.output, self.reasoning)

    def at(self, input_tokens: int) -> Prices:
        """The prices that apply to a call with ``input_tokens`` prompt tokens (its tier)."""
        chosen = self
        for above, prices in self.tiers:
            if input_tokens > above:
                chosen = prices
        return chosen

    def split(self, input_tokens: int, counts: tuple[int, ...]) -> tuple[float, ...]:
        """USD of one call per class, from its tokens per class (:func:`class_tokens`) and its
        input tokens (which choose the tier)."""
        rates = self.at(input_tokens).rates
        return tuple(n * r / 1e6 for n, r in zip(counts, rates, strict=True))

    def dollars(
        self,
        input_tokens: int,
        output_tokens: int,
        reasoning: int,
        cache_read: int,
        cache_write: int,
    ) -> float:
        """USD of one call with these counts (input includes the cache classes, output the
        reasoning tokens, as in a record)."""
        p = self.at(input_tokens) if self.tiers else self
        return (
            (input_tokens - cache_read - cache_write) * p.input
            + cache_read * p.cache_read
            + cache_write * p.cache_write
            + (output_tokens - reasoning) * p.output
            + reasoning * p.reasoning
        ) / 1e6

    def worst(self, input_tokens: int, output_tokens: int) -> float:
        """The most USD a call may cost with at most these counts (for budget reservations):
        every input token at the dearest input rate and every output token at the dearer of
        the output and reasoning rates, of any tier."""
        every = (self, *(p for _, p in self.tiers))
        n_rate = max(max(p.input, p.cache_read, p.cache_write) for p in every)
        o_rate = max(max(p.output, p.reasoning) for p in every)
        return (input_tokens * n_rate + output_tokens * o_rate) / 1e6

    def as_dict(self) -> dict[str, Any]:
        """The rates as JSON (``tiers`` as ``[[above, {rates}], …]``)."""
        out: dict[str, Any] = {
            "input": self.input,
            "cache_read": self.cache_read,
            "cache_write": self.cache_write,
            "output": self.output,
            "reasoning": self.reasoning,
        }
        if self.tiers:
            out["tiers"] = [[above, p.as_dict()] for above, p in self.tiers]
        if self.source:
            out["source"] = self.source
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Prices:
        """The inverse of :meth:`as_dict`."""
        tiers = tuple((int(above), cls.from_dict(p)) for above, p in data.get("tiers") or ())
        return cls.of(
            float(data["input"]),
            float(data["output"]),
            cache_read=data.get("cache_read"),
            cache_write=data.get("cache_write"),
            reasoning=data.get("reasoning"),
            tiers=tiers,
            source=str(data.get("source", "")),
        )
