"""A pydantic-ai program: one agent, two runs, on an OpenAI-compatible server."""

import os

from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

provider = OpenAIProvider(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-test")
agent = Agent(OpenAIChatModel("gpt-4.1-mini", provider=provider), instructions="Add numbers.")
first = agent.run_sync("Add these numbers: 2, 3")
second = agent.run_sync("Add these numbers: 4, 5")
print(first.output, "|", second.output)
