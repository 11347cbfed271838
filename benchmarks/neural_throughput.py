"""neural-sum throughput: calls per second with dynamic batching against one call at a time,
side by side in one run, on the committed weights.

The calls are tree-sum's first level at fan-in 4 (4 numbers of 0..9 each, leaf_max 9, greedy).
Batched: all calls are made concurrently and the backend merges up to ``--max-batch`` of them
into one forward pass per step (bounded wait 2 ms). One by one: the same calls awaited in turn on a
backend that never waits (``max_wait=0``), so each runs alone. Both use one torch thread.
The answers of the two runs are compared (they must be equal: greedy decoding).

With ``--model neural-hanoi`` the calls are MAKER steps instead: random steps of the optimal
8-disk solution (the ``hanoi-step`` prompt, greedy) on the committed neural-hanoi weights.

Run: ``python benchmarks/neural_throughput.py [--calls 512] [--max-batch 64]
[--model neural-sum|neural-hanoi] [--json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time

from hakaru.neural.backend import NeuralBackend
from hakaru.tasks import task_kind
from hakaru.types import Request


def calls(n: int, seed: int = 0) -> list[Request]:
    rng, kind = random.Random(seed), task_kind("sum")
    return [
        kind.request("neural-sum", {"numbers": [rng.randrange(10) for _ in range(4)]})
        for _ in range(n)
    ]


def hanoi_calls(n: int, seed: int = 0, disks: int = 8) -> list[Request]:
    from hakaru.mdap.hanoi import HANOI_KIND
    from hakaru.mdap.hanoi.rules import move_at, state_at

    rng = random.Random(seed)
    reqs = []
    for _ in range(n):
        t = rng.randrange((1 << disks) - 1)
        payload = HANOI_KIND.payload(disks, state_at(disks, t), move_at(disks, t) if t else None)
        reqs.append(Request(model="neural-hanoi", messages=HANOI_KIND.messages(payload)))
    return reqs


async def batched(
    reqs: list[Request], max_batch: int, model: str = "neural-sum"
) -> tuple[float, list[str], float]:
    backend = NeuralBackend(model, max_batch=max_batch, max_wait=0.002, threads=1)
    t0 = time.perf_counter()
    out = await asyncio.gather(*(backend.complete(r) for r in reqs))
    seconds = time.perf_counter() - t0
    mean_batch = sum(backend.work.batch_sizes) / len(backend.work.batch_sizes)
    return seconds, [r.text for r in out], mean_batch


async def one_by_one(reqs: list[Request], model: str = "neural-sum") -> tuple[float, list[str]]:
    backend = NeuralBackend(model, max_wait=0, threads=1)
    t0 = time.perf_counter()
    out = [await backend.complete(r) for r in reqs]
    return time.perf_counter() - t0, [r.text for r in out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=512)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--model", choices=["neural-sum", "neural-hanoi"], default="neural-sum")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    reqs = hanoi_calls(args.calls) if args.model == "neural-hanoi" else calls(args.calls)
    t_one, one = asyncio.run(one_by_one(reqs, args.model))
    t_batch, together, mean_batch = asyncio.run(batched(reqs, args.max_batch, args.model))
    result = {
        "model": args.model,
        "calls": args.calls,
        "max_batch": args.max_batch,
        "mean_batch": round(mean_batch, 1),
        "one_by_one_calls_per_s": round(args.calls / t_one, 1),
        "batched_calls_per_s": round(args.calls / t_batch, 1),
        "speedup": round(t_one / t_batch, 2),
        "same_answers": one == together,
        "target_met": t_one / t_batch >= 5,
    }
    if args.json:
        print(json.dumps(result))
        return
    what = "8-disk MAKER steps" if args.model == "neural-hanoi" else "4 numbers"
    print(f"{args.model}, {args.calls} calls of {what}, greedy, 1 torch thread")
    print(f"  one by one : {result['one_by_one_calls_per_s']:>8} calls/s")
    print(
        f"  batched    : {result['batched_calls_per_s']:>8} calls/s "
        f"(mean batch {result['mean_batch']}, max {args.max_batch})"
    )
    print(f"  speedup    : {result['speedup']}x (target >= 5x: {result['target_met']})")
    print(f"  same answers: {result['same_answers']}")


if __name__ == "__main__":
    main()
