"""Engine overhead: calls per second through Session vs a bare asyncio loop vs LangGraph.

All three run the same simulated calls (the ``sum`` task on the built-in ``sim-oracle`` model,
zero latency, no sleeping) side by side in one process, so the ratios are what matters on a noisy
machine:

- bare     — ``asyncio.gather`` over ``SimBackend.complete`` (no accounting at all);
- Session  — ``Session.map`` over ``Session.call`` (limits, budgets off, happens-before, ledger);
- LangGraph — a ``Send`` fan-out of one node per call, each awaiting the same backend.

For scale, the same fan-outs also run with *trivial* nodes (no model call at all), as in the
issue's reference figures: a bare ``asyncio.gather`` of coroutines that return at once, and a
LangGraph ``Send`` fan-out of nodes that do nothing. The bare loop over simulated calls bounds
any layer on top of it: Session cannot be more times faster than LangGraph than the bare loop is.

Run: ``python benchmarks/engine_overhead.py [--calls 5000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import operator
import statistics
import time
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from hakaru.backends.sim import SimBackend
from hakaru.session import Session
from hakaru.tasks import task_kind


class State(TypedDict):
    reqs: list[Any]
    texts: Annotated[list[str], operator.add]


class Item(TypedDict):
    req: Any


def requests(n: int) -> list[Any]:
    kind = task_kind("sum")
    return [kind.request("sim-oracle", {"numbers": [i, i + 1, i + 2, i + 3]}) for i in range(n)]


async def bare(reqs: list[Any]) -> float:
    backend = SimBackend(seed=1)
    t0 = time.perf_counter()
    await asyncio.gather(*(backend.complete(r) for r in reqs))
    return time.perf_counter() - t0


async def session(reqs: list[Any]) -> float:
    backend = SimBackend(seed=1)
    t0 = time.perf_counter()
    async with Session(backend) as s:
        await s.map(s.call, reqs)
    elapsed = time.perf_counter() - t0
    assert s.totals()["calls"] == len(reqs)
    return elapsed


async def trivial(reqs: list[Any]) -> float:
    async def node(req: Any) -> str:
        return "ok"

    t0 = time.perf_counter()
    await asyncio.gather(*(node(r) for r in reqs))
    return time.perf_counter() - t0


async def langgraph(reqs: list[Any], *, call_model: bool = True) -> float:
    backend = SimBackend(seed=1)

    async def call(item: Item) -> dict[str, list[str]]:
        if not call_model:
            return {"texts": ["ok"]}
        response = await backend.complete(item["req"])
        return {"texts": [response.text]}

    def fan_out(state: State) -> list[Send]:
        return [Send("call", {"req": r}) for r in state["reqs"]]

    graph = StateGraph(State)
    graph.add_node("call", call)
    graph.add_conditional_edges(START, fan_out, ["call"])
    graph.add_edge("call", END)
    app = graph.compile()
    t0 = time.perf_counter()
    out = await app.ainvoke({"reqs": reqs, "texts": []}, {"recursion_limit": 10})
    elapsed = time.perf_counter() - t0
    assert len(out["texts"]) == len(reqs)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    reqs = requests(args.calls)
    runners = {
        "bare": bare,
        "session": session,
        "langgraph": langgraph,
        "trivial_bare": trivial,
        "trivial_langgraph": functools.partial(langgraph, call_model=False),
    }
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.repeats):  # interleaved, so drift hits all three alike
        for name, fn in runners.items():
            gc.collect()  # start each run with the same collector state
            times[name].append(asyncio.run(fn(reqs)))
    rate = {k: args.calls / statistics.median(v) for k, v in times.items()}
    result = {
        "calls": args.calls,
        "repeats": args.repeats,
        "calls_per_second": {k: round(v) for k, v in rate.items()},
        "bare_over_session": round(rate["bare"] / rate["session"], 3),
        "session_over_langgraph": round(rate["session"] / rate["langgraph"], 2),
        "bare_over_langgraph": round(rate["bare"] / rate["langgraph"], 2),
        "session_overhead_us": round((1 / rate["session"] - 1 / rate["bare"]) * 1e6, 2),
        "trivial_bare_over_langgraph": round(rate["trivial_bare"] / rate["trivial_langgraph"], 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.calls} simulated calls, median of {args.repeats} interleaved runs")
    for k in ("bare", "session", "langgraph"):
        print(f"  {k:<10} {rate[k]:>10,.0f} calls/s")
    print(
        f"  Session is {result['bare_over_session']:.2f}x slower than the bare loop "
        f"(target <= 1.5): {result['session_overhead_us']:.1f} us per call on top of it"
    )
    print(
        f"  Session is {result['session_over_langgraph']:.1f}x faster than LangGraph "
        f"(target >= 20); the bare loop itself is {result['bare_over_langgraph']:.1f}x"
    )
    print(
        f"trivial nodes: bare gather {rate['trivial_bare']:,.0f}/s, LangGraph "
        f"{rate['trivial_langgraph']:,.0f}/s ({result['trivial_bare_over_langgraph']:.0f}x)"
    )


if __name__ == "__main__":
    main()
