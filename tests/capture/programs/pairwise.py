"""Compare every pair of n items with the model: n(n-1)/2 calls (quadratic in n)."""

import itertools
import sys

import openai

client = openai.OpenAI(max_retries=0)
n = int(sys.argv[1])
for i, j in itertools.combinations(range(n), 2):
    client.chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": f"Add these numbers: {i}, {j}"}]
    )
print("pairs", n * (n - 1) // 2)
