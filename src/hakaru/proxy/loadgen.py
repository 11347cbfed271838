"""A lean HTTP/1.1 load generator for the proxy benchmark and the load test.

Measuring a server's overhead needs a client that costs little and the same in every
configuration: ``C`` connections, each sending chat-completion requests back to back over
keep-alive on raw asyncio streams (an SDK client would spend more CPU than the servers under
test, on the same two cores). Each request asks to add a few numbers, so the simulated server
answers with the ``sum`` task; every response is checked for a 200 status.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

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


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response (Content-Length or chunked); return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = -1
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length > 0:
        await reader.readexactly(length)
    return status


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
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    result = LoadResult(clients, requests, 0.0)
    counter = iter(range(requests))

    async def client(k: int) -> None:
        if stagger > 0:
            await asyncio.sleep(stagger * k / clients)
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in counter:
                body = _body(i, model)
                head = (
                    f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\n"
                    f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
                    f"{extra}\r\n"
                ).encode()
                t0 = time.perf_counter()
                writer.write(head + body)
                try:
                    status = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    result.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                result.latencies.append(time.perf_counter() - t0)
                if status != 200:
                    result.errors += 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    result.elapsed = time.perf_counter() - t0
    return result
