"""Real upstream servers for the cassette tests, on an event loop in a background thread.

- the simulated OpenAI-compatible server (``hakaru sim serve``'s ``SimServer``), behind
- a connection counter: a TCP relay that counts every connection made to the upstream, so a
  test can prove that a replay made none;
- ``Numbered``: an OpenAI-compatible upstream whose n-th answer is "answer n" whatever the
  request, so a test can see which recorded answer a replay returns.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Iterator, Sequence
from typing import Any, TypeVar

import pytest
from aiohttp import web

from hakaru.backends.sim import SimBackend
from hakaru.proxy.server import SimServer
from hakaru.proxy.serving import Listening, ServerLimits, listen

T = TypeVar("T")


class Numbered:
    """Answers every chat completion with "answer <how many it answered>"."""

    def __init__(self) -> None:
        self.limits = ServerLimits()
        self.answered = 0

    def routes(self) -> Sequence[web.RouteDef]:
        return [web.post("/v1/chat/completions", self._answer)]

    def error(self, status: int, message: str) -> web.Response:
        return web.json_response({"error": {"message": message}}, status=status)

    async def _answer(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.answered += 1
        text = f"answer {self.answered}"
        return web.json_response(
            {
                "id": f"chatcmpl-{self.answered}",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
            }
        )


class Upstreams:
    """The servers, their URLs, and how many connections reached them."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.connections = 0
        self.numbered = Numbered()
        self._listening: list[Listening] = []
        self._relay: asyncio.Server | None = None
        sim = self.run(listen(SimServer(SimBackend())))
        numbered = self.run(listen(self.numbered))
        self._listening += [sim, numbered]
        self.sim_url = self.run(self._count(sim.port))  # the sim, through the counter
        self.numbered_url = numbered.url

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    async def _count(self, port: int) -> str:
        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()

        async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        self._relay = await asyncio.start_server(relay, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._relay.sockets[0].getsockname()[1]}"

    def close(self) -> None:
        async def stop() -> None:
            if self._relay is not None:
                self._relay.close()
            for server in self._listening:
                await server.close()

        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def upstreams() -> Iterator[Upstreams]:
    servers = Upstreams()
    yield servers
    servers.close()


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
