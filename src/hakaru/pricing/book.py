"""Where a model's prices come from: a :class:`PriceBook` resolves each name once.

The order, first found wins: the :class:`~hakaru.types.ModelSpec` the caller gave (its
``price_*`` fields), the user's price file (``--prices FILE``), the genai-prices snapshot
(:mod:`hakaru.pricing.catalog`), else *unknown* — ``None``, which every total reports as unpriced
calls and incomplete dollars, never as $0. A session, the recording proxy and capture each hold
one book, so a model is looked up once per run however many calls it makes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from hakaru.pricing.catalog import catalog_prices
from hakaru.pricing.prices import Prices

if TYPE_CHECKING:
    from hakaru.types import ModelSpec

__all__ = ["PriceBook", "PriceSource"]

PriceSource = Mapping[str, Prices] | str | Path | None


class PriceBook:
    """Prices per model name, resolved once each.

    ``prices`` is a user's table (model → :class:`Prices`) or the path of a price file;
    ``catalog=False`` leaves genai-prices out (only specs and the table price anything).

    >>> book = PriceBook({"my-model": Prices.of(1.0, 2.0)})
    >>> book.resolve("my-model").output, book.resolve("nobody-knows-this-model")
    (2.0, None)
    """

    def __init__(self, prices: PriceSource = None, *, catalog: bool = True) -> None:
        if isinstance(prices, str | Path):
            from hakaru.pricing.price_file import load_price_file  # pydantic: only when used

            prices = load_price_file(prices)
        self._table: dict[str, Prices] = dict(prices or {})
        self._catalog = catalog
        self._known: dict[str, Prices | None] = {}

    def resolve(self, model: str, spec: ModelSpec | None = None) -> Prices | None:
        """The prices of ``model`` (``spec`` first, when it states them); ``None``: unknown."""
        known = self._known
        if model in known:
            return known[model]
        found = spec.prices if spec is not None else None
        if found is None:
            found = self._table.get(model)
        if found is None and self._catalog:
            found = catalog_prices(model)
        known[model] = found
        return found

    def resolved(self) -> dict[str, Prices | None]:
        """Every name looked up so far and what it resolved to."""
        return dict(self._known)
