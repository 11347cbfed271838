"""The agent's CI tests: how its cost grows, what one run costs, and replays of recorded calls.

Run them as CI does — replay only, nothing sent anywhere:

    pytest examples/ci --hakaru-record none

Re-record the cassettes against a server (here the simulated one; any OpenAI-compatible
server works the same):

    hakaru sim serve --port 8000 &
    pytest examples/ci --hakaru-record all --hakaru-backend openai \\
        --hakaru-base-url http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from agent import OpenAILlm, SessionLlm, make_tickets, run, triage
from openai import AsyncOpenAI

from hakaru import Session
from hakaru.testing import assert_cost, assert_growth

SIZES = [4, 8, 16, 32, 64, 128]


def test_calls_grow_at_most_linearly(hakaru_session_factory: Callable[[], Session]) -> None:
    assert_growth(run, SIZES, metric="calls", at_most="n", session=hakaru_session_factory)


def test_input_tokens_grow_at_most_n_log_n(
    hakaru_session_factory: Callable[[], Session],
) -> None:
    assert_growth(
        run, SIZES, metric="input_tokens", at_most="n log n", session=hakaru_session_factory
    )


def test_cost_of_sixteen_tickets() -> None:
    # 16 labels + 15 merges; the merges form a tree of 4 rounds after the labels.
    assert_cost(run, 16, calls=31, depth=5, bounds={"input_tokens": 4000})


def test_triage_replays_through_the_openai_sdk(hakaru_cassette: object) -> None:
    async def go() -> str:
        async with AsyncOpenAI(max_retries=0) as client:  # OPENAI_BASE_URL: the cassette
            return await triage(OpenAILlm(client), make_tickets(8))

    assert asyncio.run(go()).strip()


def test_triage_replays_through_a_session(hakaru_session: Session, hakaru_cassette: object) -> None:
    async def go() -> tuple[str, dict[str, float]]:
        async with hakaru_session as session:
            summary = await triage(SessionLlm(session), make_tickets(8))
            return summary, session.totals()

    summary, totals = asyncio.run(go())
    assert summary.strip() and totals["calls"] == 15 and totals["depth"] == 4
