"""The floor under Ray's added latency: the same channel between two plain processes, no Ray.

``benchmarks/ray_scaling.py`` finds that a call through a Ray actor gains a few milliseconds
under load, against a fraction of one for a lone call. This measures what any transport between
two processes pays on the same machine: a server process runs :func:`hakaru.executors.channel.serve`
with a handler that only sleeps 200 ms; the client sends waves of ``conc`` calls over one
connection and times each. Printed per concurrency: the mean latency a call gained beyond its
sleep, split into the handler's own lateness (its sleep woke late: event-loop timers and the
calls ahead of it) and the transport (the rest of the round trip). No session, no simulated
model, no Ray: what is left is the two event loops and the kernel.

Run: ``python benchmarks/channel_floor.py [--waves 15] [--conc 1,16,64]``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import time
from typing import Any

from hakaru.executors.channel import Connection, new_secret, serve

SLEEP = 0.2  # seconds each call sleeps in the server


async def _handler(request: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    await asyncio.sleep(SLEEP)
    return request, time.perf_counter() - t0


def _server(secret: bytes, queue: Any) -> None:
    async def main() -> None:
        server = await serve(secret, _handler, "127.0.0.1")
        queue.put(server.sockets[0].getsockname()[:2])
        await asyncio.sleep(3600)

    asyncio.run(main())


async def _client(host: str, port: int, secret: bytes, conc: int, waves: int) -> dict[str, float]:
    conn = await Connection.open(host, port, secret, timeout=10)
    added: list[float] = []  # seconds beyond the sleep, per call
    late: list[float] = []  # of which the handler's own lateness

    async def one(i: int) -> None:
        t0 = time.perf_counter()
        _, future = conn.submit(i)
        _, seconds = await future
        added.append(time.perf_counter() - t0 - SLEEP)
        late.append(seconds - SLEEP)

    for _ in range(waves):
        await asyncio.gather(*(one(i) for i in range(conc)))
    conn.close()
    return {
        "conc": conc,
        "added_ms": statistics.fmean(added) * 1e3,
        "handler_late_ms": statistics.fmean(late) * 1e3,
        "transport_ms": (statistics.fmean(added) - statistics.fmean(late)) * 1e3,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--waves", type=int, default=15, help="waves of calls per concurrency")
    ap.add_argument("--conc", default="1,16,64", help="comma-separated calls per wave")
    args = ap.parse_args()
    secret = new_secret()
    queue: Any = mp.Queue()
    proc = mp.Process(target=_server, args=(secret, queue), daemon=True)
    proc.start()
    try:
        host, port = queue.get(timeout=30)
        print(f"waves of calls that sleep {SLEEP * 1e3:g} ms in another process, one connection")
        for conc in (int(c) for c in args.conc.split(",")):
            r = asyncio.run(_client(host, port, secret, conc, args.waves))
            print(
                f"  {conc:>3} at once: a call gains {r['added_ms']:.2f} ms — handler late "
                f"{r['handler_late_ms']:.2f} ms, transport {r['transport_ms']:.2f} ms"
            )
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
