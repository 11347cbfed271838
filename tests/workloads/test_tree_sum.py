"""tree-sum: exact calls, depth and tokens; the single call's context limit and error growth."""

from __future__ import annotations

import asyncio

import pytest

from hakaru.errors import ConfigError, ContextOverflow
from hakaru.patterns.tree_reduce import tree_shape
from hakaru.runner import run_workload
from hakaru.tasks import task_kind
from hakaru.tokenizer import count_tokens
from hakaru.workloads.base import get_workload
from hakaru.workloads.tree_sum import TreeSum


def expected_counts(n: int, f: int, seed: int) -> tuple[int, int, int, int]:
    """Calls, depth, input and output tokens of a perfect tree, derived independently."""
    kind = task_kind("sum")
    level = TreeSum.numbers(n, seed)
    calls = depth = tok_in = tok_out = 0
    while len(level) > 1:
        depth += 1
        nxt = []
        for i in range(0, len(level), f):
            group = level[i : i + f]
            if len(group) == 1:
                nxt.append(group[0])
                continue
            calls += 1
            tok_in += sum(count_tokens(m.content) for m in kind.messages({"numbers": group}))
            tok_out += count_tokens(f"sum = {sum(group)}")
            nxt.append(sum(group))
        level = nxt
    return calls, depth, tok_in, tok_out


@pytest.mark.parametrize(
    ("n", "f"), [(64, 4), (10, 4), (5, 4), (100, 3), (256, 2), (1000, 10), (2, 2), (1, 4)]
)
def test_tree_counts_are_exact(n: int, f: int) -> None:
    out = asyncio.run(run_workload("tree-sum", params={"n": n, "fan_in": f}, sim_error=0))
    calls, depth, tok_in, tok_out = expected_counts(n, f, 0)
    t = out.totals
    assert (t["calls"], t["depth"], t["input_tokens"], t["output_tokens"]) == (
        calls,
        depth,
        tok_in,
        tok_out,
    )
    assert t["forward_passes"] == tok_out
    assert out.result.correct
    assert out.analytic == {"calls": float(calls), "depth": float(depth)}
    assert sum(tree_shape(n, f)) == calls


def test_n64_f4_is_21_calls_depth_3() -> None:
    out = asyncio.run(run_workload("tree-sum", params={"n": 64, "fan_in": 4}, sim_error=0))
    assert (out.totals["calls"], out.totals["depth"]) == (21, 3)
    assert out.by_role["adder"]["attempts"] == 21


def test_single_variant_is_one_call() -> None:
    out = asyncio.run(run_workload("tree-sum", variant="single", params={"n": 300}, sim_error=0))
    kind = task_kind("sum")
    numbers = TreeSum.numbers(300, 0)
    tok_in = sum(count_tokens(m.content) for m in kind.messages({"numbers": numbers}))
    assert (out.totals["calls"], out.totals["depth"], out.totals["input_tokens"]) == (1, 1, tok_in)
    assert out.result.correct


def test_single_variant_overflows_the_context() -> None:
    with pytest.raises(ContextOverflow, match="maximum context length of 16384 tokens"):
        asyncio.run(run_workload("tree-sum", variant="single", params={"n": 9000}))


def test_single_variant_errs_more_as_n_grows() -> None:
    async def error_rate(n: int) -> float:
        wrong = 0
        for seed in range(150):
            out = await run_workload("tree-sum", variant="single", params={"n": n}, seed=seed)
            wrong += not out.result.correct
        return wrong / 150

    small, large = asyncio.run(error_rate(50)), asyncio.run(error_rate(5000))
    assert small < 0.05
    assert large > 0.25  # fill ≈ 0.6 of the window: error ≈ 0.001 + 0.6·0.6
    assert large > small + 0.2


def test_tree_fan_in_beyond_the_adders_skill_is_refused() -> None:
    from hakaru.backends.sim import SimBackend
    from hakaru.errors import CapabilityError

    # The built-in sim-adder adds at most 4 numbers; fan-in 8 with it must be refused.
    with pytest.raises(CapabilityError, match="cannot perform 'sum' on 8 items"):
        asyncio.run(
            run_workload(
                "tree-sum", params={"n": 64, "fan_in": 8}, backend=SimBackend(), model="sim-adder"
            )
        )


def test_parameter_errors() -> None:
    w = get_workload("tree-sum")
    with pytest.raises(ConfigError, match="has no variant 'x'. Choose one of: tree, single"):
        w.resolve("x", {})
    with pytest.raises(ConfigError, match="Parameter fan_in of 'tree-sum' is 1; it must be at"):
        w.resolve(None, {"fan_in": 1})
    with pytest.raises(ConfigError, match="must be an integer, not 'ten'"):
        w.resolve(None, {"n": "ten"})
