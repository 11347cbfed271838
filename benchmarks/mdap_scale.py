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
the store. ``--floor`` adds the floor under any engine, with the store and without: the direct
loop with each call recorded as the engine records it — its row, the ledger, the store's rows —
and nothing else (:class:`Floor`), and the engine's cost relative to it. ``--repeats N``
interleaves N rounds of the runs and prints medians (the machine is shared: ratios of runs side
by side are what to read). The full paper-scale run is ``--disks 20`` (1,048,575 steps,
k = 3); ``--disks 12`` takes seconds.

Run: ``python benchmarks/mdap_scale.py [--disks 20] [--k 3] [--repeats 3] [--no-store]
[--skip-direct] [--floor] [--json]``.
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
from hakaru.errors import RedFlag
from hakaru.happens_before import Frontier, merge
from hakaru.ledger import Ledger
from hakaru.mdap.batched_store import BatchedStore
from hakaru.mdap.driver import DriverConfig, MdapResult, run_mdap
from hakaru.mdap.hanoi import HANOI_MODELS, HanoiTask
from hakaru.patterns.validators import strict
from hakaru.patterns.vote import decided, margin
from hakaru.pricing import PriceBook, Prices
from hakaru.records import RecordKeeping
from hakaru.session import Session
from hakaru.store import RunStore
from hakaru.types import CallStatus, RecordRow, Request, Response

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


async def direct(
    disks: int, k: int, floor: Floor | None = None
) -> tuple[float, float, dict[str, Any]]:
    """The same MDAP without the engine: the backend called in a loop, votes tallied inline.
    With ``floor``, each call is also recorded as :class:`Floor` records it."""
    backend = SimBackend(seed=1, models=HANOI_MODELS.values())
    task = HanoiTask(disks)
    config = DriverConfig(MODEL, k=k)
    validate = strict(task.parse, max_output_tokens=config.max_output_tokens)
    previous, state = task.start()
    calls = out_tokens = 0
    wrong = 0
    began = 0.0
    t0, c0 = time.perf_counter(), time.process_time()
    if floor is not None:
        floor.open(backend)
    for step in range(1, task.steps + 1):
        base = task.kind.request(
            MODEL,
            task.payload(previous, state),
            role=config.role,
            step=step,
            max_tokens=config.max_tokens,
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
            if floor is not None:
                began = time.perf_counter()
            response = await backend.complete(request)
            calls += 1
            out_tokens += response.usage.output_tokens
            try:
                cand = validate(response)
            except RedFlag as flag:
                if floor is not None:
                    floor.flagged(request, response, flag, began)
                continue
            counts[cand] = counts.get(cand, 0) + 1
            if floor is not None:
                floor.voted(request, response, cand, began, counts, k)
            if decided(counts, cand, k):
                winner = cand
        wrong += winner != task.truth(previous, state)
        previous, state = winner
    if floor is not None:
        floor.close()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    return elapsed, cpu, {"calls": calls, "output_tokens": out_tokens, "wrong_steps": wrong}


class Floor:
    """What any engine that records what the issue asks for must do per call, and nothing else.

    Each call's record is built by the session's own code (``RecordKeeping._record``, with
    the same fields: id, tokens, dollars at the model's prices, wall and simulated times, step,
    vote, candidate or red flag), with the parents the engine's vote gives it — a round of
    draws depends on the round before (the step before, for the first), a redraw on the
    flagged draw it replaces (:mod:`hakaru.patterns.vote`). Each record is added to a
    :class:`~hakaru.ledger.Ledger` (totals, online work and span under the six cost models)
    and, with a store, written with :meth:`RunStore.add_rows <hakaru.store.RunStore.add_rows>`
    in transactions of 4,096 rows. No session, admission, sample numbering, budget,
    happens-before context, vote bookkeeping, diagnostics, verification or checkpoints: the
    cost of the recording alone, the floor under any engine. The records equal the engine's
    but for wall-clock times and run ids (``tests/test_benchmarks_smoke.py`` checks it).
    """

    def __init__(self, store: str | None) -> None:
        self.ledger = Ledger(keep_records=False)
        self.path = store

    def open(self, backend: SimBackend) -> None:
        spec = backend.model_spec(MODEL)
        assert spec is not None
        self.spec = spec
        self.store = None if self.path is None else RunStore(self.path)
        run_id = "floor" if self.store is None else self.store.new_run("maker", "floor")
        self.records = _Records(run_id, PriceBook().resolve(MODEL, spec), self.ledger)
        self.rows: list[RecordRow] = []
        self.fork: Frontier = ((), self.ledger.zero)  # where the round's draws start
        self.here: Frontier = self.fork  # where the next draw starts
        self.ended: list[Frontier] = []  # the round's valid draws
        self.left = 0  # valid draws left in the round; 0: a new step

    def flagged(self, request: Request, response: Response, flag: RedFlag, began: float) -> None:
        """A flagged draw: recorded; the redraw depends on it."""
        row = self._row(request, response, "flagged", flag, began)
        self.here = ((row[0],), self.ledger.add_row(row, self.here[1]))

    def voted(
        self,
        request: Request,
        response: Response,
        cand: Any,
        began: float,
        counts: dict[Any, int],
        k: int,
    ) -> None:
        """A valid draw (``counts`` tallied with it): recorded; a round ends after its
        ``k − margin`` valid draws, and the next round depends on them."""
        response.parsed = cand  # as the session stores what the validator returned
        row = self._row(request, response, "ok", None, began)
        if self.left == 0:  # the first round of a step: k draws
            self.left = k
        self.ended.append(((row[0],), self.ledger.add_row(row, self.here[1])))
        self.left -= 1
        if self.left <= 0:  # the round is over: the next draws depend on all of it
            self.fork = merge(self.ended)
            self.ended = []
            self.left = max(0, k - margin(counts))  # 0: the step is decided
        self.here = self.fork

    def _row(
        self,
        request: Request,
        response: Response,
        status: CallStatus,
        flag: RedFlag | None,
        began: float,
    ) -> RecordRow:
        parents, start = self.here
        row = self.records._record(
            request, self.spec, parents, 1, status, began, start, response, flag
        )
        if self.store is not None:
            self.rows.append(row)
            if len(self.rows) >= 4096:
                self.store.add_rows(self.records.run_id, self.rows)
                self.rows = []
        return row

    def close(self) -> None:
        if self.store is not None:
            self.store.add_rows(self.records.run_id, self.rows)
            self.store.finish_run(self.records.run_id)
            self.store.close()


class _Records(RecordKeeping):
    """The session's record building (:class:`~hakaru.records.RecordKeeping`) with the state
    it reads, and no session around it."""

    def __init__(self, run_id: str, prices: Prices | None, ledger: Ledger) -> None:
        self.run_id = run_id
        self._priced = {MODEL: prices}
        self._next_id = 1
        self._t0 = time.perf_counter()
        self._lat = ledger.names.index("latency")
        self._last_parsed = (None, "")


#: The runs by their names in the printed figures.
NAMES = {
    "store": "engine",
    "memory": "engine_no_store",
    "floor": "floor",
    "floor_no_store": "floor_no_store",
}


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
    parser.add_argument(
        "--floor",
        action="store_true",
        help="Also the direct loop with each call recorded and nothing else (class Floor), "
        "with the store and without: the floor under any engine.",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats {args.repeats}: give 1 or more rounds")
    if args.floor and args.skip_direct:
        parser.error("--floor is measured against the direct loop: drop --skip-direct")
    variants = (
        ["memory"] if args.no_store else ["store"] if args.skip_no_store else ["store", "memory"]
    )
    floors = ["floor", "floor_no_store"] if args.floor else []
    seconds: dict[str, list[float]] = {v: [] for v in [*variants, *floors, "direct"]}
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
        for variant in floors:
            with tempfile.TemporaryDirectory() as tmp:
                store = os.path.join(tmp, "floor.db") if variant == "floor" else None
                floor = Floor(store)
                gc.collect()
                t, c, _ = asyncio.run(direct(args.disks, args.k, floor))
            seconds[variant].append(t)
            cpu[variant].append(c)
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
        name = NAMES[variant]
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
        if floors:
            totals = floor.ledger.totals()  # the last floor run's: every run records the same
            row.update(floor_calls=totals["calls"], floor_dollars=round(totals["dollars"], 2))
            for variant in floors:
                row[f"{variant}_seconds"] = round(_median(seconds[variant]), 2)
                row[f"{variant}_cpu_seconds"] = round(_median(cpu[variant]), 2)
        for variant in [*variants, *floors]:
            name = NAMES[variant]
            # The same calls on both sides (the simulated answers are the same); scaled anyway.
            scale = 1.0 if variant in floors else d["calls"] / calls
            row[f"{name}_over_direct"] = round(_median(seconds[variant]) / t_direct * scale, 2)
            row[f"{name}_over_direct_cpu"] = round(_median(cpu[variant]) / cpu_direct * scale, 2)
            # Round by round: each run against the direct run of its own round, which the
            # machine's slower and faster minutes move far less than the medians.
            row[f"{name}_over_direct_cpu_rounds"] = [
                round(c / c_direct * scale, 3)
                for c, c_direct in zip(cpu[variant], cpu["direct"], strict=True)
            ]
        for engine_run, floor_run in (("store", "floor"), ("memory", "floor_no_store")):
            if engine_run in variants and floor_run in floors:
                # What the engine adds to the recording, run against run in the same round.
                name = f"{NAMES[engine_run]}_over_floor_cpu_rounds"
                row[name] = [
                    round(c / c_floor * d["calls"] / calls, 3)
                    for c, c_floor in zip(cpu[engine_run], cpu[floor_run], strict=True)
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
        "store": "engine (store)",
        "memory": "engine (no store)",
        "floor": "floor (store)",
        "floor_no_store": "floor (no store)",
    }
    for variant in variants:
        name, label = NAMES[variant], labels[variant]
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
        floors = [v for v in ("floor", "floor_no_store") if f"{v}_seconds" in row]
        for variant in floors:
            print(
                f"  {labels[variant]:18s} {row[f'{variant}_seconds']:8.1f} s  "
                f"({row[f'{variant}_cpu_seconds']:,.1f} s CPU): the direct loop with each call "
                "recorded, nothing else"
            )
        for variant in [*variants, *floors]:
            name, label = NAMES[variant], labels[variant]
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
        for variant in variants:
            name, label = NAMES[variant], labels[variant]
            over = row.get(f"{name}_over_floor_cpu_rounds")
            if over:
                print(
                    f"  {label} / {labels['floor' if variant == 'store' else 'floor_no_store']}:"
                    f" {_median(over):.2f} in CPU time, round by round "
                    f"{min(over):.2f}–{max(over):.2f}"
                )
        if floors:
            print(
                f"  the floor recorded {row['floor_calls']:,} calls, ${row['floor_dollars']:,.2f}"
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
