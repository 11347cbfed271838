"""Cost models and work/span/depth on hand-built DAGs; online and offline figures agree."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hakaru.costs import COST_MODELS, aalp_cost, cost_model, register_cost_model
from hakaru.errors import ConfigError
from hakaru.ledger import Ledger, totals_of, work_span
from hakaru.pricing import TOKEN_CLASSES, Prices
from hakaru.types import CallRecord


def rec(
    i: int, parents: tuple[int, ...] = (), out: int = 1, inp: int = 10, **kw: object
) -> CallRecord:
    return CallRecord(i, parents, "r", "m", input_tokens=inp, output_tokens=out, **kw)  # type: ignore[arg-type]


def test_cost_models_exact() -> None:
    r = rec(1, out=3, inp=10, size=2.0, dollars=(10 * 1.0 + 3 * 4.0) / 1e6, latency=0.5)
    assert COST_MODELS["forward_passes"](r) == 3
    assert COST_MODELS["aalp"](r) == 2.0 * (10 + 11 + 12) == aalp_cost(2.0, 10, 3)
    assert COST_MODELS["linear"](r) == 2.0 * 13
    assert COST_MODELS["dollars"](r) == pytest.approx((10 * 1.0 + 3 * 4.0) / 1e6)
    assert COST_MODELS["latency"](r) == 0.5
    assert COST_MODELS["calls"](r) == 1


def test_cached_and_failed_records_cost_no_tokens() -> None:
    cached = rec(1, out=5, status="cached", latency=1.0)
    failed = rec(2, out=0, status="error", latency=2.0)
    flagged = rec(3, out=7, status="flagged")
    assert [COST_MODELS["forward_passes"](r) for r in (cached, failed, flagged)] == [0, 0, 7]
    assert [COST_MODELS["calls"](r) for r in (cached, failed, flagged)] == [0, 1, 1]
    assert COST_MODELS["latency"](cached) == 0 and COST_MODELS["latency"](failed) == 2.0


def test_diamond_dag() -> None:
    #    1
    #   / \
    #  2   3      work = 1+5+2+1 = 9; span = 1+5+1 = 7; depth = 3
    #   \ /
    #    4
    records = [rec(1, out=1), rec(2, (1,), out=5), rec(3, (1,), out=2), rec(4, (2, 3), out=1)]
    ws = work_span(records)
    assert (ws.work, ws.span, ws.depth) == (9, 7, 3)
    assert ws.parallelism == pytest.approx(9 / 7)


def test_independent_calls_span_is_max() -> None:
    records = [rec(i, out=i) for i in range(1, 11)]
    ws = work_span(records)
    assert (ws.work, ws.span, ws.depth) == (55, 10, 1)


def test_tree_reduce_dag() -> None:
    # 8 leaves of 2 tokens, 4+2+1 internal nodes of 1 token: depth 4
    records = [rec(i, out=2) for i in range(1, 9)]
    nid = 9
    level = list(range(1, 9))
    while len(level) > 1:
        nxt = []
        for a, b in zip(level[::2], level[1::2], strict=True):
            records.append(rec(nid, (a, b), out=1))
            nxt.append(nid)
            nid += 1
        level = nxt
    ws = work_span(records)
    assert (ws.work, ws.span, ws.depth) == (16 + 7, 2 + 3, 4)


def test_custom_cost_model_and_unknown_name() -> None:
    register_cost_model("squared_out", lambda r: float(r.output_tokens**2))
    try:
        assert work_span([rec(1, out=3), rec(2, (1,), out=4)], "squared_out").span == 25
        assert "squared_out" in Ledger().names
    finally:
        del COST_MODELS["squared_out"]
    with pytest.raises(ConfigError, match="Unknown cost model 'nope'. Choose one of: calls,"):
        cost_model("nope")


def test_group_by_role_and_model() -> None:
    ledger = Ledger()
    ledger.add(CallRecord(1, (), "qa", "big", output_tokens=2))
    ledger.add(CallRecord(2, (), "dev", "small", output_tokens=3))
    ledger.add(CallRecord(3, (), "dev", "small", output_tokens=4))
    by_role = ledger.group_by("role")
    assert by_role["dev"]["forward_passes"] == 7 and by_role["qa"]["attempts"] == 1
    assert ledger.group_by("model")["small"]["output_tokens"] == 7


@st.composite
def dags(draw: st.DrawFn) -> list[CallRecord]:
    n = draw(st.integers(1, 40))
    out = []
    for i in range(1, n + 1):
        parents = (
            tuple(sorted(set(draw(st.lists(st.integers(1, max(i - 1, 1)), max_size=3)))))
            if i > 1
            else ()
        )
        status = draw(st.sampled_from(["ok", "ok", "ok", "error", "cached", "flagged"]))
        out.append(
            CallRecord(
                i,
                parents,
                "r",
                "m",
                status=status,  # type: ignore[arg-type]
                input_tokens=draw(st.integers(0, 50)),
                output_tokens=draw(st.integers(0, 20)),
                size=draw(st.sampled_from([1.0, 2.0, 7.0])),
                dollars=draw(st.sampled_from([None, 0.0, 1.5e-5, 3.7e-4])),
                latency=draw(st.floats(0, 3)),
            )
        )
    return out


@given(dags())
@settings(max_examples=150, deadline=None)
def test_online_totals_equal_offline_work_span(records: list[CallRecord]) -> None:
    totals = totals_of(records)
    for name, key in [
        ("forward_passes", "forward_passes"),
        ("aalp", "aalp_cost"),
        ("linear", "linear"),
        ("dollars", "dollars"),
        ("latency", "latency"),
    ]:
        ws = work_span(records, name)
        # The ledger sums latency exactly in whole nanoseconds per record.
        resolution = 1e-9 * len(records) if name == "latency" else 0.0
        assert totals[key] == pytest.approx(ws.work, rel=1e-6, abs=resolution)
        assert totals[f"span_{name}"] == pytest.approx(ws.span)
        assert ws.span <= ws.work + 1e-9
    assert totals["depth"] == work_span(records).depth


@given(dags(), st.randoms(use_true_random=False))
@settings(max_examples=100, deadline=None)
def test_totals_do_not_depend_on_arrival_order(records: list[CallRecord], rnd: object) -> None:
    prices = Prices.of(0.15, 0.6, cache_read=0.075)
    for r in records:  # realistic prices and latencies, whose float sums are order-sensitive
        r.cache_read_tokens = r.input_tokens // 3
        r.dollars = prices.dollars(r.input_tokens, r.output_tokens, 0, r.cache_read_tokens, 0)
        r.latency = r.latency * 0.37
    shuffled = list(records)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a, b = Ledger(prices={"m": prices}), Ledger(prices={"m": prices})
    for r in records:
        a.add(r)
    for r in shuffled:
        b.add(r)
    ta, tb = a.totals(), b.totals()
    for key in ("aalp_cost", "linear", "dollars", "latency", "forward_passes", "calls"):
        assert ta[key] == tb[key], key  # bit-identical, not approximately equal
    for name in TOKEN_CLASSES:
        assert ta[f"dollars_{name}"] == tb[f"dollars_{name}"], name
    assert a.group_by("model") == b.group_by("model")


def test_a_record_row_is_the_records_fields_in_order() -> None:
    import doctest
    import inspect

    import hakaru.types
    from hakaru.types import RECORD_FIELDS, record_row

    assert tuple(inspect.signature(record_row).parameters) == RECORD_FIELDS
    assert tuple(f.name for f in dataclasses.fields(CallRecord)) == RECORD_FIELDS
    values = tuple(range(len(RECORD_FIELDS)))
    row = record_row(*values)
    assert type(row) is tuple and row == values  # a plain tuple: untracked by the collector
    assert dataclasses.astuple(CallRecord(*row)) == values
    result = doctest.testmod(hakaru.types)
    assert result.failed == 0 and result.attempted > 0
