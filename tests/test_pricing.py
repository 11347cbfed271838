"""Prices per token class: the rates, where they come from, and what totals say about them.

The figures of the genai-prices snapshot are read from the installed package (its bundled data,
never the network); the equality test prices the same usage both ways.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest
from genai_prices import Usage as GenaiUsage
from genai_prices import calc_price
from tests.fakes import ScriptedBackend

from hakaru import Budget, ConfigError, ModelSpec, Response, Session, Usage
from hakaru.ledger import Ledger
from hakaru.pricing import (
    TOKEN_CLASSES,
    PriceBook,
    Prices,
    catalog_prices,
    class_tokens,
    dollars_of,
)
from hakaru.pricing.price_file import load_price_file, parse_prices
from hakaru.store import RunStore
from hakaru.types import CallRecord

# -- the rates ---------------------------------------------------------------------------------


def test_classes_never_overlap() -> None:
    counts = class_tokens(1000, 200, 50, 400, 100)
    assert dict(zip(TOKEN_CLASSES, counts, strict=True)) == {
        "uncached_input": 500,
        "cache_read": 400,
        "cache_write": 100,
        "output": 150,
        "reasoning": 50,
    }
    assert sum(counts) == 1000 + 200  # every token once


def test_each_class_at_its_own_rate_and_the_split_adds_up() -> None:
    p = Prices.of(3.0, 15.0, cache_read=0.3, cache_write=3.75, reasoning=20.0)
    usd = p.dollars(1000, 200, 50, 400, 100)
    assert usd == pytest.approx((500 * 3 + 400 * 0.3 + 100 * 3.75 + 150 * 15 + 50 * 20) / 1e6)
    assert math.fsum(p.split(1000, class_tokens(1000, 200, 50, 400, 100))) == pytest.approx(usd)
    assert p.worst(1000, 200) >= usd


def test_dollars_of_a_record_or_a_usage_and_none_when_unpriced() -> None:
    p = Prices.of(3.0, 15.0, cache_read=0.3, cache_write=3.75, reasoning=20.0)
    usage = Usage(1000, 200, reasoning_tokens=50, cache_read_tokens=400, cache_write_tokens=100)
    record = CallRecord(
        1, (), "r", "m", input_tokens=1000, output_tokens=200, reasoning_tokens=50,
        cache_read_tokens=400, cache_write_tokens=100,
    )  # fmt: skip
    assert dollars_of(p, usage) == dollars_of(p, record) == p.dollars(1000, 200, 50, 400, 100)
    assert dollars_of(None, usage) is None  # unpriced is unknown, never free


def test_a_tier_prices_the_whole_call_above_its_threshold() -> None:
    p = Prices.of(3.0, 15.0, tiers=((200_000, Prices.of(6.0, 22.5)),))
    assert p.dollars(200_000, 10, 0, 0, 0) == pytest.approx((200_000 * 3 + 10 * 15) / 1e6)
    assert p.dollars(200_001, 10, 0, 0, 0) == pytest.approx((200_001 * 6 + 10 * 22.5) / 1e6)
    assert p.worst(1, 1) == pytest.approx((6 + 22.5) / 1e6)


def test_a_negative_rate_is_refused() -> None:
    with pytest.raises(ConfigError, match="The cache_read price -1 is not a number >= 0"):
        Prices.of(1.0, 1.0, cache_read=-1)


# -- the genai-prices snapshot -------------------------------------------------------------------


def test_gpt_4_1_mini_with_cache_reads_costs_what_genai_prices_says() -> None:
    """A session prices calls with cache-read tokens exactly as ``genai_prices.calc_price``
    prices the same usage (its ``input_tokens`` include the cache reads, as hakaru's do)."""
    usages = [(1200, 300, 0, 1024), (80, 20, 0, 0), (5000, 1000, 0, 4096)]

    def script(request: object, n: int) -> Response:
        n_in, n_out, reasoning, read = usages[n]
        return Response("ok", Usage(n_in, n_out, reasoning, read, 0), model="gpt-4.1-mini")

    async def main() -> tuple[list[CallRecord], dict[str, object]]:
        async with Session(ScriptedBackend(script)) as s:
            for _ in usages:
                await s.call("hi", model="gpt-4.1-mini")
            return s.records, s.totals()

    records, totals = asyncio.run(main())
    expected = []
    for rec, (n_in, n_out, _, read) in zip(records, usages, strict=True):
        theirs = calc_price(
            GenaiUsage(input_tokens=n_in, cache_read_tokens=read, output_tokens=n_out),
            "gpt-4.1-mini",
        ).total_price
        assert rec.dollars is not None
        assert math.isclose(rec.dollars, float(theirs), rel_tol=1e-12), (rec.dollars, theirs)
        expected.append(theirs)
    assert math.isclose(totals["dollars"], float(sum(expected)), rel_tol=1e-12)
    assert totals["dollars_complete"] is True and totals["unpriced_calls"] == 0
    assert totals["cache_read_tokens"] == 1024 + 4096
    assert totals["uncached_input_tokens"] == 6280 - 5120
    # The split by class: cache reads at $0.10 per 1M, the rest of the input at $0.40.
    assert totals["dollars_cache_read"] == pytest.approx(5120 * 0.10 / 1e6)
    assert totals["dollars_uncached_input"] == pytest.approx(1160 * 0.40 / 1e6)
    assert math.fsum(totals[f"dollars_{c}"] for c in TOKEN_CLASSES) == pytest.approx(
        totals["dollars"]
    )


def test_a_long_context_tier_comes_from_the_snapshot() -> None:
    sonnet = catalog_prices("claude-sonnet-4-5")
    assert sonnet is not None and sonnet.tiers and sonnet.source.startswith("genai-prices ")
    for n_in in (1000, 300_000):
        theirs = calc_price(
            GenaiUsage(input_tokens=n_in, cache_write_tokens=100, output_tokens=50),
            "claude-sonnet-4-5",
        ).total_price
        assert math.isclose(sonnet.dollars(n_in, 50, 0, 0, 100), float(theirs), rel_tol=1e-12)


def test_an_unknown_model_is_unpriced_never_zero() -> None:
    async def main() -> dict[str, object]:
        async with Session(ScriptedBackend()) as s:
            await s.call("hi", model="gpt-4.1-mini")
            await s.call("hi", model="my-own-finetune-7b")
            await s.call("hi", model="my-own-finetune-7b")
            return s.totals()

    totals = asyncio.run(main())
    assert totals["unpriced_calls"] == 2 and totals["dollars_complete"] is False
    assert totals["dollars"] > 0  # the priced call still counts
    assert catalog_prices("my-own-finetune-7b") is None


# -- where prices come from --------------------------------------------------------------------


def test_spec_then_table_then_snapshot() -> None:
    spec = ModelSpec("gpt-4.1-mini", price_in=9.0, price_out=9.0)
    book = PriceBook({"gpt-4.1-mini": Prices.of(8.0, 8.0), "mine": Prices.of(1.0, 2.0)})
    assert book.resolve("gpt-4.1-mini", spec).input == 9.0  # the spec wins
    assert PriceBook({"gpt-4.1-mini": Prices.of(8.0, 8.0)}).resolve("gpt-4.1-mini").input == 8.0
    assert PriceBook().resolve("gpt-4.1-mini").input == 0.4  # the snapshot
    assert book.resolve("mine").output == 2.0
    assert PriceBook(catalog=False).resolve("gpt-4.1-mini") is None


def test_a_session_stores_the_prices_it_used(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text('["my-model"]\ninput = 1.0\noutput = 2.0\ncache_read = 0.5\n')

    async def main() -> str:
        async with Session(ScriptedBackend(), store=tmp_path / "h.db", prices=path) as s:
            await s.call("hi", model="my-model")
            return s.run_id

    run_id = asyncio.run(main())
    with RunStore(tmp_path / "h.db", readonly=True) as store:
        prices = store.prices(run_id)
    assert prices == {"my-model": Prices.of(1.0, 2.0, cache_read=0.5)}
    assert prices["my-model"] is not None and prices["my-model"].source.startswith("price file")


def test_a_dollar_budget_needs_a_known_price() -> None:
    async def main() -> None:
        async with Session(ScriptedBackend(), budget=Budget(dollars=1.0)) as s:
            await s.call("hi", model="my-own-finetune-7b")

    with pytest.raises(ConfigError, match="the price of model 'my-own-finetune-7b' is unknown"):
        asyncio.run(main())


# -- the price file ----------------------------------------------------------------------------


def test_a_price_file_in_json_and_toml(tmp_path: Path) -> None:
    toml = tmp_path / "p.toml"
    toml.write_text(
        'unit = "USD per 1K tokens"\n["m"]\ninput = 0.001\noutput = 0.004\nreasoning = 0.008\n'
    )
    js = tmp_path / "p.json"
    js.write_text(json.dumps({"m": {"input": 1, "output": 4, "reasoning": 8}}))
    assert load_price_file(toml) == load_price_file(js) == {"m": Prices.of(1, 4, reasoning=8)}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            {"m": {"input": 1, "output": 2, "cached": 1}},
            "The price file, model 'm': unknown key 'cached' (known keys: input, output, "
            "cache_read, cache_write, reasoning).",
        ),
        (
            {"m": {"input": -1, "output": 2}},
            "The price file, model 'm': 'input': a price must be a finite number >= 0.",
        ),
        ({"m": {"output": 2}}, "The price file, model 'm': the 'input' rate is missing."),
        (
            {"unit": "EUR per 1M tokens", "m": {"input": 1, "output": 2}},
            "The price file gives prices in 'EUR per 1M tokens', a unit hakaru does not know. "
            "Use one of: 'USD per 1M tokens', 'USD per 1K tokens', 'USD per token'.",
        ),
        (
            {"m": 0.4},
            "The price file gives 'm' as 0.4, not a table of rates. Write [\"m\"] with "
            "input = … and output = … under it.",
        ),
    ],
)
def test_a_bad_price_file_is_one_clear_error(content: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_prices(content)
    assert str(info.value) == message


def test_a_price_file_that_is_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[m\ninput = 1\n")
    with pytest.raises(ConfigError, match=rf"The price file {path} is not valid TOML: "):
        load_price_file(path)


# -- the ledger --------------------------------------------------------------------------------


def test_the_ledger_splits_dollars_only_with_the_prices() -> None:
    prices = Prices.of(1.0, 2.0, cache_read=0.5)
    rec = CallRecord(
        1, (), "r", "m", input_tokens=100, output_tokens=10, cache_read_tokens=40,
        dollars=prices.dollars(100, 10, 0, 40, 0),
    )  # fmt: skip
    without, with_ = Ledger(), Ledger(prices={"m": prices})
    without.add(rec)
    with_.add(rec)
    assert "dollars_cache_read" not in without.totals()
    assert with_.totals()["dollars_cache_read"] == pytest.approx(40 * 0.5 / 1e6)
    assert without.totals()["dollars"] == with_.totals()["dollars"] == rec.dollars
