"""An OpenAI Agents SDK program: a triage agent hands off to a specialist, which calls a tool.

The simulated server speaks Chat Completions, so the agents use that API."""

import asyncio

from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool
from openai import AsyncOpenAI

client = AsyncOpenAI(max_retries=0)
model = OpenAIChatCompletionsModel(model="gpt-4.1-mini", openai_client=client)


@function_tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


specialist = Agent(name="specialist", instructions="Add numbers.", model=model, tools=[add])
triage = Agent(name="triage", instructions="Route.", model=model, handoffs=[specialist])


async def main() -> None:
    first = await Runner.run(triage, "Add these numbers: 2, 3")
    second = await Runner.run(specialist, "Add these numbers: 4, 5")
    print(first.final_output, "|", second.final_output)


asyncio.run(main())
