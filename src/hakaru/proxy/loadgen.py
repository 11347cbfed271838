"""A load generator for the proxy benchmark and the load test, on aiohttp's client.

Measuring a server's overhead needs a client that costs the same in every configuration: ``C``
workers sharing one ``aiohttp.ClientSession`` whose pool holds ``C`` keep-alive connections,
each worker sending chat-completion requests back to back (an SDK client would spend more CPU
than the servers under test, on the same two cores). Each request asks to add a few numbers, so
the simulated server answers with the ``sum`` task; every response is checked for a 200 status.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import aiohttp

__all__ = ["LoadResult", "run_load"]


@dataclass(slots=True)
class LoadResult:
    """Outcome of one load run. Latencies are seconds, one per completed request."""

    clients: int
    requests: int
    elapsed: float  # seconds, wall
    latencies: list[float] = field(default_factory=list)
    errors: int = 0  # responses other than 200, and broken connections

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return len(self.latencies) / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, q: float) -> float:
        """The ``q``-quantile (0..1) of the latencies, in seconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _body(i: int, model: str) -> bytes:
    prompt = f"Add these numbers: {i % 97}, {i % 13}, 7, 11"
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": 16}
    return json.dumps(body, separators=(",", ":")).encode()


async def run_load(
    host: str,
    port: int,
    *,
    clients: int,
    requests: int,
    model: str = "sim-oracle",
    path: str = "/v1/chat/completions",
    headers: dict[str, str] | None = None,
    stagger: float = 0.0,
) -> LoadResult:
    """Send ``requests`` requests over ``clients`` keep-alive connections; measure each.

    Requests are handed out from one shared counter, so all connections stay busy to the end.
    ``stagger`` (seconds) spreads the clients' first requests evenly over that time: against a
    server whose latency is constant, clients started together stay in lockstep and every
    request arrives in a burst of ``clients``; staggered over one latency they arrive evenly.
    """
    result = LoadResult(clients, requests, 0.0)
    counter = iter(range(requests))
    url = f"http://{host}:{port}{path}"
    send_headers = {"content-type": "application/json", **(headers or {})}
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=600)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def client(k: int) -> None:
            if stagger > 0:
                await asyncio.sleep(stagger * k / clients)
            for i in counter:
                body = _body(i, model)
                t0 = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=send_headers) as response:
                        await response.read()
                        status = response.status
                except aiohttp.ClientError:
                    result.errors += 1
                    continue
                result.latencies.append(time.perf_counter() - t0)
                if status != 200:
                    result.errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(clients)))
        result.elapsed = time.perf_counter() - t0
    return result
