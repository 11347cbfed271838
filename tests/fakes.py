"""Test backends: real implementations of the Backend interface that answer from a script.

Fakes, not mocks: the session under test calls them exactly as it calls the sim or HTTP backend.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from hakaru.tokenizer import count_tokens
from hakaru.types import ModelSpec, Request, Response, Usage

Step = Callable[[Request, int], Any]


class ScriptedBackend:
    """Answers with ``script(request, n)`` where n counts calls (0-based).

    The script returns a text (answered with usage from the tokenizer), a Response, or an
    exception instance (raised). ``delay`` (seconds, real) is awaited before answering, and the
    backend tracks how many calls are in flight at once.
    """

    def __init__(
        self,
        script: Step | None = None,
        *,
        specs: tuple[ModelSpec, ...] = (),
        delay: float | Callable[[Request, int], float] = 0.0,
        latency: float = 1.0,
    ) -> None:
        self.script = script or (lambda req, n: "ok")
        self.specs = {s.name: s for s in specs}
        self.delay = delay
        self.latency = latency
        self.n = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: list[Request] = []

    async def complete(self, request: Request) -> Response:
        n = self.n
        self.n += 1
        self.requests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            delay = self.delay(request, n) if callable(self.delay) else self.delay
            if delay:
                await asyncio.sleep(delay)
            else:
                await asyncio.sleep(0)
            out = self.script(request, n)
        finally:
            self.in_flight -= 1
        if isinstance(out, BaseException):
            raise out
        if isinstance(out, Response):
            return out
        text = str(out)
        usage = Usage(count_tokens(request.prompt_text()), count_tokens(text))
        return Response(text, usage, model=request.model, latency=self.latency)

    def model_spec(self, name: str) -> ModelSpec | None:
        return self.specs.get(name)

    async def aclose(self) -> None:
        return None
