"""How a Ray pool's calls travel: as Ray actor tasks, batched per actor and loop turn.

A call alone on its actor goes at once as a plain actor task; calls issued in the same turn of
the event loop go to their actor as one streaming task (a Ray streaming generator), whose
answers come back as they finish, several to a message when they finish together (a queue of
:data:`SEND_AT` calls leaves at once, without waiting for the turn to end). Each Ray
message costs the driver a fraction of a millisecond of CPU, so batching is what lets the
throughput grow with the actors (docs/benchmarks.md, Ray).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Any

from hakaru.errors import BackendError, ConnectionFailed
from hakaru.executors.cluster import first_line
from hakaru.executors.ray_actor import Answer, actor_died
from hakaru.types import Request

__all__ = ["SEND_AT", "QueuedCall", "RayMessages"]

#: Calls queued for one actor that are sent at once rather than at the end of the loop turn: a
#: burst of thousands of calls (a ``gather`` over a whole workload) would otherwise wait for
#: every one of them to start before the first batch left.
SEND_AT = 16


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
                self._send(i, [call])
            else:  # calls issued in the same loop turn travel together
                queued = self._queued[i]
                queued.append(call)
                if len(queued) >= SEND_AT:
                    self._send_queued(i)
                elif not self._flushing:
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
        for i in range(len(self._queued)):
            self._send_queued(i)

    def _send_queued(self, i: int) -> None:
        queued = self._queued[i]
        calls = [c for c in queued if not c.future.done()]  # not cancelled while queued
        queued.clear()
        if calls:
            self._send(i, calls)

    def _send(self, i: int, calls: list[QueuedCall]) -> None:
        """Submit ``calls`` to actor ``i`` now (Ray's ``.remote()`` returns at once); a task
        collects the answers."""
        actor = self._actors[i]
        batch = self._batches
        self._batches += 1
        for j, call in enumerate(calls):
            call.batch, call.index = batch, j
        try:
            if len(calls) == 1:
                pending: Any = actor.complete.remote(batch, calls[0].request)
            else:
                pending = actor.complete_many.remote(batch, [c.request for c in calls])
        except Exception as exc:
            self._failed(i, actor, calls, exc)
            return
        task = asyncio.ensure_future(self._collect(i, actor, calls, pending))
        self._batch_tasks.add(task)  # held until done: the loop keeps weak refs only
        task.add_done_callback(self._batch_tasks.discard)

    async def _collect(self, i: int, actor: Any, calls: list[QueuedCall], pending: Any) -> None:
        """Hand each answer of a sent batch to its caller as it arrives."""
        try:
            if len(calls) == 1:
                answer: Answer | None = await pending
                if answer is not None and not calls[0].future.done():
                    calls[0].future.set_result(answer)
            else:
                async for ref in pending:
                    answers: list[tuple[int, Answer | None]] = await ref
                    for j, answer_j in answers:
                        future = calls[j].future
                        if answer_j is not None and not future.done():
                            future.set_result(answer_j)
        except Exception as exc:
            self._failed(i, actor, calls, exc)
        for call in calls:  # never leave a caller waiting on an answer that cannot come
            if not call.future.done():
                call.future.set_exception(
                    ConnectionFailed("The Ray actor ended the batch without answering this call")
                )

    def _failed(self, i: int, actor: Any, calls: list[QueuedCall], exc: Exception) -> None:
        """The calls of a batch that Ray could not deliver or answer: retryable if the actor
        died (it is replaced), a :class:`BackendError` otherwise."""
        if isinstance(exc, self._died):
            self._replace(i, actor)
            error: BaseException = actor_died(exc)
        else:
            error = BackendError(f"The Ray executor failed the call ({first_line(exc)})")
        for call in calls:
            if not call.future.done():
                call.future.set_exception(error)
