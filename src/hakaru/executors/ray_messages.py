"""How a Ray pool's calls travel: as Ray actor tasks, batched per actor and loop turn.

A call alone on its actor goes at once as a plain actor task; calls issued in the same turn of
the event loop go to their actor as one streaming task (a Ray streaming generator), whose
answers come back as they finish, several to a message when they finish together. Each Ray
message costs the driver a fraction of a millisecond of CPU, so batching is what lets the
throughput grow with the actors (docs/benchmarks.md, Ray).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Any

from hakaru.errors import BackendError, ConnectionFailed
from hakaru.executors.cluster import first_line
from hakaru.executors.ray_actor import Answer, actor_died, pack, unpack
from hakaru.types import Request

__all__ = ["QueuedCall", "RayMessages"]


class QueuedCall:
    """One call on its way through the pool: queued for the next batch, then sent."""

    __slots__ = ("batch", "future", "index", "request")

    def __init__(self, request: Request, future: asyncio.Future[Answer]) -> None:
        self.request = request
        self.future = future
        self.batch = -1  # the batch id once sent
        self.index = 0  # its place in the batch


class RayMessages(ABC):
    """Sending calls to actors, a base class of :class:`~hakaru.executors.ray.RayBackend` (whose
    state it uses: actors by slot, calls in flight, the batch counter, actor replacement)."""

    _actors: list[Any]
    _load: list[int]
    _queued: list[list[QueuedCall]]
    _flushing: bool
    _batches: int
    _batch_tasks: set[asyncio.Task[None]]
    _died: tuple[type[BaseException], ...]

    @abstractmethod
    def _replace(self, i: int, dead: Any) -> None:
        """Replace slot ``i``'s actor ``dead`` with a new one (the pool knows how)."""

    async def _over_ray(self, i: int, request: Request) -> Answer:
        loop = asyncio.get_running_loop()
        call = QueuedCall(request, loop.create_future())
        try:
            if self._load[i] == 1 and not self._flushing:  # a lone call goes at once
                await self._send(i, [call])
            else:  # calls issued in the same loop turn travel together
                self._queued[i].append(call)
                if not self._flushing:
                    self._flushing = True
                    loop.call_soon(self._flush)
            return await call.future
        except asyncio.CancelledError:
            if call.batch >= 0:  # sent: stop it in the actor too
                self._actors[i].cancel.remote(call.batch, call.index)
            raise

    def _flush(self) -> None:
        """Send each actor the calls queued for it in this loop turn, as one batch."""
        self._flushing = False
        for i, queued in enumerate(self._queued):
            calls = [c for c in queued if not c.future.done()]  # not cancelled while queued
            queued.clear()
            if calls:
                task = asyncio.ensure_future(self._send(i, calls))
                self._batch_tasks.add(task)  # held until done: the loop keeps weak refs only
                task.add_done_callback(self._batch_tasks.discard)

    async def _send(self, i: int, calls: list[QueuedCall]) -> None:
        actor = self._actors[i]
        batch = self._batches
        self._batches += 1
        for j, call in enumerate(calls):
            call.batch, call.index = batch, j
        try:
            if len(calls) == 1:
                answer: Answer | None = unpack(
                    await actor.complete.remote(batch, pack(calls[0].request))
                )
                if answer is not None and not calls[0].future.done():
                    calls[0].future.set_result(answer)
                return
            payload = pack([c.request for c in calls])
            async for ref in actor.complete_many.remote(batch, payload):
                answers: list[tuple[int, Answer | None]] = unpack(await ref)
                for j, answer_j in answers:
                    future = calls[j].future
                    if answer_j is not None and not future.done():
                        future.set_result(answer_j)
        except self._died as exc:
            self._replace(i, actor)
            for call in calls:
                if not call.future.done():
                    call.future.set_exception(actor_died(exc))
        except Exception as exc:  # Ray itself failed: the calls cannot be answered
            for call in calls:
                if not call.future.done():
                    call.future.set_exception(
                        BackendError(f"The Ray executor failed the call ({first_line(exc)})")
                    )
        for call in calls:  # never leave a caller waiting on an answer that cannot come
            if not call.future.done():
                call.future.set_exception(
                    ConnectionFailed("The Ray actor ended the batch without answering this call")
                )
