"""``hakaru.capture(session=...)``: openai SDK calls (sync and async, against the simulated
server) inside a live Session become records of the session's run, with the session's
happens-before as their parents."""

from __future__ import annotations

import asyncio
from pathlib import Path

import openai
import pytest
from capture_sim import Sim, captured

import hakaru
from hakaru.errors import ConfigError
from hakaru.store import RunStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ASK = [{"role": "user", "content": "Add these numbers: 2, 3"}]
SDK_MODEL = "gpt-4.1-mini"


def stored(path: Path, run_id: str) -> list[hakaru.CallRecord]:
    with RunStore(path, readonly=True) as store:
        return list(store.calls(run_id))


def sdk_totals(rows: list[hakaru.CallRecord]) -> dict[str, int]:
    """The SDK calls' part of a run, in the server's terms."""
    mine = [r for r in rows if r.model == SDK_MODEL]
    return {
        "calls": len(mine),
        "input": sum(r.input_tokens for r in mine),
        "output": sum(r.output_tokens for r in mine),
        "reasoning": sum(r.reasoning_tokens for r in mine),
        "cache_read": sum(r.cache_read_tokens for r in mine),
        "cache_write": sum(r.cache_write_tokens for r in mine),
    }


def test_sdk_calls_join_the_session_run_and_its_happens_before(sim: Sim, tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    sync = openai.OpenAI(base_url=sim.url, api_key="sk-test", max_retries=0)
    client = openai.AsyncOpenAI(base_url=sim.url, api_key="sk-test", max_retries=0)
    budget = hakaru.Budget(calls=100)

    async def program() -> tuple[str, dict[str, object], float]:
        async with hakaru.Session("sim", store=db, run_name="mixed", budget=budget) as s:
            with hakaru.capture(session=s) as run:
                assert "openai" in run.loaded
                await s.call("plan", model="sim-small", role="planner")  # 1
                sync.chat.completions.create(model=SDK_MODEL, messages=ASK)  # 2
                await s.call("check", model="sim-small")  # 3
                await client.chat.completions.create(model=SDK_MODEL, messages=ASK)  # 4
                # 5 and 6: two SDK calls forked by the session are siblings
                await s.gather(
                    client.chat.completions.create(model=SDK_MODEL, messages=ASK),
                    client.chat.completions.create(model=SDK_MODEL, messages=ASK),
                )
                await s.call("merge", model="sim-small")  # 7
                assert run.calls == 4 and run.run_id == s.run_id
                assert run.problems == []
            assert s.guard is not None
            return s.run_id, s.totals(), s.guard.spent[0]

    run_id, totals, spent_calls = asyncio.run(program())
    rows = stored(db, run_id)
    assert [r.id for r in rows] == [1, 2, 3, 4, 5, 6, 7]  # every call once, the session's ids
    assert {r.run_id for r in rows} == {run_id}
    by_id = {r.id: r for r in rows}
    assert by_id[2].parents == (1,)  # A → SDK B
    assert by_id[3].parents == (2,)  # SDK B → C
    assert by_id[4].parents == (3,)
    assert sorted([by_id[5].parents, by_id[6].parents]) == [(4,), (4,)]  # siblings
    assert by_id[7].parents == (5, 6)  # the gather merged both
    assert [r.model for r in rows].count(SDK_MODEL) == 4
    assert sdk_totals(rows) == sim.billed()  # the SDK part: what the server billed
    assert totals["calls"] == 7 and spent_calls == 7  # the ledger and the budget counted all
    assert by_id[2].dollars is not None and by_id[2].dollars > 0
    with RunStore(db, readonly=True) as store:
        info = store.run(run_id)
    assert info.status == "done" and info.summary["calls"] == 7


def test_sdk_calls_made_first_then_session_calls_depend_on_them(sim: Sim) -> None:
    client = openai.AsyncOpenAI(base_url=sim.url, api_key="sk-test", max_retries=0)

    async def program() -> list[hakaru.CallRecord]:
        async with hakaru.Session("sim") as s:  # no store: the ledger alone
            with hakaru.capture(session=s):
                await client.chat.completions.create(model=SDK_MODEL, messages=ASK)
                await client.chat.completions.create(model=SDK_MODEL, messages=ASK)
                await s.call("then", model="sim-small")
            return s.records

    rows = asyncio.run(program())
    assert [(r.id, r.parents) for r in rows] == [(1, ()), (2, (1,)), (3, (2,))]
    assert sdk_totals(rows) == sim.billed()


def test_session_capture_refuses_a_store_of_its_own(tmp_path: Path) -> None:
    async def program() -> None:
        async with hakaru.Session("sim") as s:
            with hakaru.capture(tmp_path / "h.db", session=s):
                pass

    with pytest.raises(ConfigError, match="do not also give store"):
        asyncio.run(program())


def test_captured_totals_match(sim: Sim) -> None:
    """Outside the block, the same SDK calls are not the session's."""
    client = openai.OpenAI(base_url=sim.url, api_key="sk-test", max_retries=0)

    async def program() -> dict[str, object]:
        async with hakaru.Session("sim") as s:
            with hakaru.capture(session=s) as run:
                client.chat.completions.create(model=SDK_MODEL, messages=ASK)
            client.chat.completions.create(model=SDK_MODEL, messages=ASK)  # not captured
            return run.totals()

    totals = asyncio.run(program())
    assert totals["calls"] == 1
    billed = sim.billed()
    assert billed["calls"] == 2
    assert captured(totals)["input"] * 2 == billed["input"]
