"""A plain openai SDK program: N calls, each after the last (N from argv, default 3).

CRASH_AFTER=k: raise after k calls (the test of a program that crashes); KILL_AFTER=k: SIGKILL
itself after k calls (no exit handler runs)."""

import os
import signal
import sys

import openai

client = openai.OpenAI(max_retries=0)  # OPENAI_BASE_URL and OPENAI_API_KEY from the environment
n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
crash_after = int(os.environ.get("CRASH_AFTER", "-1"))
kill_after = int(os.environ.get("KILL_AFTER", "-1"))
total = 0
for i in range(n):
    if i == crash_after:
        raise RuntimeError(f"crashed on purpose after {i} calls")
    if i == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)
    ask = f"Add these numbers: {total}, {i}"
    reply = client.chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": ask}]
    )
    total = int(reply.choices[0].message.content.split("=")[1])
print("total", total)
