"""Capture overhead: the same openai SDK program with and without in-process capture.

Against ``hakaru sim serve --latency-scale 0`` (the server answers at once, so the figure is
capture's own cost, not hidden behind a model's latency), one program makes --calls chat
completions back to back and times each one. It runs in three variants, alternated --rounds
times in one run (the first --warmup calls of each execution are not timed):

- ``plain``: the program alone;
- ``spans``: the OpenInference openai instrumentor and hakaru's span processor switched on, no
  run open (what the instrumentor itself costs: spans made, nothing recorded);
- ``capture``: capture on exactly as ``hakaru trace`` switches it on (the bootstrap on
  PYTHONPATH): spans, each call a record, one SQLite commit per call.

The figure is the median wall time per call with capture minus the median without: the
milliseconds capture adds to a call (and, beside it, the CPU time per call of the program's
process, which other processes on a busy machine disturb less). The target, printed with the
figure: at most 1 ms added per call at the median.

Run: ``python benchmarks/capture_overhead.py [--calls 200] [--rounds 3] [--warmup 20] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ADDED_MS_TARGET = 1.0  # at the median, per call
HERE = Path(__file__).resolve()
VARIANTS = ("plain", "spans", "capture")


def worker(url: str, calls: int, warmup: int, spans: bool) -> None:
    """The program: ``warmup`` + ``calls`` completions, each timed; prints the times (ms)."""
    import openai

    if spans:
        from hakaru.capture.instruments import hub

        hub()
    client = openai.OpenAI(base_url=url, api_key="sk-bench", max_retries=0)
    times: list[float] = []
    cpu = 0.0
    for i in range(warmup + calls):
        if i == warmup:
            cpu = time.process_time()
        t0 = time.perf_counter()
        client.chat.completions.create(
            model="gpt-4.1-mini",
            messages=[{"role": "user", "content": f"Add these numbers: {i}, 1"}],
        )
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000)
    cpu_ms = (time.process_time() - cpu) * 1000 / calls
    print(json.dumps({"wall_ms": times, "cpu_ms_per_call": cpu_ms}))


def execute(url: str, args: argparse.Namespace, env: dict[str, str], spans: bool) -> dict:
    argv = [sys.executable, str(HERE), "--worker", url, "--calls", str(args.calls)]
    argv += ["--warmup", str(args.warmup)] + (["--spans"] if spans else [])
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=True)
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--spans", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.calls, args.warmup, args.spans)
        return

    sys.path.insert(0, str(HERE.parents[1] / "tests" / "proxy"))
    from proxy_servers import spawn, stop

    from hakaru.capture.trace import capture_env
    from hakaru.store import RunStore

    proc, url = spawn("sim", "serve", "--port", "0", "--latency-scale", "0")
    wall: dict[str, list[float]] = {v: [] for v in VARIANTS}
    cpu: dict[str, list[float]] = {v: [] for v in VARIANTS}
    try:
        with tempfile.TemporaryDirectory() as tmp, RunStore(Path(tmp) / "h.db") as store:
            run_ids = []
            for _ in range(args.rounds):
                for variant in VARIANTS:
                    env = dict(os.environ)
                    if variant == "capture":
                        run_id = store.new_run("capture", "capture_overhead")
                        run_ids.append(run_id)
                        env = capture_env(env, store, run_id, str(Path(tmp) / "report.json"))
                    got = execute(url, args, env, spans=variant == "spans")
                    wall[variant] += got["wall_ms"]
                    cpu[variant].append(got["cpu_ms_per_call"])
            recorded = sum(len(list(store.calls(r))) for r in run_ids)
    finally:
        stop(proc)
    expected = args.rounds * (args.calls + args.warmup)
    if recorded != expected:
        raise SystemExit(f"capture recorded {recorded} calls, expected {expected}")
    median = {v: statistics.median(wall[v]) for v in VARIANTS}
    cpu_median = {v: statistics.median(cpu[v]) for v in VARIANTS}
    added = median["capture"] - median["plain"]
    result = {
        "calls_per_execution": args.calls,
        "rounds": args.rounds,
        "median_wall_ms": {v: round(x, 4) for v, x in median.items()},
        "cpu_ms_per_call": {v: round(x, 4) for v, x in cpu_median.items()},
        "added_ms_per_call": round(added, 4),
        "added_cpu_ms_per_call": round(cpu_median["capture"] - cpu_median["plain"], 4),
        "recording_ms_per_call": round(median["capture"] - median["spans"], 4),
        "recorded": recorded,
        "target": {"added_ms_max": ADDED_MS_TARGET, "met": added <= ADDED_MS_TARGET},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"openai SDK against hakaru sim serve at zero latency: {args.calls} timed calls per "
        f"execution, {args.rounds} executions per variant, alternated"
    )
    print(f"{'variant':<10}{'median ms/call':>16}{'CPU ms/call':>14}")
    for v in VARIANTS:
        print(f"{v:<10}{median[v]:>16.3f}{cpu_median[v]:>14.3f}")
    verdict = "met" if added <= ADDED_MS_TARGET else "NOT met"
    print(
        f"capture adds {added:.3f} ms per call at the median (target <= {ADDED_MS_TARGET} ms: "
        f"{verdict}); of which recording (capture - spans) {result['recording_ms_per_call']:.3f}"
        f" ms; CPU added {result['added_cpu_ms_per_call']:.3f} ms per call"
    )
    print(f"records committed: {recorded} of {expected} calls")


if __name__ == "__main__":
    main()
