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

The engine runs twice: with the store and without one (``store=None``: the same engine,
nothing written). Each prints LLM primitives per second — calls (one sampled response each) and
forward passes (output tokens) — and its cost relative to the direct loop, in wall and CPU time;
the store's bytes per recorded call and the process's peak memory (max RSS) after the run with
the store. ``--repeats N`` interleaves N rounds of the three and prints medians (the machine
is shared: ratios of runs side by side are what to read). The full paper-scale run is
``--disks 20`` (1,048,575 steps, k = 3); ``--disks 12`` takes seconds.

Run: ``python benchmarks/mdap_scale.py [--disks 20] [--k 3] [--repeats 3] [--no-store]
[--skip-direct] [--json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
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


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _peak_mb() -> float:
    """The process's peak resident memory so far, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disks", type=int, default=20)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--checkpoint-every", type=int, default=10_000)
    parser.add_argument(
        "--no-store", action="store_true", help="Only the engine without the run store."
    )
    parser.add_argument("--skip-direct", action="store_true", help="Only the engine run(s).")
    parser.add_argument(
        "--skip-no-store", action="store_true", help="Not the engine without the store."
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="Rounds of (engine with store, engine without, direct), interleaved; medians.",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    variants = (
        ["memory"] if args.no_store else ["store"] if args.skip_no_store else ["store", "memory"]
    )
    seconds: dict[str, list[float]] = {v: [] for v in [*variants, "direct"]}
    cpu: dict[str, list[float]] = {v: [] for v in seconds}
    result: MdapResult | None = None
    db_bytes = 0
    peak_after_store = 0.0
    d: dict[str, Any] = {}
    for _ in range(args.repeats):
        for variant in variants:
            with tempfile.TemporaryDirectory() as tmp:
                store = os.path.join(tmp, "mdap_scale.db") if variant == "store" else None
                gc.collect()
                t, c, result = asyncio.run(engine(args.disks, args.k, args.checkpoint_every, store))
                if store is not None:
                    db_bytes = os.path.getsize(store)
                    peak_after_store = peak_after_store or _peak_mb()
            seconds[variant].append(t)
            cpu[variant].append(c)
        if not args.skip_direct:
            gc.collect()
            t, c, d = asyncio.run(direct(args.disks, args.k))
            seconds["direct"].append(t)
            cpu["direct"].append(c)
    assert result is not None
    out = result.to_json()
    calls = out["calls"]
    row: dict[str, Any] = {
        "disks": args.disks,
        "k": args.k,
        "steps": result.steps,
        "solved": result.solved,
        "errors": result.errors,
        "calls": calls,
        "votes": out["votes"],
        "flagged": out["flagged"],
        "dollars": round(out["dollars"], 2),
        "output_tokens": out["output_tokens"],
        "repeats": args.repeats,
        "sim_seconds": round(result.sim_seconds, 1),
        "collisions": out["diagnostics"]["collisions"],
        "max_votes": out["diagnostics"]["max_votes"],
        "peak_rss_mb": round(_peak_mb(), 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    for variant in variants:
        t, c = _median(seconds[variant]), _median(cpu[variant])
        name = "engine" if variant == "store" else "engine_no_store"
        row.update(
            {
                f"{name}_seconds": round(t, 2),
                f"{name}_cpu_seconds": round(c, 2),
                f"{name}_calls_per_second": round(calls / t),
                f"{name}_forward_passes_per_second": round(out["output_tokens"] / t),
            }
        )
    if "store" in variants:
        row.update(
            store_bytes=db_bytes,
            store_bytes_per_call=round(db_bytes / calls, 1),
            peak_rss_mb_after_store_run=round(peak_after_store, 1),
        )
    if not args.skip_direct:
        t_direct, cpu_direct = _median(seconds["direct"]), _median(cpu["direct"])
        row.update(
            {
                "direct_seconds": round(t_direct, 2),
                "direct_cpu_seconds": round(cpu_direct, 2),
                "direct_calls": d["calls"],
                "direct_calls_per_second": round(d["calls"] / t_direct),
                "direct_forward_passes_per_second": round(d["output_tokens"] / t_direct),
            }
        )
        for variant in variants:
            name = "engine" if variant == "store" else "engine_no_store"
            # The same calls on both sides (the simulated answers are the same); scaled anyway.
            scale = d["calls"] / calls
            row[f"{name}_over_direct"] = round(_median(seconds[variant]) / t_direct * scale, 2)
            row[f"{name}_over_direct_cpu"] = round(_median(cpu[variant]) / cpu_direct * scale, 2)
            # Round by round: each engine run against the direct run of its own round, which
            # the machine's slower and faster minutes move far less than the medians.
            row[f"{name}_over_direct_cpu_rounds"] = [
                round(c / c_direct * scale, 3)
                for c, c_direct in zip(cpu[variant], cpu["direct"], strict=True)
            ]
    if args.json:
        print(json.dumps(row))
        return
    _print(args, result, out, row, variants)


def _print(
    args: argparse.Namespace,
    result: MdapResult,
    out: dict[str, Any],
    row: dict[str, Any],
    variants: list[str],
) -> None:
    repeats = f", medians of {args.repeats} interleaved runs" if args.repeats > 1 else ""
    print(
        f"Towers of Hanoi, {args.disks} disks: {result.steps:,} steps, k = {args.k}, {MODEL}"
        f"{repeats}; load average {row['load_average'][0]:.2f}"
    )
    labels = {
        "store": ("engine", "engine (store)"),
        "memory": ("engine_no_store", "engine (no store)"),
    }
    for variant in variants:
        name, label = labels[variant]
        print(
            f"  {label:18s} {row[f'{name}_seconds']:8.1f} s  "
            f"{row[f'{name}_calls_per_second']:>8,} calls/s  "
            f"{row[f'{name}_forward_passes_per_second']:>11,} forward passes/s  "
            f"({row[f'{name}_cpu_seconds']:,.1f} s CPU)"
        )
    if "direct_seconds" in row:
        print(
            f"  {'direct':18s} {row['direct_seconds']:8.1f} s  "
            f"{row['direct_calls_per_second']:>8,} calls/s  "
            f"{row['direct_forward_passes_per_second']:>11,} forward passes/s  "
            f"({row['direct_cpu_seconds']:,.1f} s CPU)"
        )
        for variant in variants:
            name, label = labels[variant]
            rounds = row[f"{name}_over_direct_cpu_rounds"]
            per_round = (
                f" (round by round in CPU time: {min(rounds):.2f}–{max(rounds):.2f}, median "
                f"{_median(rounds):.2f})"
                if len(rounds) > 1
                else ""
            )
            print(
                f"  {label} / direct: {row[f'{name}_over_direct']:.2f} in wall time, "
                f"{row[f'{name}_over_direct_cpu']:.2f} in CPU time{per_round}"
            )
    verdict = "solved" if result.solved else f"FAILED ({result.reason})"
    print(
        f"  {verdict}: {out['calls']:,} calls, {out['votes']:,} votes, {out['flagged']:,} flagged,"
        f" ${out['dollars']:,.2f}, {result.errors} errors"
    )
    if "store_bytes" in row:
        print(
            f"  store {row['store_bytes'] / 1e6:,.1f} MB: {row['store_bytes_per_call']:.0f} bytes "
            f"per recorded call; peak memory {row['peak_rss_mb_after_store_run']:,.0f} MB after "
            f"the run with the store ({row['peak_rss_mb']:,.0f} MB at the end)"
        )


if __name__ == "__main__":
    main()
