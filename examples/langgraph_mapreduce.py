"""Map-reduce on LangGraph: sum n numbers in chunks of 4 in parallel, then add the partial sums.

The map step fans out one node per chunk with ``Send`` (one LLM call each, all at once); the
reduce step is one call over the partial sums. So it makes ⌈n/4⌉ + 1 calls at depth 2, while
the reduce prompt grows with n. It works against any OpenAI-compatible server named by
OPENAI_BASE_URL; profile it with hakaru:

    hakaru profile --sim --sizes 4,8,16,32 -- python examples/langgraph_mapreduce.py {n}

Expected: calls linear in n, depth constant (2). It prints the total and exits 1 if wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import operator
import os
import re
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from openai import AsyncOpenAI

SYSTEM = (
    "You are a careful calculator. Add the integers you are given. You may work step by step, "
    "but end your reply with one line of the form `sum = <integer>` and nothing after it."
)


class State(TypedDict):
    numbers: list[int]
    partials: Annotated[list[int], operator.add]
    total: int


class Chunk(TypedDict):
    chunk: list[int]


def build(client: AsyncOpenAI, model: str, chunk: int) -> Any:
    """The graph: START → map (one node per chunk) → reduce → END."""

    async def add(numbers: list[int], role: str) -> int:
        listed = ", ".join(str(x) for x in numbers)
        reply = await client.chat.completions.create(
            model=model,
            messages=[
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Add these numbers: {listed}"},
            ],
            temperature=0,
            extra_headers={"X-Hakaru-Role": role},
        )
        found = re.findall(r"sum = (-?\d+)", reply.choices[0].message.content or "")
        if not found:
            raise ValueError(f"unreadable answer: {reply.choices[0].message.content!r}")
        return int(found[-1])

    def fan_out(state: State) -> list[Send]:
        nums = state["numbers"]
        return [Send("map", {"chunk": nums[i : i + chunk]}) for i in range(0, len(nums), chunk)]

    async def map_chunk(state: Chunk) -> dict[str, list[int]]:
        return {"partials": [await add(state["chunk"], "map")]}

    async def reduce(state: State) -> dict[str, int]:
        return {"total": await add(state["partials"], "reduce")}

    graph = StateGraph(State)
    graph.add_node("map", map_chunk)
    graph.add_node("reduce", reduce)
    graph.add_conditional_edges(START, fan_out, ["map"])
    graph.add_edge("map", "reduce")
    graph.add_edge("reduce", END)
    return graph.compile()


async def run(n: int, model: str, chunk: int) -> int:
    # OPENAI_BASE_URL from the environment; local servers need no key
    client = AsyncOpenAI(api_key=os.environ.get("OPENAI_API_KEY", "none"))
    try:
        app = build(client, model, chunk)
        out = await app.ainvoke({"numbers": list(range(1, n + 1)), "partials": [], "total": 0})
        return int(out["total"])
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="how many numbers to add")
    parser.add_argument("--chunk", type=int, default=4, help="numbers per map call")
    parser.add_argument("--model", default=os.environ.get("HAKARU_MODEL", "sim-oracle"))
    args = parser.parse_args()
    total = asyncio.run(run(args.n, args.model, args.chunk))
    expected = args.n * (args.n + 1) // 2
    print(f"map-reduce over {args.n} numbers: total {total} (expected {expected})")
    if total != expected:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
