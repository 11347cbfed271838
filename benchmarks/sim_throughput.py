"""Simulated-LLM throughput: a million calls through the full Session, side by side with the
same calls made directly on the simulated backend.

Simulated latency is accounted, never slept, so a million calls take seconds. Calls go in waves
of 1,000 concurrent ``sum`` calls on ``sim-adder``; the session keeps no records in memory
(``keep_records=False``: totals stay exact), as a million-call run would.

Run: ``python benchmarks/sim_throughput.py [--calls 1000000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from typing import Any

from hakaru.backends.sim import SimBackend
from hakaru.session import Session
from hakaru.tasks import task_kind
from hakaru.types import Request

WAVE = 1000


def wave(start: int) -> list[Request]:
    kind = task_kind("sum")
    return [
        kind.request("sim-adder", {"numbers": [i, 1, 2, 3]}) for i in range(start, start + WAVE)
    ]


async def direct(n: int) -> float:
    backend = SimBackend(seed=1)
    t0 = time.perf_counter()
    for base in range(0, n, WAVE):
        await asyncio.gather(*(backend.complete(r) for r in wave(base)))
    return time.perf_counter() - t0


async def session(n: int) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    async with Session(SimBackend(seed=1), keep_records=False) as s:
        for base in range(0, n, WAVE):
            await s.map(s.call, wave(base))
    return time.perf_counter() - t0, s.totals()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n = args.calls - args.calls % WAVE
    gc.collect()
    t_direct = asyncio.run(direct(n))
    gc.collect()
    t_session, totals = asyncio.run(session(n))
    assert totals["calls"] == n
    out = {
        "calls": n,
        "direct_seconds": round(t_direct, 2),
        "session_seconds": round(t_session, 2),
        "direct_calls_per_second": round(n / t_direct),
        "session_calls_per_second": round(n / t_session),
        "session_over_direct": round(t_session / t_direct, 2),
        "simulated_seconds": round(totals["sim_seconds"], 1),
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"{n:,} simulated calls in waves of {WAVE:,}")
    print(f"  direct on the sim backend  {t_direct:7.1f} s  {n / t_direct:>9,.0f} calls/s")
    print(f"  through Session            {t_session:7.1f} s  {n / t_session:>9,.0f} calls/s")
    covered = totals["sim_seconds"]
    print(f"  ratio {t_session / t_direct:.2f}; simulated time covered: {covered:,.0f} s")


if __name__ == "__main__":
    main()
