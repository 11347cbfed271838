"""The openai and anthropic SDKs, captured in-process against the simulated server: calls and
tokens per class equal to what the server billed."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import anthropic
import openai
import pytest
from capture_sim import Sim, captured
from proxy_servers import spawn, stop

import hakaru
from hakaru.store import RunStore
from hakaru.tasks import filler_text

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# A system prompt long enough to be cached (at least 1,024 tokens), deterministic.
LONG = filler_text(1500, random.Random(7))
ASK = [{"role": "user", "content": "Add these numbers: 2, 3"}]


def records(path: Path, run_id: str) -> list[hakaru.CallRecord]:
    with RunStore(path, readonly=True) as store:
        return list(store.calls(run_id))


def test_openai_sync_and_streams(sim: Sim, tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    client = openai.OpenAI(base_url=sim.url, api_key="sk-test", max_retries=0)
    with hakaru.capture(db, name="openai sync") as run:
        assert "openai" in run.loaded
        first = client.chat.completions.create(model="gpt-4.1-mini", messages=ASK)
        assert first.choices[0].message.content == "sum = 5"
        long = [{"role": "system", "content": LONG}, *ASK]
        client.chat.completions.create(model="gpt-4.1-mini", messages=long)
        client.chat.completions.create(model="gpt-4.1-mini", messages=long)  # cache read
        with_usage = client.chat.completions.create(
            model="gpt-4.1-mini",
            messages=[{"role": "user", "content": "tell me"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        assert "".join(c.choices[0].delta.content or "" for c in with_usage if c.choices)
    totals = run.totals()
    assert captured(totals) == sim.billed()
    assert totals["cache_read_tokens"] > 0  # the long prompt's second call read the cache
    assert totals["estimated_calls"] == 0 and totals["dollars_complete"]
    rows = records(db, run.run_id)
    assert [r.parents for r in rows] == [(), (1,), (2,), (3,)]  # one after another
    assert {r.usage_source for r in rows} == {"reported"}


def test_a_stream_without_usage_is_estimated_and_marked(sim: Sim, tmp_path: Path) -> None:
    client = openai.OpenAI(base_url=sim.url, api_key="sk-test", max_retries=0)
    with hakaru.capture(tmp_path / "h.db", name="no usage") as run:
        stream = client.chat.completions.create(
            model="gpt-4.1-mini", messages=[{"role": "user", "content": "go on"}], stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    totals = run.totals()
    assert text and totals["estimated_calls"] == 1
    # Estimated with the tokenizer the simulated server bills with: equal here, by construction.
    assert captured(totals) == sim.billed()
    [row] = records(tmp_path / "h.db", run.run_id)
    assert row.usage_source == "estimated"


def test_openai_async_concurrent_calls_are_siblings(slow_sim: Sim, tmp_path: Path) -> None:
    async def program() -> None:
        client = openai.AsyncOpenAI(base_url=slow_sim.url, api_key="sk-test", max_retries=0)
        await client.chat.completions.create(model="gpt-4.1-mini", messages=ASK)
        await asyncio.gather(
            *(
                client.chat.completions.create(
                    model="gpt-4.1-mini", messages=[{"role": "user", "content": f"part {i}"}]
                )
                for i in range(4)
            )
        )
        await client.chat.completions.create(model="gpt-4.1-mini", messages=ASK)

    with hakaru.capture(tmp_path / "h.db", name="async") as run:
        asyncio.run(program())
    totals = run.totals()
    assert captured(totals) == slow_sim.billed()
    rows = records(tmp_path / "h.db", run.run_id)
    assert [r.parents for r in rows[:5]] == [(), (1,), (1,), (1,), (1,)]  # the fan-out
    assert rows[5].parents == (2, 3, 4, 5)  # the join
    assert totals["depth"] == 3 and totals["peak_concurrency"] == 4


def test_anthropic_sync_and_stream(sim: Sim, tmp_path: Path) -> None:
    client = anthropic.Anthropic(
        base_url=sim.url.removesuffix("/v1"), api_key="sk-test", max_retries=0
    )
    system = [{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}]
    with hakaru.capture(tmp_path / "h.db", name="anthropic") as run:
        assert any(name.startswith("anthropic") for name in run.loaded)
        for numbers in ("2, 3", "4, 5"):  # the first writes the cache, the second reads it
            client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=1000,
                system=system,  # type: ignore[arg-type]
                messages=[{"role": "user", "content": f"Add these numbers: {numbers}"}],
            )
        with client.messages.stream(
            model="claude-sonnet-4-5",
            max_tokens=500,
            messages=[{"role": "user", "content": "hi"}],
        ) as stream:
            assert "".join(stream.text_stream)
    totals = run.totals()
    billed = sim.billed()
    assert billed["cache_write"] > 0 and billed["cache_read"] > 0
    assert captured(totals) == billed
    assert totals["estimated_calls"] == 0


def test_a_call_outside_the_block_is_not_recorded(sim: Sim, tmp_path: Path) -> None:
    client = openai.OpenAI(base_url=sim.url, api_key="sk-test", max_retries=0)
    with hakaru.capture(tmp_path / "h.db", name="one") as run:
        client.chat.completions.create(model="gpt-4.1-mini", messages=ASK)
    client.chat.completions.create(model="gpt-4.1-mini", messages=ASK)
    assert run.totals()["calls"] == 1 and len(records(tmp_path / "h.db", run.run_id)) == 1
    with RunStore(tmp_path / "h.db", readonly=True) as store:
        info = store.run(run.run_id)
    assert info.status == "done" and info.kind == "capture"


def test_failed_calls_are_recorded_as_failures(tmp_path: Path) -> None:
    proc, url = spawn("sim", "serve", "--port", "0", "--fault-500", "1")
    try:
        client = openai.OpenAI(base_url=url, api_key="sk-test", max_retries=0)
        with hakaru.capture(tmp_path / "h.db", name="failing") as run:
            for _ in range(3):
                with pytest.raises(openai.InternalServerError):
                    client.chat.completions.create(model="gpt-4.1-mini", messages=ASK)
        faults = Sim(url)._stats()["faults"]
    finally:
        stop(proc)
    totals = run.totals()
    assert totals["calls"] == totals["failed_calls"] == faults["500"] == 3
    assert totals["input_tokens"] == 0 and totals["dollars"] == 0
    rows = records(tmp_path / "h.db", run.run_id)
    assert {(r.status, r.error_kind) for r in rows} == {("error", "server_error")}
