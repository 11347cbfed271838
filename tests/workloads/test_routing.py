"""routing: exact counts per role, the paper's F10 figures, Θ(k) growth of the AALP ratio."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from typing import Any

import pytest
from click.testing import CliRunner

from hakaru.backends.sim import SimBackend
from hakaru.errors import CapabilityError, ConfigError
from hakaru.runner import RunOutcome, run_workload
from hakaru.session import Session
from hakaru.tasks import task_kind
from hakaru.tokenizer import count_tokens
from hakaru.workloads.base import get_workload
from hakaru.workloads.routing import Routing

KEYS = ("calls", "depth", "input_tokens", "output_tokens", "forward_passes", "aalp_cost")


def run(variant: str, seed: int = 0, **params: int) -> RunOutcome:
    return asyncio.run(
        run_workload("routing", variant=variant, params=params, sim_error=0, seed=seed)
    )


def assert_exact(out: RunOutcome) -> None:
    """Totals and every role's totals equal the analytic figures exactly."""
    w = Routing()
    assert {k: out.totals[k] for k in KEYS} == {k: out.analytic[k] for k in KEYS}
    roles = w.role_tallies(out.variant, out.params)
    assert set(out.by_role) == set(roles)
    for role, tally in roles.items():
        got = out.by_role[role]
        assert (got["attempts"], got["input_tokens"], got["output_tokens"], got["aalp"]) == (
            tally.calls,
            tally.input_tokens,
            tally.output_tokens,
            tally.aalp_cost,
        )


@pytest.mark.parametrize("variant", ["generalist", "delegated"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"k": 1, "n": 2, "c": 1, "q": 1},
        {"k": 3, "n": 17, "c": 5, "q": 5, "m_s": 2},
        {"k": 8, "n": 300, "c": 2, "q": 6, "m_d": 3},
        {"k": 30, "n": 64, "c": 8, "q": 12, "m_s": 3, "m_d": 7},
    ],
)
def test_counts_equal_the_analytic_formulas(variant: str, params: dict[str, int]) -> None:
    out = run(variant, **params)
    assert_exact(out)
    assert out.result.correct
    assert out.result.answer == out.params["q"]


def test_input_tokens_match_the_prompts_actually_sent() -> None:
    # Derived from the task kinds' messages, independently of the analytic constants.
    params = {"k": 5, "n": 40, "c": 3, "q": 4, "m_s": 1, "m_d": 0}
    queries = Routing.queries(params, seed=0)
    identify = task_kind("route-identify")
    solve_in = deleg_in = 0
    for qu in queries:
        payload = {"meta": qu.meta, "text": qu.text}
        solve_in += sum(count_tokens(m.content) for m in task_kind("route.t0").messages(payload))
        deleg_in += sum(
            count_tokens(m.content) for m in identify.messages({"meta": qu.meta, "tasks": 5})
        )
    assert run("generalist", **params).totals["input_tokens"] == solve_in
    assert run("delegated", **params).totals["input_tokens"] == solve_in + deleg_in
    assert all(len(qu.meta) == 3 and len(qu.text) == 40 for qu in queries)


def test_paper_f10_figures() -> None:
    w = Routing()
    small = {"k": 10, "n": 10_000, "c": 4, "q": 1, "m_s": 1, "m_d": 10}
    assert w.analytic("generalist", small)["paper_aalp"] == 100_000
    assert w.analytic("delegated", small)["paper_aalp"] == 10_040
    big = {**small, "k": 1000, "m_d": 1000}
    ratio = w.analytic("generalist", big)["paper_aalp"] / w.analytic("delegated", big)["paper_aalp"]
    assert round(ratio, 2) == 714.29


def test_aalp_ratio_grows_linearly_in_k() -> None:
    # A fixed delegator (m_d = 1): the measured ratio generalist/delegated is Θ(k) — it doubles
    # with k, and ratio/k stays within a few percent.
    ratios = {}
    for k in (2, 4, 8, 16, 32):
        g = run("generalist", k=k, n=1024, q=2, m_d=1).totals["aalp_cost"]
        d = run("delegated", k=k, n=1024, q=2, m_d=1).totals["aalp_cost"]
        ratios[k] = g / d
    per_k = [r / k for k, r in ratios.items()]
    assert max(per_k) / min(per_k) < 1.02
    assert all(1.95 < ratios[2 * k] / ratios[k] <= 2.0 for k in (2, 4, 8, 16))


def test_ratio_with_delegator_as_large_as_the_generalist_still_grows_with_k() -> None:
    # m_d = k·m_s (the default): the delegator's Θ(m_d) term grows with k too, but while
    # k·c ≪ n the ratio still nearly doubles with k (paper §3.1: as n grows, m_g vs m_s).
    ratios = [
        run("generalist", k=k, n=4096, q=1).totals["aalp_cost"]
        / run("delegated", k=k, n=4096, q=1).totals["aalp_cost"]
        for k in (2, 4, 8, 16)
    ]
    assert all(1.7 < b / a <= 2.0 for a, b in itertools.pairwise(ratios))


def test_capability_sets() -> None:
    w = Routing()
    params = w.resolve("delegated", {"k": 3})[1]
    generalist = w.sim_models("generalist", params)[0]
    assert generalist.capabilities == {"route.t0", "route.t1", "route.t2"}
    assert generalist.size == 3 * params["m_s"]
    delegator, *specialists = w.sim_models("delegated", params)
    assert delegator.capabilities == {"route-identify"}
    assert [s.capabilities for s in specialists] == [{"route.t0"}, {"route.t1"}, {"route.t2"}]

    async def misuse() -> None:
        async with Session(SimBackend(models=specialists)) as s:
            payload = {"meta": ["B"], "text": ["lake", "B", "moon"]}
            await s.call(task_kind("route.t1").request("sim-route-specialist-0", payload))

    with pytest.raises(CapabilityError, match="cannot perform 'route.t1'"):
        asyncio.run(misuse())


def _with(models: list[Any], name: str, **changes: Any) -> list[Any]:
    return [dataclasses.replace(m, **changes) if m.name == name else m for m in models]


def test_a_misrouting_delegator_gives_wrong_answers() -> None:
    w = Routing()
    params = w.resolve("delegated", {"k": 4, "q": 6})[1]
    models = _with(
        w.sim_models("delegated", params), "sim-route-delegator", base_error=1.0, max_error=1.0
    )
    out = asyncio.run(
        run_workload(
            "routing", variant="delegated", params=params, backend=SimBackend(models=models)
        )
    )
    assert not out.result.correct
    assert out.result.answer < 6
    assert out.by_role["delegator"]["attempts"] == 6  # wrong, but well-formed: no resampling


def test_a_delegator_naming_no_existing_task_is_red_flagged() -> None:
    # With one task, the only wrong answer names a task that does not exist: flagged and
    # resampled until the model gives up.
    w = Routing()
    params = w.resolve("delegated", {"k": 1, "q": 1})[1]
    models = _with(
        w.sim_models("delegated", params), "sim-route-delegator", base_error=1.0, max_error=1.0
    )
    from hakaru.errors import StepFailed

    with pytest.raises(StepFailed, match=r"task B is not one of the 1 tasks"):
        asyncio.run(
            run_workload(
                "routing", variant="delegated", params=params, backend=SimBackend(models=models)
            )
        )


def test_cli_runs_routing_with_k() -> None:
    from hakaru.cli.main import cli

    result = CliRunner().invoke(
        cli,
        [
            *("run", "routing", "--k", "8", "--variant", "delegated"),
            *("--sim-error", "0", "--json", "--no-store"),
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert (out["params"]["k"], out["calls"], out["depth"], out["correct"]) == (8, 16, 2, True)
    assert set(out["by_role"]) == {"delegator", "specialist"}


def test_parameter_errors() -> None:
    w = get_workload("routing")
    with pytest.raises(ConfigError, match="has no variant 'x'. Choose one of: generalist, deleg"):
        w.resolve("x", {})
    with pytest.raises(ConfigError, match="Parameter k of 'routing' is 500000; at most 475254"):
        w.resolve(None, {"k": 500_000})
    with pytest.raises(ConfigError, match="Parameter n of 'routing' is 1; it must be at least 2"):
        w.resolve(None, {"n": 1})
    assert w.resolve(None, {"m_d": 0})[1]["m_d"] == 0
