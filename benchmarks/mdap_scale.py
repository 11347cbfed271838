"""MAKER at scale: Towers of Hanoi through the real engine, side by side with a direct loop.

Two runs of the same MDAP (``--disks`` disks, 2^D − 1 steps, first-to-ahead-by-k voting with red
flags on the simulated ``sim-hanoi-mini``), in one process:

- engine — :func:`hakaru.mdap.driver.run_mdap` through :class:`~hakaru.session.Session`: every
  vote a recorded call streamed to a SQLite run store (``keep_records=False``, so memory stays
  bounded; ``durability="batch"``; a checkpoint every ``--checkpoint-every`` steps), the ledger,
  happens-before tracking, diagnostics and the simulator's verification of every step;
- direct — the same steps, prompts, validator and voting rule, calling ``SimBackend.complete``
  directly in a plain loop, one draw at a time: no session, no ledger, no store, no checkpoints,
  no diagnostics. The simulated answers are the same, so both make exactly the same calls.

Both print LLM primitives per second — calls (one sampled response each) and forward passes
(output tokens) — and the engine's cost relative to the direct loop. The full paper-scale run
is ``--disks 20`` (1,048,575 steps, k = 3); ``--disks 12`` takes seconds.

Run: ``python benchmarks/mdap_scale.py [--disks 20] [--k 3] [--json] [--skip-direct]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import tempfile
import time
from dataclasses import replace
from typing import Any

from hakaru.backends.sim import SimBackend
from hakaru.mdap.batched_store import BatchedStore
from hakaru.mdap.driver import DriverConfig, MdapResult, run_mdap
from hakaru.mdap.hanoi import HANOI_MODELS, HanoiTask
from hakaru.patterns.validators import strict
from hakaru.patterns.vote import decided
from hakaru.session import Session

MODEL = "sim-hanoi-mini"


async def engine(
    disks: int, k: int, every: int, store: str | None
) -> tuple[float, float, MdapResult]:
    backend = SimBackend(seed=1, models=HANOI_MODELS.values())
    t0, c0 = time.perf_counter(), time.process_time()
    opened = None if store is None else BatchedStore(store)  # as `hakaru maker run` does
    async with Session(
        backend,
        keep_records=False,
        store=opened,
        durability="batch",
        run_kind="maker",
        run_name="hanoi",
        run_params={"task": "hanoi", "disks": disks, "k": k, "model": MODEL},
    ) as s:
        result = await run_mdap(
            s, HanoiTask(disks), DriverConfig(MODEL, k=k, checkpoint_every=every)
        )
    if opened is not None:
        opened.close()
    return time.perf_counter() - t0, time.process_time() - c0, result


async def direct(disks: int, k: int) -> tuple[float, float, dict[str, Any]]:
    """The same MDAP without the engine: the backend called in a loop, votes tallied inline."""
    backend = SimBackend(seed=1, models=HANOI_MODELS.values())
    task = HanoiTask(disks)
    config = DriverConfig(MODEL, k=k)
    validate = strict(task.parse, max_output_tokens=config.max_output_tokens)
    previous, state = task.start()
    calls = out_tokens = 0
    wrong = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for step in range(1, task.steps + 1):
        base = task.kind.request(
            MODEL, task.payload(previous, state), step=step, max_tokens=config.max_tokens
        )
        counts: dict[Any, int] = {}
        seen: dict[float, int] = {}  # samples per temperature: the session numbers them so
        draw = 0
        winner = None
        while winner is None:
            t = config.temperatures[min(draw, len(config.temperatures) - 1)]
            sample = seen.get(t, 0)
            seen[t] = sample + 1
            request = replace(base, temperature=t, vote=draw, sample=sample)
            draw += 1
            response = await backend.complete(request)
            calls += 1
            out_tokens += response.usage.output_tokens
            try:
                cand = validate(response)
            except Exception:
                continue
            counts[cand] = counts.get(cand, 0) + 1
            if decided(counts, cand, k):
                winner = cand
        wrong += winner != task.truth(previous, state)
        previous, state = winner
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    return elapsed, cpu, {"calls": calls, "output_tokens": out_tokens, "wrong_steps": wrong}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disks", type=int, default=20)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--checkpoint-every", type=int, default=10_000)
    parser.add_argument("--no-store", action="store_true", help="Engine without the run store.")
    parser.add_argument("--skip-direct", action="store_true", help="Only the engine run.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = None if args.no_store else os.path.join(tmp, "mdap_scale.db")
        gc.collect()
        t_engine, cpu_engine, result = asyncio.run(
            engine(args.disks, args.k, args.checkpoint_every, store)
        )
        db_bytes = os.path.getsize(store) if store else 0
    out = result.to_json()
    row: dict[str, Any] = {
        "disks": args.disks,
        "k": args.k,
        "steps": result.steps,
        "solved": result.solved,
        "errors": result.errors,
        "calls": out["calls"],
        "votes": out["votes"],
        "flagged": out["flagged"],
        "dollars": round(out["dollars"], 2),
        "output_tokens": out["output_tokens"],
        "engine_seconds": round(t_engine, 2),
        "engine_cpu_seconds": round(cpu_engine, 2),
        "engine_calls_per_second": round(out["calls"] / t_engine),
        "engine_forward_passes_per_second": round(out["output_tokens"] / t_engine),
        "store_bytes": db_bytes,
        "sim_seconds": round(result.sim_seconds, 1),
        "collisions": out["diagnostics"]["collisions"],
        "max_votes": out["diagnostics"]["max_votes"],
    }
    if not args.skip_direct:
        gc.collect()
        t_direct, cpu_direct, d = asyncio.run(direct(args.disks, args.k))
        row.update(
            {
                "direct_seconds": round(t_direct, 2),
                "direct_cpu_seconds": round(cpu_direct, 2),
                "direct_calls": d["calls"],
                "direct_calls_per_second": round(d["calls"] / t_direct),
                "direct_forward_passes_per_second": round(d["output_tokens"] / t_direct),
                "engine_over_direct": round(t_engine / t_direct * d["calls"] / out["calls"], 2),
                "engine_over_direct_cpu": round(cpu_engine / cpu_direct, 2),
            }
        )
    if args.json:
        print(json.dumps(row))
        return
    print(
        f"Towers of Hanoi, {args.disks} disks: {result.steps:,} steps, k = {args.k}, {MODEL}"
        f"{'' if store else ' (no store)'}"
    )
    print(
        f"  engine  {t_engine:8.1f} s  {row['engine_calls_per_second']:>8,} calls/s  "
        f"{row['engine_forward_passes_per_second']:>11,} forward passes/s  "
        f"({cpu_engine:,.1f} s CPU)"
    )
    if "direct_seconds" in row:
        print(
            f"  direct  {row['direct_seconds']:8.1f} s  {row['direct_calls_per_second']:>8,} "
            f"calls/s  {row['direct_forward_passes_per_second']:>11,} forward passes/s  "
            f"({row['direct_cpu_seconds']:,.1f} s CPU)"
        )
        print(
            f"  engine / direct: {row['engine_over_direct']:.2f} in wall time, "
            f"{row['engine_over_direct_cpu']:.2f} in CPU time"
        )
    verdict = "solved" if result.solved else f"FAILED ({result.reason})"
    print(
        f"  {verdict}: {out['calls']:,} calls, {out['votes']:,} votes, {out['flagged']:,} flagged,"
        f" ${out['dollars']:,.2f}, {result.errors} errors; {db_bytes / 1e6:,.0f} MB store"
    )


if __name__ == "__main__":
    main()
