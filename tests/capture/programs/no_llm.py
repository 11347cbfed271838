"""A program that makes no LLM call."""

print(sum(range(10)))
