"""A sequential chain on the plain openai SDK: n calls, each adding the next number to a total.

Every call needs the previous call's answer, so the chain has n calls and depth n. It works
against any OpenAI-compatible server named by OPENAI_BASE_URL; profile it with hakaru:

    hakaru profile --sim --sizes 4,8,16,32 -- python examples/openai_chain.py {n}

Expected: calls = n, depth = n (both linear in n); it prints the total and exits 1 if the
answer is wrong or unreadable.
"""

from __future__ import annotations

import argparse
import os
import re

from openai import OpenAI

SYSTEM = (
    "You are a careful calculator. Add the integers you are given. You may work step by step, "
    "but end your reply with one line of the form `sum = <integer>` and nothing after it."
)


def add(client: OpenAI, model: str, numbers: list[int]) -> int:
    """One LLM call: the sum of ``numbers``, read from the answer's last ``sum = …`` line."""
    listed = ", ".join(str(x) for x in numbers)
    reply = client.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Add these numbers: {listed}"},
        ],
        temperature=0,
        extra_headers={"X-Hakaru-Role": "step"},
    )
    found = re.findall(r"sum = (-?\d+)", reply.choices[0].message.content or "")
    if not found:
        raise SystemExit(f"unreadable answer: {reply.choices[0].message.content!r}")
    return int(found[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="how many numbers to add, one call each")
    parser.add_argument("--model", default=os.environ.get("HAKARU_MODEL", "sim-oracle"))
    args = parser.parse_args()
    # OPENAI_BASE_URL from the environment; local servers need no key
    client = OpenAI(api_key=os.environ.get("OPENAI_API_KEY", "none"))
    total = 0
    for i in range(1, args.n + 1):
        total = add(client, args.model, [total, i])
    expected = args.n * (args.n + 1) // 2
    print(f"chain of {args.n} calls: total {total} (expected {expected})")
    if total != expected:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
