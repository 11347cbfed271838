"""Anthropic's Messages API: the simulated server, the recording proxy, the backend — driven by
the real ``anthropic`` SDK over loopback, counts checked against what the server billed."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

import anthropic
import pytest
from proxy_servers import Servers

from hakaru import Request, Session
from hakaru.backends.anthropic import AnthropicBackend
from hakaru.tasks import filler_text
from hakaru.tokenizer import count_tokens

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# A system prompt long enough to be cached (at least 1,024 tokens), deterministic.
LONG = filler_text(1500, __import__("random").Random(7))


def stats(base: str) -> dict[str, Any]:
    url = base.removesuffix("/v1") + "/hakaru/stats"
    with urllib.request.urlopen(url) as reply:
        result: dict[str, Any] = json.loads(reply.read())
    return result


def client(base: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base.removesuffix("/v1"), api_key="sk-test", max_retries=0)


def ask(c: anthropic.Anthropic, text: str, **kw: Any) -> Any:
    system = [{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}]
    return c.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=4000,
        system=system,  # type: ignore[arg-type]
        messages=[{"role": "user", "content": text}],
        **kw,
    )


def test_the_sdk_against_the_simulated_server(servers: Servers) -> None:
    base = servers.start_sim()
    c = client(base)
    first = ask(c, "Add these numbers: 2, 3")
    assert first.content[-1].text == "sum = 5"  # type: ignore[union-attr]
    n_system = count_tokens(LONG)
    assert first.usage.cache_creation_input_tokens == n_system  # written on the first call
    second = ask(c, "Add these numbers: 4, 5", thinking={"type": "enabled", "budget_tokens": 2000})
    assert second.usage.cache_read_input_tokens == n_system  # read on the second
    assert [b.type for b in second.content] == ["thinking", "text"]
    raw = c.messages.with_raw_response.create(
        model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["x-hakaru-sim-model"] == "sim-oracle"
    assert raw.headers["x-hakaru-sim-generic"] == "1"  # the name is not in the catalog
    with c.messages.stream(
        model="claude-sonnet-4-5", max_tokens=500, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == final.content[0].text and final.usage.output_tokens == count_tokens(text)
    billed = stats(base)["tokens"]
    thinking = count_tokens(second.content[0].thinking)  # type: ignore[union-attr]
    assert billed["reasoning"] == thinking > 0
    assert billed["cache_write"] == billed["cache_read"] == n_system
    assert billed["output"] == sum(
        m.usage.output_tokens for m in (first, second, raw.parse(), final)
    )


def test_the_proxy_records_messages_and_streams_exactly(servers: Servers) -> None:
    base = servers.start_sim()
    proxy = servers.start_proxy(base)
    c = client(proxy)
    ask(c, "Add these numbers: 1, 2")
    ask(c, "Add these numbers: 3, 4", thinking={"type": "enabled", "budget_tokens": 1200})
    with c.messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=500,
        system=[{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "Add these numbers: 5, 6"}],
    ) as stream:
        assert stream.get_final_message().content[0].text == "sum = 11"  # type: ignore[union-attr]
    totals = servers.end()
    billed = stats(base)["tokens"]
    assert totals["calls"] == 3 and totals["failed_calls"] == 0
    assert totals["input_tokens"] == billed["input"]
    assert totals["output_tokens"] == billed["output"]
    assert totals["reasoning_tokens"] == billed["reasoning"] > 0
    assert totals["cache_read_tokens"] == billed["cache_read"] == 2 * count_tokens(LONG)
    assert totals["cache_write_tokens"] == billed["cache_write"] == count_tokens(LONG)
    assert totals["dollars_complete"]  # claude-sonnet-4-5 is in the genai-prices snapshot
    assert totals["dollars_cache_read"] > 0 and totals["dollars_cache_write"] > 0


def test_the_backend_through_a_session(servers: Servers) -> None:
    base = servers.start_sim()

    async def main() -> dict[str, Any]:
        backend = AnthropicBackend(base, api_key="sk-test")
        async with Session(backend) as s:
            r = await s.call(Request.chat("claude-haiku-4-5", "Add these numbers: 7, 8"))
            assert r.text == "sum = 15"
            r = await s.call(
                Request.chat("claude-haiku-4-5", "Add these numbers: 1, 1", reasoning_budget=1500)
            )
            assert r.reasoning and r.usage.reasoning_tokens == count_tokens(r.reasoning)
            return s.totals()

    totals = asyncio.run(main())
    billed = stats(base)["tokens"]
    assert (totals["input_tokens"], totals["output_tokens"]) == (billed["input"], billed["output"])
    assert totals["reasoning_tokens"] == billed["reasoning"]
