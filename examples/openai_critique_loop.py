"""A write-and-critique loop on the plain openai SDK: n rounds, one call each, linear in n.

Each round asks for a critique and rewrite of the previous draft, so the loop has n calls and
depth n. Its answers are free text: against ``hakaru profile --sim`` they are the simulated
server's generic answers, whose lengths are lognormal (long-tailed), so its token totals are
noisy — the case where a fit on one run per size can pick the wrong class, and hakaru says so:

    hakaru profile --sim --seed 5 --sizes 4,8,16,32,64 -- \
        python examples/openai_critique_loop.py {n}

It works against any OpenAI-compatible server named by OPENAI_BASE_URL (OPENAI_MODEL picks the
model, default gpt-4.1-mini).
"""

from __future__ import annotations

import argparse
import os

from openai import OpenAI


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="rounds of critique and rewrite")
    args = parser.parse_args()
    client = OpenAI()  # OPENAI_BASE_URL and OPENAI_API_KEY from the environment
    model = os.environ.get("OPENAI_MODEL", "gpt-4.1-mini")
    draft = "a first draft"
    for i in range(args.n):
        reply = client.chat.completions.create(
            model=model,
            messages=[
                {"role": "user", "content": f"Critique and rewrite, round {i}: {draft[:200]}"}
            ],
        )
        draft = reply.choices[0].message.content or ""
    print(f"{args.n} rounds: the last draft has {len(draft.split())} words")


if __name__ == "__main__":
    main()
