"""debugging: real buggy code, exact counts per role, F10 figures, and the paper's growth laws."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random

import pytest

from hakaru.backends.sim import SimBackend
from hakaru.errors import CapabilityError, ConfigError, RedFlag
from hakaru.runner import RunOutcome, run_workload
from hakaru.session import Session
from hakaru.tasks import task_kind
from hakaru.tokenizer import count_tokens
from hakaru.workloads._kinds_debugging import check_shape, first_break, make_code
from hakaru.workloads.base import get_workload
from hakaru.workloads.debugging import Debugging

KEYS = ("calls", "depth", "input_tokens", "output_tokens", "forward_passes", "aalp_cost")


def run(variant: str, seed: int = 0, **params: int) -> RunOutcome:
    return asyncio.run(
        run_workload("debugging", variant=variant, params=params, sim_error=0, seed=seed)
    )


def developer_cost(variant: str, **params: int) -> float:
    return float(run(variant, **params).by_role["developer"]["aalp"])


@pytest.mark.parametrize("variant", ["roleplay", "focused"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"k": 6, "l": 10, "b": 5, "m_q": 2, "m_d": 3},
        {"k": 3, "l": 6, "b": 0},
        {"k": 5, "l": 8, "b": 5},
        {"k": 1, "l": 7, "b": 1, "m_d": 9},
        {"k": 12, "l": 20, "b": 4},
    ],
)
def test_counts_equal_the_analytic_formulas(variant: str, params: dict[str, int]) -> None:
    out = run(variant, **params)
    assert {k: out.totals[k] for k in KEYS} == {k: out.analytic[k] for k in KEYS}
    for role, tally in Debugging().role_tallies(variant, out.params).items():
        got = out.by_role.get(role, {"attempts": 0, "input_tokens": 0, "aalp": 0.0})
        assert (got["attempts"], got["input_tokens"], got["aalp"]) == (
            tally.calls,
            tally.input_tokens,
            tally.aalp_cost,
        )
    assert out.result.correct and out.result.answer == 0


def test_roleplay_feeds_the_whole_history() -> None:
    # The i-th developer call reads i code versions: rebuild the prompts from the kinds and
    # count their tokens, independently of the analytic constants.
    params = {"k": 3, "l": 9, "b": 3, "m_q": 1, "m_d": 1}
    buggy, truth = Debugging.code(params, seed=0)
    find, fix = task_kind("debug-find"), task_kind("debug-fix")
    turns: list[list[object]] = []
    qa_in = dev_in = 0
    for _ in range(3):
        payload = {"code": buggy, "turns": turns}
        bug = find.solve(payload)
        qa_in += sum(count_tokens(m.content) for m in find.messages(payload))
        ask = {**payload, "report": bug}
        dev_in += sum(count_tokens(m.content) for m in fix.messages(ask))
        turns = [*turns, [bug, fix.solve(ask)]]
    assert turns[-1][1] == truth
    out = run("roleplay", **params)
    assert (out.by_role["qa"]["input_tokens"], out.by_role["developer"]["input_tokens"]) == (
        qa_in,
        dev_in,
    )
    assert out.by_role["developer"]["output_tokens"] == 3 * 27  # b rewrites of n = k·l tokens


def test_the_code_and_its_bugs_are_real_data() -> None:
    buggy, truth = make_code(8, 10, 3, random.Random(4))
    assert all(len(f.split()) == 10 for f in buggy + truth)
    assert all(first_break(f) is None for f in truth)
    broken = [i for i, f in enumerate(buggy) if f != truth[i]]
    assert len(broken) == 3 and all(first_break(buggy[i]) is not None for i in broken)
    fix = task_kind("debug-fix")
    report = task_kind("debug-find").solve({"code": buggy, "turns": []})
    assert report.startswith(f"bug in {buggy[broken[0]].split()[1]}: ")
    fixed = fix.solve({"code": buggy, "turns": [], "report": report})
    assert sum(a != b for a, b in zip(fixed, truth, strict=True)) == 2
    with pytest.raises(RedFlag, match="expected 8 functions, got 7"):
        check_shape(fixed[:7], [f.split()[1] for f in buggy], 10)
    with pytest.raises(RedFlag, match="not a function line"):
        fix.parse("Here is the code:\n" + "\n".join(fixed))
    with pytest.raises(RedFlag, match="malformed report"):
        task_kind("debug-find").parse("Bug in a")


def test_paper_f10_figures() -> None:
    w = Debugging()
    cases = [
        ((10, 100, 5), 17_512_500, 75_750),
        ((100, 100, 20), 22_002_000_000, 309_000),
        ((1000, 50, 100), 12_750_250_000_000, 422_500),
    ]
    for (k, length, b), roleplay, focused in cases:
        params = {"k": k, "l": length, "b": b, "m_q": 1, "m_d": 1}
        assert w.analytic("roleplay", params)["paper_aalp"] == roleplay
        assert w.analytic("focused", params)["paper_aalp"] == focused


def _differences(values: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(values)]


def test_roleplay_developer_cost_is_quadratic_in_b() -> None:
    # Measured cost at b = 1…6 (k = 6, l = 8) is an exact quadratic in b: constant positive
    # second differences, zero third differences (Eq. 6: Θ(m_d·b²·n²)).
    costs = [developer_cost("roleplay", k=6, l=8, b=b) for b in range(1, 7)]
    second = _differences(_differences(costs))
    assert len(set(second)) == 1 and second[0] > 0
    # Its leading term is the paper's b²·n²/2: cost(2b)/cost(b) = 2(2b+2)/(b+2) climbs to 4.
    big = [developer_cost("roleplay", k=16, l=16, b=b) for b in (4, 8, 16)]
    assert 3.2 < big[1] / big[0] < big[2] / big[1] < 4


def test_roleplay_developer_cost_is_quadratic_in_n() -> None:
    # n = k·l with k = 4 fixed, l = 6…10: exact quadratic in n.
    costs = [developer_cost("roleplay", k=4, l=length, b=3) for length in range(6, 11)]
    second = _differences(_differences(costs))
    assert len(set(second)) == 1 and second[0] > 0
    grow = [developer_cost("roleplay", k=8, l=length, b=3) for length in (16, 32, 64)]
    assert 3.5 < grow[1] / grow[0] < grow[2] / grow[1] < 4  # → 4: Θ(n²)


def test_focused_cost_is_linear_in_k() -> None:
    totals = [run("focused", k=k, l=8, b=2).totals["aalp_cost"] for k in range(2, 8)]
    first = _differences(totals)
    assert len(set(first)) == 1 and first[0] > 0  # Eq. 10: Θ(m_q·k·l) + Θ(m_d·l²·b)
    qa = [run("focused", k=k, l=8, b=2).by_role["qa"]["aalp"] for k in range(2, 8)]
    assert len(set(_differences(qa))) == 1
    dev = {run("focused", k=k, l=8, b=2).by_role["developer"]["aalp"] for k in range(2, 8)}
    assert len(dev) == 1  # the developer's cost does not depend on k


def test_developer_improvement_grows_as_b_k_squared() -> None:
    # Eq. 11: roleplay/focused developer cost is Θ(b·k²). Exactly: linear in b at fixed k
    # (roleplay quadratic in b over focused linear in b), quadratic in k at fixed b (roleplay
    # quadratic in n = k·l over focused constant in k).
    def ratio(k: int, b: int) -> float:
        return developer_cost("roleplay", k=k, l=8, b=b) / developer_cost("focused", k=k, l=8, b=b)

    in_b = _differences([ratio(8, b) for b in range(1, 7)])
    assert in_b == pytest.approx([in_b[0]] * 5) and in_b[0] > 0
    in_k = _differences(_differences([ratio(k, 2) for k in range(2, 8)]))
    assert in_k == pytest.approx([in_k[0]] * 4) and in_k[0] > 0
    doubling = [ratio(2 * k, 2) / ratio(k, 2) for k in (8, 16, 32)]
    assert 3.1 < doubling[0] < doubling[1] < doubling[2] < 4


def test_a_careless_developer_leaves_bugs() -> None:
    w = Debugging()
    params = w.resolve("focused", {"k": 5, "b": 3})[1]
    models = [
        dataclasses.replace(m, base_error=1.0, max_error=1.0) if m.name == "sim-developer-fn" else m
        for m in w.sim_models("focused", params)
    ]
    out = asyncio.run(
        run_workload(
            "debugging", variant="focused", params=params, backend=SimBackend(models=models)
        )
    )
    assert not out.result.correct and out.result.answer == 3


def test_focused_agents_take_one_function_at_a_time() -> None:
    w = Debugging()
    params = w.resolve("focused", {})[1]
    qa, developer = w.sim_models("focused", params)
    assert (qa.capabilities, developer.capabilities) == ({"debug-find:1"}, {"debug-fix:1"})
    buggy, _ = Debugging.code(params, seed=0)

    async def whole_code() -> None:
        async with Session(SimBackend(models=[qa])) as s:
            payload = {"code": buggy, "turns": []}
            await s.call(task_kind("debug-find").request(qa.name, payload))

    with pytest.raises(CapabilityError, match="cannot perform 'debug-find' on 4 items"):
        asyncio.run(whole_code())


def test_parameter_errors() -> None:
    w = get_workload("debugging")
    with pytest.raises(ConfigError, match="Parameter b of 'debugging' is 5; it must be at most"):
        w.resolve(None, {"k": 4, "b": 5})
    with pytest.raises(ConfigError, match="Parameter l of 'debugging' is 5; it must be at least 6"):
        w.resolve(None, {"l": 5})
