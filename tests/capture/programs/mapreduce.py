"""Map n items with the model concurrently, then reduce them in one call: n + 1 calls (linear)."""

import asyncio
import sys

import openai


async def main(n: int) -> None:
    client = openai.AsyncOpenAI(max_retries=0)

    async def ask(text: str) -> str:
        reply = await client.chat.completions.create(
            model="gpt-4.1-mini", messages=[{"role": "user", "content": text}]
        )
        return reply.choices[0].message.content or ""

    mapped = await asyncio.gather(*(ask(f"Add these numbers: {i}, {i}") for i in range(n)))
    doubled = [int(m.split("=")[1]) for m in mapped]
    print(await ask("Add these numbers: " + ", ".join(map(str, doubled))))


asyncio.run(main(int(sys.argv[1])))
