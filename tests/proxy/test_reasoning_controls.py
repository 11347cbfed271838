"""One translation from a reasoning budget to each API's parameters: every request it builds is
sent by the official SDK (openai, anthropic; Gemini over httpx, which has no SDK here) to
``hakaru sim serve``, which must honour it and report the reasoning in that API's usage."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import httpx
import openai
import pytest
from proxy_servers import Servers

from hakaru import Request, Response, Session
from hakaru.backends.anthropic import AnthropicBackend
from hakaru.backends.openai import OpenAIBackend
from hakaru.backends.reasoning_controls import (
    EFFORT_TOKENS,
    reasoning_fields,
    requested_budget,
)
from hakaru.errors import ConfigError
from hakaru.proxy.sim_reasoning import ReasoningSim
from hakaru.tokenizer import count_tokens

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NATURAL = 3000  # the simulated model's unprompted reasoning (tokens)
PROMPT = "Add these numbers: 2, 3"


def _openai(base: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base, api_key="sk-test", max_retries=0)


def _anthropic(base: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base.removesuffix("/v1"), api_key="sk", max_retries=0)


@pytest.fixture
def sim(servers: Servers) -> str:
    return servers.start_sim(reasoning=ReasoningSim("honour", natural=NATURAL))


@pytest.mark.parametrize(("tokens", "level"), [(1000, None), (None, "low"), (None, "high")])
def test_openai_chat_fields_go_through_the_sdk_and_are_honoured(
    sim: str, tokens: int | None, level: str | None
) -> None:
    fields = reasoning_fields("openai-chat", "o4-mini", tokens=tokens, level=level)
    reply = _openai(sim).chat.completions.create(
        model="o4-mini", messages=[{"role": "user", "content": PROMPT}], **fields
    )
    effort = fields["reasoning_effort"]
    assert reply.usage is not None and reply.usage.completion_tokens_details is not None
    want = min(NATURAL, EFFORT_TOKENS[effort])
    assert reply.usage.completion_tokens_details.reasoning_tokens == want
    assert reply.choices[0].message.content == "sum = 5"
    assert reply.usage.completion_tokens == want + count_tokens("sum = 5")


@pytest.mark.parametrize("api", ["vllm", "sglang"])
def test_vllm_and_sglang_fields_ride_in_extra_body(sim: str, api: str) -> None:
    fields = reasoning_fields(api, "Qwen/Qwen3-8B", tokens=700)
    reply = _openai(sim).chat.completions.create(
        model="Qwen/Qwen3-8B", messages=[{"role": "user", "content": PROMPT}], extra_body=fields
    )
    assert reply.usage is not None and reply.usage.completion_tokens_details is not None
    assert reply.usage.completion_tokens_details.reasoning_tokens == 700
    assert reply.choices[0].finish_reason == "stop"


def test_openai_responses_fields(sim: str) -> None:
    fields = reasoning_fields("openai-responses", "o4-mini", level="medium")
    reply = _openai(sim).responses.create(model="o4-mini", input=PROMPT, **fields)
    assert reply.usage is not None
    assert reply.usage.output_tokens_details.reasoning_tokens == 512
    assert reply.output_text == "sum = 5" and reply.status == "completed"
    # a cap the reasoning fills: incomplete, no answer
    cut = _openai(sim).responses.create(
        model="o4-mini", input=PROMPT, **reasoning_fields(
            "openai-responses", "o4-mini", level="medium", max_tokens=300)
    )  # fmt: skip
    assert cut.status == "incomplete" and cut.output_text == ""
    assert cut.incomplete_details is not None
    assert cut.incomplete_details.reason == "max_output_tokens"


def _thinking(message: Any) -> int:
    return sum(count_tokens(b.thinking) for b in message.content if b.type == "thinking")


@pytest.mark.parametrize(
    ("model", "form"),
    [
        ("claude-sonnet-4-5", "enabled"),
        ("claude-opus-4-6", "adaptive"),
        ("claude-opus-4-7", "adaptive"),
    ],
)
def test_anthropic_form_chosen_by_model(sim: str, model: str, form: str) -> None:
    fields = reasoning_fields("anthropic", model, tokens=2000)
    assert fields["thinking"]["type"] == form
    reply = _anthropic(sim).messages.create(
        model=model, messages=[{"role": "user", "content": PROMPT}], **fields
    )
    want = 2000 if form == "enabled" else min(NATURAL, EFFORT_TOKENS["high"])
    assert _thinking(reply) == want
    assert reply.usage.output_tokens == want + count_tokens("sum = 5")
    assert reply.content[-1].type == "text" and reply.content[-1].text == "sum = 5"


def test_newer_claude_models_reject_the_budget_form(sim: str) -> None:
    old_form = reasoning_fields("anthropic", "claude-sonnet-4-5", tokens=2000)
    with pytest.raises(anthropic.BadRequestError, match="adaptive"):
        _anthropic(sim).messages.create(
            model="claude-opus-4-7", messages=[{"role": "user", "content": PROMPT}], **old_form
        )
    # 4.6 deprecates it (the SDK says so) but still takes it
    with pytest.warns(UserWarning, match="deprecated"):
        reply = _anthropic(sim).messages.create(
            model="claude-opus-4-6", messages=[{"role": "user", "content": PROMPT}], **old_form
        )
    assert _thinking(reply) == 2000


@pytest.mark.parametrize(("model", "key"), [("gemini-2.5-flash", "thinkingBudget"),
                                            ("gemini-3-pro", "thinkingLevel")])  # fmt: skip
def test_gemini_fields(sim: str, model: str, key: str) -> None:
    fields = reasoning_fields("gemini", model, tokens=600)
    config = fields["generationConfig"]["thinkingConfig"]
    assert list(config) == [key]
    url = f"{sim.removesuffix('/v1')}/v1beta/models/{model}:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}], **fields}
    reply = httpx.post(url, json=body).json()
    want = 600 if key == "thinkingBudget" else EFFORT_TOKENS["medium"]
    assert reply["usageMetadata"]["thoughtsTokenCount"] == want
    assert reply["usageMetadata"]["candidatesTokenCount"] == count_tokens("sum = 5")
    assert reply["candidates"][0]["content"]["parts"][-1]["text"] == "sum = 5"
    both = {"generationConfig": {"thinkingConfig": {"thinkingBudget": 600, "thinkingLevel": "low"}}}
    bad = httpx.post(url, json={"contents": body["contents"], **both})
    assert bad.status_code == 400 and "together" in bad.json()["error"]["message"]


def test_requested_budget_reads_back_every_translation() -> None:
    for api, model in (("openai-chat", "o3"), ("openai-responses", "o3"), ("vllm", "q"),
                       ("sglang", "q"), ("anthropic", "claude-sonnet-4-5"),
                       ("anthropic", "claude-opus-4-7"), ("gemini", "gemini-2.5-pro"),
                       ("gemini", "gemini-3-pro")):  # fmt: skip
        fields = reasoning_fields(api, model, tokens=2048)
        read = requested_budget(api if api in ("anthropic", "gemini", "openai-responses")
                                else "openai-chat", fields)  # fmt: skip
        assert read.budget == 2048, (api, model, read)
    with pytest.raises(ConfigError, match="Unknown API"):
        reasoning_fields("bard", "m", tokens=1)
    with pytest.raises(ConfigError, match="not both"):
        reasoning_fields("vllm", "m", tokens=1, level="low")
    with pytest.raises(ConfigError, match="Unknown reasoning effort"):
        reasoning_fields("vllm", "m", level="extreme")


def test_backends_send_the_translation_and_the_proxy_records_the_budget(
    servers: Servers,
) -> None:
    base = servers.start_sim(reasoning=ReasoningSim("honour", natural=NATURAL))
    proxy = servers.start_proxy(base)

    async def main() -> list[Response]:
        out = []
        async with Session(OpenAIBackend(proxy, api_key="k", reasoning_api="vllm")) as s:
            out.append(await s.call(Request.chat("q", PROMPT, reasoning_budget=900)))
        async with Session(AnthropicBackend(proxy, api_key="k")) as s:
            out.append(await s.call(Request.chat("claude-opus-4-7", PROMPT, reasoning_budget=600)))
        return out

    vllm, claude = asyncio.run(main())
    assert vllm.usage.reasoning_tokens == 900
    assert claude.usage.reasoning_tokens == EFFORT_TOKENS["medium"]  # adaptive, nearest effort
    totals = servers.end()
    (run,) = servers.store.runs()
    budgets = [c.reasoning_budget for c in servers.store.calls(run.id)]
    assert budgets == [900, EFFORT_TOKENS["medium"]] and totals["calls"] == 2
    with pytest.raises(ConfigError, match="reasoning_api"):
        OpenAIBackend(base, api_key="k", reasoning_api="gemini")
