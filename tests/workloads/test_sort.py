"""sort: exact counts of the bounded merge sort, its closed forms, and the single call's limits."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools

import pytest

from hakaru.backends.sim import SimBackend
from hakaru.errors import CapabilityError, ContextOverflow, RedFlag
from hakaru.runner import RunOutcome, run_workload
from hakaru.tasks import task_kind
from hakaru.tokenizer import count_tokens
from hakaru.workloads._kinds_sort import check_permutation
from hakaru.workloads.sort import Sort, batcher_layers, sort_plan

KEYS = ("calls", "depth", "input_tokens", "output_tokens", "forward_passes", "aalp_cost")


def run(variant: str, seed: int = 0, **params: int) -> RunOutcome:
    return asyncio.run(run_workload("sort", variant=variant, params=params, sim_error=0, seed=seed))


@pytest.mark.parametrize(
    ("n", "chunk"),
    [(16, 4), (100, 6), (7, 2), (33, 3), (1, 4), (2, 4), (5, 10), (64, 16), (1000, 8), (257, 4)],
)
def test_merge_counts_equal_the_analytic_formulas(n: int, chunk: int) -> None:
    out = run("merge", n=n, chunk=chunk)
    assert {k: out.totals[k] for k in KEYS} == {k: out.analytic[k] for k in KEYS}
    for role, tally in Sort().role_tallies("merge", out.params).items():
        got = out.by_role.get(role, {"attempts": 0, "aalp": 0.0})
        assert (got["attempts"], got["aalp"]) == (tally.calls, tally.aalp_cost)
    assert out.result.correct


@pytest.mark.parametrize("n", [1, 2, 16, 500])
def test_single_counts_equal_the_analytic_formulas(n: int) -> None:
    out = run("single", n=n)
    assert {k: out.totals[k] for k in KEYS} == {k: out.analytic[k] for k in KEYS}
    if n > 1:
        prompt = task_kind("sort").messages({"items": Sort.items(n, 0)})
        assert out.totals["input_tokens"] == sum(count_tokens(m.content) for m in prompt)
    assert out.result.correct


@pytest.mark.parametrize("t", range(0, 8))
def test_closed_forms_for_a_power_of_two_blocks(t: int) -> None:
    # n = h·2^t: 2^t sort calls + (t² − t + 4)·2^(t−2) − 1 merge-splits; depth 1 + t(t+1)/2.
    h = 3
    shape = sort_plan(h * 2**t, 2 * h)
    merges = sum(map(len, shape.layers))
    assert len(shape.blocks) == 2**t
    assert merges == (0 if t == 0 else (t * t - t + 4) * 2 ** (t - 2) - 1)
    assert shape.depth == 1 + t * (t + 1) // 2
    if t in (3, 4):
        out = run("merge", n=h * 2**t, chunk=2 * h)
        assert (out.totals["calls"], out.totals["depth"]) == (2**t + merges, shape.depth)


@pytest.mark.parametrize("wires", range(1, 11))
def test_the_block_network_sorts_every_input(wires: int) -> None:
    # 0-1 principle: a comparator network sorts all inputs iff it sorts all 0/1 inputs; the
    # dropped comparators (wires ≥ `wires`) only ever faced +∞.
    layers = batcher_layers(wires)
    for bits in itertools.product((0, 1), repeat=wires):
        v = list(bits)
        for layer in layers:
            for i, j in layer:
                if v[i] > v[j]:
                    v[i], v[j] = v[j], v[i]
        assert v == sorted(v)


def test_merge_calls_grow_as_n_log_squared_n() -> None:
    # Θ((n/h)·log²(n/h)) calls: calls/((n/h)·log₂²(n/h)) tends to 1/4 (the t²·2^(t−2) term).
    for t in (8, 10, 12):
        shape = sort_plan(2 * 2**t, 4)
        calls = len(shape.blocks) + sum(map(len, shape.layers))
        assert abs(calls / (2**t * t * t) - 0.25) < 0.01


def test_the_merger_refuses_more_than_its_chunk() -> None:
    models = Sort().sim_models("merge", {"n": 16, "chunk": 4})
    with pytest.raises(CapabilityError, match="cannot perform 'merge' on 8 items"):
        asyncio.run(
            run_workload(
                "sort",
                variant="merge",
                params={"n": 16, "chunk": 8},
                backend=SimBackend(models=models),
                model="sim-sorter-4",
            )
        )


def test_single_overflows_the_context() -> None:
    with pytest.raises(ContextOverflow, match="maximum context length of 16384 tokens"):
        run("single", n=9000)


def test_single_errs_more_as_n_grows() -> None:
    async def error_rate(n: int) -> float:
        wrong = 0
        for seed in range(60):
            out = await run_workload("sort", variant="single", params={"n": n}, seed=seed)
            wrong += not out.result.correct
        return wrong / 60

    small, large = asyncio.run(error_rate(20)), asyncio.run(error_rate(8000))
    assert small < 0.05
    assert large > 0.15  # the prompt fills 0.49 of the window: error ≈ 0.001 + 0.6·0.49


def test_wrong_merges_propagate() -> None:
    w = Sort()
    params = w.resolve("merge", {"n": 32})[1]
    models = [
        dataclasses.replace(m, base_error=1.0, max_error=1.0) for m in w.sim_models("merge", params)
    ]
    out = asyncio.run(
        run_workload("sort", variant="merge", params=params, backend=SimBackend(models=models))
    )
    assert not out.result.correct and out.result.answer > 0


def test_strict_parser_and_permutation_check() -> None:
    kind = task_kind("merge")
    assert kind.parse("sorted: abcd efgh") == ["abcd", "efgh"]
    for bad in ("sorted: abcd, efgh", "Sorted: abcd", "sorted:", "sorted: abcd\nmore"):
        with pytest.raises(RedFlag):
            kind.parse(bad)
    with pytest.raises(RedFlag, match="not a permutation"):
        check_permutation(["abcd", "abcd"], ["abcd", "efgh"])
