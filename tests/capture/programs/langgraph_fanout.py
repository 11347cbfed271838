"""A LangGraph graph: plan → three workers in parallel (a fan-out) → combine → a conditional
edge to review (when the combined answer is long) or to the end. Each node calls the model with
the openai SDK; nothing in it knows about hakaru."""

import operator
import sys
from typing import Annotated, TypedDict

import openai
from langgraph.graph import END, START, StateGraph

client = openai.OpenAI(max_retries=0)


def ask(text: str) -> str:
    reply = client.chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": text}]
    )
    return reply.choices[0].message.content or ""


class State(TypedDict):
    task: str
    plan: str
    parts: Annotated[list[str], operator.add]
    answer: str
    review: str


def plan(state: State) -> dict[str, str]:
    return {"plan": ask(f"Plan: {state['task']}")}


def worker(name: str):
    def run(state: State) -> dict[str, list[str]]:
        return {"parts": [ask(f"Part {name} of: {state['plan'][:40]}")]}

    return run


def combine(state: State) -> dict[str, str]:
    return {"answer": ask("Combine: " + " | ".join(p[:20] for p in sorted(state["parts"])))}


def review(state: State) -> dict[str, str]:
    return {"review": ask(f"Review: {state['answer'][:40]}")}


def needs_review(state: State) -> str:
    return "review" if len(state["answer"]) > int(sys.argv[1]) else END


graph = StateGraph(State)
graph.add_node("plan", plan)
for name in "abc":
    graph.add_node(f"worker_{name}", worker(name))
    graph.add_edge("plan", f"worker_{name}")
    graph.add_edge(f"worker_{name}", "combine")
graph.add_node("combine", combine)
graph.add_node("review", review)
graph.add_edge(START, "plan")
graph.add_conditional_edges("combine", needs_review, ["review", END])
graph.add_edge("review", END)
result = graph.compile().invoke({"task": "write a report", "parts": []})
print("reviewed" if result.get("review") else "not reviewed")
