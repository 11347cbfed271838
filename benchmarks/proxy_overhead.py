"""Proxy overhead: the simulated server direct versus through the recording proxy, same load.

Three processes, as in real use: ``hakaru sim serve``, ``hakaru proxy --upstream <sim>`` (recording
into a fresh run store) and this one, which drives the load with aiohttp's client
(:mod:`hakaru.proxy.loadgen`): C connections sending chat completions back to back. For each C in
--clients the direct and the proxied run alternate --repeats times, the clients' first requests
spread evenly over one call's latency (so they arrive as a steady stream, not in lockstep
bursts of C); the medians are compared.

The targets, printed with the figures: at 64 clients against the simulated server at its
default latency (``--latency-scale 1``), the proxy keeps >= 95 % of direct throughput and adds
<= 3 ms at the median (p50), in one run. The simulated server sleeps each call's simulated
latency times --latency-scale (sim-oracle on these prompts: about 140 ms at scale 1, the time to
first token of a small model). With --latency-scale 0 the server answers at once and the run
measures raw request handling, a stress test: the proxy does the server's HTTP work twice,
plus forwarding and recording.

--client chooses the proxy's upstream client (aiohttp, the default, or httpx2). --load N then
sends N requests through the proxy (64 clients), stops it, and checks that the store holds
exactly one record per request the server served.

Run: ``python benchmarks/proxy_overhead.py [--latency-scale 1] [--clients 1,16,64]
[--requests 2000] [--repeats 3] [--client aiohttp|httpx2] [--load 100000] [--json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from hakaru.proxy.loadgen import LoadResult, run_load
from hakaru.store import RunStore

THROUGHPUT_TARGET = 0.95  # of direct, at 64 clients
ADDED_P50_TARGET = 3.0  # ms added at the median, at 64 clients


def spawn(*args: str) -> tuple[subprocess.Popen[str], str, int]:
    """Start ``hakaru ARGS…`` and return it with the host and port it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hakaru.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"http://([\d.]+):(\d+)/v1", line)
    if match is None:
        proc.kill()
        raise RuntimeError(f"hakaru {' '.join(args)} did not start: {line!r}")
    return proc, match.group(1), int(match.group(2))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


def load(host: str, port: int, clients: int, requests: int, stagger: float = 0.0) -> LoadResult:
    return asyncio.run(run_load(host, port, clients=clients, requests=requests, stagger=stagger))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-scale", type=float, default=1.0)
    parser.add_argument("--clients", default="1,16,64")
    parser.add_argument("--requests", type=int, default=0, help="per run [default: by C]")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--load", type=int, default=0, help="then N requests through the proxy")
    parser.add_argument("--client", choices=["aiohttp", "httpx2"], default="aiohttp")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]

    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="hakaru-bench-"))
    store_path = tmp / "hakaru.db"
    scale = f"{args.latency_scale:g}"
    sim, sim_host, sim_port = spawn("sim", "serve", "--port", "0", "--latency-scale", scale)
    upstream = f"http://{sim_host}:{sim_port}/v1"
    proxy, px_host, px_port = spawn(
        "proxy", "--upstream", upstream, "--port", "0", "--store", str(store_path),
        "--client", args.client,
    )  # fmt: skip
    rows = []
    try:
        load(sim_host, sim_port, 64, 640)  # warm both up: connections, caches
        load(px_host, px_port, 64, 640)
        latency = load(sim_host, sim_port, 1, 5).percentile(0.5)  # seconds, one call direct
        for c in clients:
            n = args.requests or max(50, 40 * c)
            direct: list[LoadResult] = []
            proxied: list[LoadResult] = []
            sim_cpu = proxy_cpu = 0.0  # CPU seconds: the server in direct runs, the proxy
            for _ in range(args.repeats):  # alternating, so drift hits both alike
                before = cpu_seconds(sim.pid)
                direct.append(load(sim_host, sim_port, c, n, latency))
                sim_cpu += cpu_seconds(sim.pid) - before
                before = cpu_seconds(proxy.pid)
                proxied.append(load(px_host, px_port, c, n, latency))
                proxy_cpu += cpu_seconds(proxy.pid) - before
            errors = sum(r.errors for r in direct + proxied)

            def med(results: list[LoadResult], what: str) -> float:
                if what == "rps":
                    return statistics.median(r.rps for r in results)
                q = 0.5 if what == "p50" else 0.99
                return statistics.median(r.percentile(q) for r in results)

            row = {
                "clients": c,
                "requests": n,
                "direct_rps": round(med(direct, "rps"), 1),
                "proxy_rps": round(med(proxied, "rps"), 1),
                "throughput_ratio": round(med(proxied, "rps") / med(direct, "rps"), 3),
                "direct_p50_ms": round(med(direct, "p50") * 1e3, 3),
                "proxy_p50_ms": round(med(proxied, "p50") * 1e3, 3),
                "added_p50_ms": round((med(proxied, "p50") - med(direct, "p50")) * 1e3, 3),
                "added_p99_ms": round((med(proxied, "p99") - med(direct, "p99")) * 1e3, 3),
                "server_cpu_us_per_request": round(sim_cpu / (n * args.repeats) * 1e6),
                "proxy_cpu_us_per_request": round(proxy_cpu / (n * args.repeats) * 1e6),
                "errors": errors,
            }
            rows.append(row)
        served_before = json.loads(
            urllib.request.urlopen(f"http://{sim_host}:{sim_port}/hakaru/stats", timeout=10).read()
        )["requests"]
        load_result = None
        if args.load:
            t0 = time.perf_counter()
            res = load(px_host, px_port, 64, args.load)
            load_result = {
                "requests": args.load,
                "completed": len(res.latencies),
                "errors": res.errors,
                "seconds": round(time.perf_counter() - t0, 1),
                "rps": round(res.rps, 1),
            }
        served = json.loads(
            urllib.request.urlopen(f"http://{sim_host}:{sim_port}/hakaru/stats", timeout=10).read()
        )["requests"]
    finally:
        stop(proxy)
        stop(sim)
    with RunStore(store_path) as store:
        stored = sum(info.calls for info in store.runs(limit=None))
    # Every request the server served came through the proxy, except the direct runs'.
    direct_served = sum(r["requests"] * args.repeats for r in rows) + 640 + 5
    through_proxy = served - direct_served
    at64 = next((r for r in rows if r["clients"] == 64), None)
    targets = None
    if at64 is not None:
        targets = {
            "throughput_ratio": at64["throughput_ratio"],
            "throughput_target": THROUGHPUT_TARGET,
            "added_p50_ms": at64["added_p50_ms"],
            "added_p50_target_ms": ADDED_P50_TARGET,
            "met": at64["throughput_ratio"] >= THROUGHPUT_TARGET
            and at64["added_p50_ms"] <= ADDED_P50_TARGET,
        }
    result = {
        "cores": os.cpu_count(),
        "targets": targets,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "latency_scale": args.latency_scale,
        "client": args.client,
        "repeats": args.repeats,
        "rows": rows,
        "served_through_proxy": through_proxy,
        "records_in_store": stored,
        "lost_records": through_proxy - stored,
        "load": load_result,
        "served_before_load": served_before,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"sim server direct vs through the proxy ({args.client} client), latency scale "
        f"{args.latency_scale:g}, median of {args.repeats} alternating runs; {os.cpu_count()} "
        f"cores, load average {result['load_average'][0]} before, {result['load_average'][1]} "
        "after (other processes' load shows up as added latency)"
    )
    print(
        f"  {'clients':>7} {'direct req/s':>13} {'proxy req/s':>12} {'ratio':>6} "
        f"{'direct p50':>11} {'added p50':>10} {'added p99':>10} {'proxy CPU/req':>14}"
    )
    for r in rows:
        print(
            f"  {r['clients']:>7} {r['direct_rps']:>13,.0f} {r['proxy_rps']:>12,.0f} "
            f"{r['throughput_ratio']:>6.2f} {r['direct_p50_ms']:>8.2f} ms "
            f"{r['added_p50_ms']:>7.2f} ms {r['added_p99_ms']:>7.2f} ms "
            f"{r['proxy_cpu_us_per_request']:>11} µs"
        )
    if targets is not None:
        ratio, added = targets["throughput_ratio"], targets["added_p50_ms"]
        print(
            f"  at 64 clients: {ratio:.1%} of direct throughput (target >= "
            f"{THROUGHPUT_TARGET:.0%}: {'met' if ratio >= THROUGHPUT_TARGET else 'NOT met'}), "
            f"{added:.2f} ms added at p50 (target <= {ADDED_P50_TARGET:g} ms: "
            f"{'met' if added <= ADDED_P50_TARGET else 'NOT met'})"
        )
    if load_result is not None:
        done, seconds = load_result["completed"], load_result["seconds"]
        print(
            f"  load: {done:,} of {args.load:,} requests through the proxy in {seconds} s "
            f"({load_result['rps']:,.0f} req/s), {load_result['errors']} errors"
        )
    print(
        f"  records: {stored:,} in the store for {through_proxy:,} requests served through the "
        f"proxy; lost {through_proxy - stored}"
    )


if __name__ == "__main__":
    main()
