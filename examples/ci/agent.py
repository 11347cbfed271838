"""A small agent: triage n support tickets — label each, then merge the labels into one summary.

Two ways to merge: ``tree`` (the shipped design) merges summaries pairwise, so n tickets cost
2n − 1 calls, depth 1 + ⌈log₂ n⌉, and input tokens linear in n; ``full`` folds the tickets one
by one and hands every merge the whole history — the same number of calls, but input tokens
quadratic in n. Setting ``AGENT_MERGE=full`` makes that change, to see what CI says about it
(docs/testing.md).

The agent runs on a hakaru Session (``SessionLlm``) or on the OpenAI SDK (``OpenAILlm``): the
same code, two ways to make a call.

    python examples/ci/agent.py 16          # on the simulated LLM
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol, TypeVar

from openai import AsyncOpenAI

from hakaru import Request, Session

T = TypeVar("T")
MODEL = os.environ.get("AGENT_MODEL", "sim-small")
SUMMARY_TOKENS = 48  # output cap of a label or a summary
_TOPICS = ("login", "billing", "export", "search", "upload", "sync", "alerts", "API keys")
_MOODS = ("fails", "is slow", "shows an error", "times out", "loses data", "looks wrong")


class Llm(Protocol):
    """What the agent needs: one call, and running calls side by side."""

    async def ask(self, role: str, prompt: str) -> str: ...

    async def gather(self, *calls: Awaitable[T]) -> list[T]: ...


class SessionLlm:
    """Calls through a hakaru Session (counted, budgeted, replayable)."""

    def __init__(self, session: Session, model: str = MODEL) -> None:
        self.session, self.model = session, model

    async def ask(self, role: str, prompt: str) -> str:
        request = Request.chat(self.model, prompt, role=role, max_tokens=SUMMARY_TOKENS)
        return (await self.session.call(request)).text

    async def gather(self, *calls: Awaitable[T]) -> list[T]:
        return await self.session.gather(*calls)  # keeps which call waited for which


class OpenAILlm:
    """Calls through the OpenAI SDK (OPENAI_BASE_URL names the server)."""

    def __init__(self, client: AsyncOpenAI, model: str = MODEL) -> None:
        self.client, self.model = client, model

    async def ask(self, role: str, prompt: str) -> str:
        reply = await self.client.chat.completions.create(
            model=self.model,
            messages=[{"role": "user", "content": prompt}],
            max_tokens=SUMMARY_TOKENS,
            temperature=0,
        )
        return reply.choices[0].message.content or ""

    async def gather(self, *calls: Awaitable[T]) -> list[T]:
        return list(await asyncio.gather(*calls))


def make_tickets(n: int, seed: int = 0) -> list[str]:
    """n support tickets, the same for the same seed."""
    rng = random.Random(seed)
    return [f"Ticket {i}: {rng.choice(_TOPICS)} {rng.choice(_MOODS)}." for i in range(1, n + 1)]


async def triage(llm: Llm, tickets: Sequence[str], merge: str | None = None) -> str:
    """Label every ticket, then merge the labels (``tree`` or ``full``) into one summary."""
    merge = merge or os.environ.get("AGENT_MERGE", "tree")
    labels = await llm.gather(*(llm.ask("labeler", f"Label this ticket: {t}") for t in tickets))
    if merge == "full":  # every merge re-reads the whole history: quadratic input
        summary = labels[0]
        for i in range(1, len(labels)):
            history = "\n".join(labels[: i + 1])
            summary = await llm.ask(
                "summarizer",
                f"Labels so far:\n{history}\nSummary so far: {summary}\n"
                f"New label: {labels[i]}\nUpdate the summary.",
            )
        return summary
    level = list(labels)
    while len(level) > 1:  # pairwise: ⌈log₂ n⌉ rounds
        pairs = [level[i : i + 2] for i in range(0, len(level), 2)]
        level = await llm.gather(*(_merge(llm, pair) for pair in pairs))
    return level[0]


async def _merge(llm: Llm, pair: list[str]) -> str:
    if len(pair) == 1:
        return pair[0]
    return await llm.ask("summarizer", f"Merge these two summaries:\n{pair[0]}\n{pair[1]}")


async def run(session: Session, n: int) -> Any:
    """The shape hakaru.testing's assertions expect: ``run(session, n)``."""
    return await triage(SessionLlm(session), make_tickets(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="how many tickets")
    args = parser.parse_args()

    async def go() -> None:
        async with Session("sim") as session:
            print(await run(session, args.n))
            totals = session.totals()
            print(
                f"calls {totals['calls']}, depth {totals['depth']}, "
                f"input tokens {totals['input_tokens']}"
            )

    asyncio.run(go())


if __name__ == "__main__":
    main()
