"""Prices per token class: the rates (``Prices``), where they come from (``PriceBook``: model
spec → price file → the genai-prices snapshot → unknown); the user's price file is read by
:mod:`hakaru.pricing.price_file` (imported when used: it needs pydantic)."""

from hakaru.pricing.book import PriceBook, PriceSource
from hakaru.pricing.catalog import catalog_prices
from hakaru.pricing.prices import TOKEN_CLASSES, Prices, TokenCounts, class_tokens, dollars_of

__all__ = [
    "TOKEN_CLASSES",
    "PriceBook",
    "PriceSource",
    "Prices",
    "TokenCounts",
    "catalog_prices",
    "class_tokens",
    "dollars_of",
]
