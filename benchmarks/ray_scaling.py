"""Ray scaling: calls per second in-process vs on Ray with 1, 2, 4 and 8 actors, in one run.

Calls reach the actors as Ray actor tasks (batched per actor and event-loop turn), the only way
the Ray executor sends them.

Every call sleeps 200 ms of simulated latency (``SimBackend(real_time=True)`` with a model whose
latency is 0.2 s), so a call costs the driver almost nothing but waiting, as a call to an
inference server does. The session allows ``--concurrency`` calls in flight (default 256); each
Ray actor keeps at most ``--per-actor`` of them (default 64). The concurrency limit of a run is
therefore ``min(concurrency, actors × per_actor)`` — the session is given that limit — and its
ideal throughput ``limit / latency`` calls per second: throughput should grow with actors until
the limit is the session's own, then stay flat.

Printed per run: wall seconds, calls per second, the ideal and their ratio; the latency each call
gained on its way (the time the session waited on ``backend.complete`` minus the 200 ms slept,
mean and 99th percentile: on the in-process executor that is event-loop lag alone); the overhead
Ray itself reports (round trip minus the time in the actor's backend); and the driver's CPU time
per call. A last line times lone calls one after another (no sleep, nothing else in flight): the
bare round trip Ray adds to a call.

The targets, printed with the figures: throughput linear in actors up to the session's
concurrency limit (each run at >= 90 % of its ideal ``limit / latency``), and latency added
per call under that load <= 10 ms (mean; 1 % of a one-second LLM call).

Run: ``python benchmarks/ray_scaling.py [--calls 10000] [--actors 1,2,4,8] [--ray-address auto]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any

from hakaru.backends.base import Backend
from hakaru.backends.sim import SimBackend, SimModel
from hakaru.executors.ray import RayBackend, RayExecutor
from hakaru.session import Session
from hakaru.tasks import GenericKind
from hakaru.types import ModelSpec, Request, Response

EFFICIENCY_TARGET = 0.90  # of the ideal throughput, at every actor count
ADDED_MS_TARGET = 10.0  # ms added per call under load (mean)


def backend(latency: float) -> SimBackend:
    """A backend whose every call sleeps ``latency`` seconds and answers 8 tokens."""
    model = SimModel("sim-bench", ttft=latency, prefill_tps=1e15, decode_tps=1e15)
    return SimBackend(
        seed=1, models=[model], real_time=True, generic=GenericKind(median_tokens=8, sigma=0)
    )


class Timed:
    """Wraps the session's (possibly Ray) backend: how long each ``complete`` took, in s."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.seconds: list[float] = []

    async def complete(self, request: Request) -> Response:
        t0 = time.perf_counter()
        response = await self.inner.complete(request)
        self.seconds.append(time.perf_counter() - t0)
        return response

    def model_spec(self, name: str) -> ModelSpec | None:
        return self.inner.model_spec(name)

    async def aclose(self) -> None:
        await self.inner.aclose()


def machine_busy() -> float:
    """CPU seconds all processes of this machine have used so far (Linux); -inf elsewhere."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return float("-inf")
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


async def one_run(
    calls: int, latency: float, concurrency: int, executor: RayExecutor | None
) -> dict[str, Any]:
    # The executor starts its actors here, before the clock starts.
    session = Session(
        backend(latency), concurrency=concurrency, keep_records=False, executor=executor
    )
    pool = session.backend
    timed = Timed(pool)
    session.backend = timed
    reqs = [Request.chat("sim-bench", f"call {i}", max_tokens=16) for i in range(calls)]
    busy0, cpu0, t0 = machine_busy(), time.process_time(), time.perf_counter()
    async with session:
        await session.map(session.call, reqs)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    busy = machine_busy() - busy0
    assert session.totals()["ok_calls"] == calls
    in_order = [s - latency for s in timed.seconds]  # seconds, in the order calls finished
    added = sorted(in_order)
    out: dict[str, Any] = {
        "wall_s": wall,
        "calls_per_s": calls / wall,
        "added_ms_mean": statistics.fmean(added) * 1e3,
        "added_ms_p50": added[len(added) // 2] * 1e3,
        "added_ms_p99": added[int(0.99 * (len(added) - 1))] * 1e3,
        # the first wave (the `concurrency` calls started at once) apart: its answers all come
        # back together, so it shows the burst the load begins with
        "added_ms_first_wave": statistics.fmean(in_order[:concurrency]) * 1e3,
        "added_ms_after": statistics.fmean(in_order[concurrency:] or [0.0]) * 1e3,
        "driver_cpu_ms_per_call": cpu / calls * 1e3,
        # every process's CPU (driver, actors, Ray's own) as a share of all cores' time
        "machine_busy_pct": busy / (wall * (os.cpu_count() or 1)) * 100 if busy >= 0 else None,
    }
    if isinstance(pool, RayBackend):
        stats = pool.stats()
        out["ray_overhead_ms"] = stats.overhead * 1e3
        out["calls_per_batch"] = stats.calls / stats.batches
        out["served_min_max"] = [min(stats.served), max(stats.served)]
        await pool.aclose()
    return out


async def lone_calls(b: Backend, n: int) -> float:
    """Mean ms per call, one at a time, on a backend that does not sleep."""
    req = Request.chat("sim-bench", "one", max_tokens=16)
    for _ in range(20):  # warm up
        await b.complete(req)
    t0 = time.perf_counter()
    for _ in range(n):
        await b.complete(req)
    return (time.perf_counter() - t0) / n * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=10_000, help="calls per run")
    ap.add_argument("--latency", type=float, default=0.2, help="seconds each call sleeps")
    ap.add_argument("--actors", default="1,2,4,8", help="comma-separated actor counts")
    ap.add_argument("--per-actor", type=int, default=64, help="calls in flight per actor")
    ap.add_argument("--concurrency", type=int, default=256, help="the session's limit")
    ap.add_argument("--lone", type=int, default=1000, help="lone calls timed one by one")
    ap.add_argument("--ray-address", default=None, help="'auto' or an address; default: local")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    actor_counts = [int(a) for a in args.actors.split(",")]

    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    t0 = time.perf_counter()
    if args.ray_address:
        ray.init(address=args.ray_address, log_to_driver=False)
    else:
        ray.init("local", include_dashboard=False, log_to_driver=False)
    started = time.perf_counter() - t0

    rows = [
        {"executor": "in-process", "actors": 0, "limit": args.concurrency}
        | asyncio.run(one_run(args.calls, args.latency, args.concurrency, None))
    ]
    for n in actor_counts:
        executor = RayExecutor(actors=n, max_concurrency=args.per_actor)
        # The session holds the calls beyond what the actors take, so that every call the
        # pool receives is sent at once and "added ms" measures transport, not queueing.
        limit = min(args.concurrency, n * args.per_actor)
        result = asyncio.run(one_run(args.calls, args.latency, limit, executor))
        rows.append({"executor": "ray", "actors": n, "limit": limit} | result)
    for row in rows:
        row["ideal_calls_per_s"] = row["limit"] / args.latency
        row["efficiency"] = row["calls_per_s"] / row["ideal_calls_per_s"]

    lone = {"in_process_ms": asyncio.run(lone_calls(backend(0.0), args.lone))}
    pool = RayExecutor(actors=1).wrap(backend(0.0))
    lone["ray_ms"] = asyncio.run(lone_calls(pool, args.lone))
    lone["ray_added_ms"] = lone["ray_ms"] - lone["in_process_ms"]
    asyncio.run(pool.aclose())
    ray.shutdown()

    ours = [r for r in rows if r["executor"] == "ray"]
    targets = {
        "efficiency_min": min(r["efficiency"] for r in ours),
        "efficiency_target": EFFICIENCY_TARGET,
        "added_ms_max": max(r["added_ms_mean"] for r in ours),
        "added_ms_target": ADDED_MS_TARGET,
    }
    targets["met"] = (
        targets["efficiency_min"] >= EFFICIENCY_TARGET
        and targets["added_ms_max"] <= ADDED_MS_TARGET
    )
    if args.json:
        report = {
            "args": vars(args),
            "cluster_start_s": started,
            "runs": rows,
            "lone": lone,
            "targets": targets,
        }
        print(json.dumps(report))
        return
    print(
        f"{args.calls} calls of {args.latency * 1e3:g} ms each; session concurrency "
        f"{args.concurrency}, {args.per_actor} calls per actor; {os.cpu_count()} CPUs; "
        f"Ray cluster started in {started:.1f} s"
    )
    head = (
        f"{'executor':<10} {'actors':>6} {'limit':>5} {'wall s':>7} {'calls/s':>8} "
        f"{'ideal':>6} {'ratio':>5} | {'added ms':>8} {'p50':>6} {'p99':>6} {'Ray ms':>6} "
        f"{'CPU ms':>6} {'batch':>5} {'busy':>5} | {'wave 1':>6} {'after':>5}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        overhead = row.get("ray_overhead_ms")
        batch = row.get("calls_per_batch")
        busy = row.get("machine_busy_pct")
        print(
            f"{row['executor']:<10} {row['actors'] or '-':>6} {row['limit']:>5} "
            f"{row['wall_s']:>7.2f} {row['calls_per_s']:>8.0f} {row['ideal_calls_per_s']:>6.0f} "
            f"{row['efficiency']:>5.2f} | {row['added_ms_mean']:>8.2f} "
            f"{row['added_ms_p50']:>6.2f} {row['added_ms_p99']:>6.1f} "
            f"{'-' if overhead is None else f'{overhead:.2f}':>6} "
            f"{row['driver_cpu_ms_per_call']:>6.3f} {'-' if batch is None else f'{batch:.0f}':>5} "
            f"{'-' if busy is None else f'{busy:.0f}%':>5} | {row['added_ms_first_wave']:>6.1f} "
            f"{row['added_ms_after']:>5.2f}"
        )
    print(
        "added ms: latency a call gained beyond its sleep (mean, p50, p99); Ray ms: round trip "
        "minus time in the actor's backend; CPU ms: driver CPU per call; batch: calls per actor "
        "task; busy: CPU time of every process on the machine, as a share of all its cores; "
        "wave 1, after: added ms (mean) of the first `limit` calls to finish, and of the rest"
    )
    base = rows[0]["added_ms_mean"]
    extra = [r["added_ms_mean"] - base for r in ours]
    rates = ", ".join(f"{r['calls_per_s']:.0f}" for r in ours)
    counts = ", ".join(str(r["actors"]) for r in ours)
    low, high = targets["efficiency_min"], max(r["efficiency"] for r in ours)
    print(
        f"throughput: {rates} calls/s with {counts} actors = {low:.0%}-{high:.0%} of the ideal "
        f"(target: >= {EFFICIENCY_TARGET:.0%} at every count, linear up to the session's limit "
        f"{args.concurrency}) -- {'met' if low >= EFFICIENCY_TARGET else 'NOT met'}"
    )
    least, most = min(r["added_ms_mean"] for r in ours), targets["added_ms_max"]
    print(
        f"added latency per call under load: {least:.2f}-{most:.2f} ms (mean; "
        f"{min(extra):.2f}-{max(extra):.2f} ms more than in-process) (target: <= "
        f"{ADDED_MS_TARGET:g} ms) -- {'met' if most <= ADDED_MS_TARGET else 'NOT met'}"
    )
    print(
        f"lone calls, one at a time: in-process {lone['in_process_ms']:.3f} ms; Ray "
        f"{lone['ray_ms']:.3f} ms (adds {lone['ray_added_ms']:.2f} ms)"
    )


if __name__ == "__main__":
    main()
