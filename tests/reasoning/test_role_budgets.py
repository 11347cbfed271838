"""Budgets where the work is: reasoning budgets per role (workloads) and per step (``maker
run``), applied at the session's chokepoint and recorded in the ledger with every call —
red-flagged ones included."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from hakaru import ConfigError, Session
from hakaru.cli.main import main
from hakaru.reasoning import reasoning_payload
from hakaru.store import RunStore
from hakaru.tasks import task_kind


def test_budgets_by_role_reach_the_backend_and_the_ledger() -> None:
    kind = task_kind("reason")
    payloads = [reasoning_payload(i, 0.9) for i in range(40)]

    async def main_() -> Session:
        async with Session("sim", reasoning_budgets={"planner": 2048, "*": 128}) as s:
            for i, p in enumerate(payloads):
                role = "planner" if i % 2 else "worker"
                await s.call(kind.request("sim-oracle", p, role=role))
            # a call's own budget wins over the role's
            await s.call(
                kind.request("sim-oracle", payloads[0], role="worker", reasoning_budget=64)
            )
        return s

    s = asyncio.run(main_())
    by_role: dict[str, list[int]] = {}
    for r in s.records:
        by_role.setdefault(r.role, []).append(r.reasoning_tokens)
        assert r.reasoning_budget == {"planner": 2048, "worker": 128}[r.role] or (
            r.reasoning_budget == 64
        )
    # the simulated model keeps roughly to each budget: workers think far less than planners
    worker = sum(by_role["worker"]) / len(by_role["worker"])
    planner = sum(by_role["planner"]) / len(by_role["planner"])
    assert worker < 200 < planner
    with pytest.raises(ConfigError, match="role 'x'"):
        Session("sim", reasoning_budgets={"x": -1})


def test_a_policy_per_step() -> None:
    kind = task_kind("reason")

    async def main_() -> list[int | None]:
        async with Session("sim", reasoning_budgets=lambda r: 100 * (r.step or 0) or None) as s:
            for step in range(4):
                req = kind.request("sim-oracle", reasoning_payload(step, 0.5))
                await s.call(replace(req, step=step))
            return [r.reasoning_budget for r in s.records]

    assert asyncio.run(main_()) == [None, 100, 200, 300]


def test_maker_run_records_the_budget_on_every_vote_flagged_ones_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "maker.db"
    args = ["maker", "run", "--disks", "6", "--k", "2", "--model", "sim-hanoi-nano",
            "--sim-error", "0.02", "--store", str(db), "--json", "--quiet"]  # fmt: skip
    main([*args, "--reasoning-budget", "256"])
    json.loads(capsys.readouterr().out)
    store = RunStore(db)
    (run,) = store.runs()
    calls = list(store.calls(run.id))
    assert calls and {c.reasoning_budget for c in calls} == {256}
    flagged = [c for c in calls if c.status == "flagged"]
    assert flagged and all(c.output_tokens > 0 for c in flagged)  # paid for, under the budget
    assert run.params["reasoning_budget"] == 256
    store.close()


def test_hakaru_run_takes_budgets_per_role(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "run.db"
    main(["run", "debugging", "--k", "4", "--store", str(db), "--json",
          "--reasoning-budget", "developer=512", "--reasoning-budget", "64"])  # fmt: skip
    json.loads(capsys.readouterr().out)
    store = RunStore(db)
    (run,) = store.runs()
    budgets = {(c.role, c.reasoning_budget) for c in store.calls(run.id)}
    store.close()
    assert ("developer", 512) in budgets and ("qa", 64) in budgets
    with pytest.raises(SystemExit):
        main(["run", "debugging", "--k", "4", "--no-store", "--reasoning-budget", "qa=lots"])
    assert "--reasoning-budget 'qa=lots' is not ROLE=TOKENS" in capsys.readouterr().err
