"""What runs inside each Ray actor of a pool: a backend client, answering calls concurrently.

The driver reaches an actor only through Ray's own actor calls (:meth:`BackendActor.complete`
for a lone call, :meth:`BackendActor.complete_many` for a batch; see
:mod:`hakaru.executors.ray_messages`); the actor opens no port. A call's answer is an
:data:`Answer`: errors travel as values, so the driver re-raises the backend's own exception.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import time
from collections.abc import AsyncIterator, Callable, Mapping

from hakaru.backends.base import Backend
from hakaru.errors import BackendError, ConnectionFailed
from hakaru.executors.cluster import first_line
from hakaru.tasks import TaskKind, register_task_kind, registered_kinds
from hakaru.types import Request, Response

__all__ = [
    "Answer",
    "BackendActor",
    "BackendSource",
    "actor_died",
    "normal_priority",
    "travelling_kinds",
]

#: Seconds an actor waits, once one call of a batch has finished, for others to finish with it,
#: so that they travel back in one message: each Ray message costs the driver more CPU than a
#: call's own work, and under load this halves the driver's CPU per call (benchmarks/
#: ray_scaling.py) for at most this much added latency. A lone call never waits.
ANSWER_WINDOW = 0.002

#: What an actor builds its backend from: a picklable backend, or a picklable factory.
BackendSource = Backend | Callable[[], Backend]

#: A call's answer: the response or the error, and the seconds it took in the backend.
Answer = tuple[Response | None, BaseException | None, float]  # response, error, seconds


class BackendActor:
    """One Ray async actor: holds a backend client and answers calls concurrently."""

    def __init__(self, source: BackendSource, kinds: Mapping[str, TaskKind] | None = None) -> None:
        normal_priority()
        for kind in (kinds or {}).values():  # the driver's task kinds, as it registered them
            register_task_kind(kind)
        self.backend: Backend = source if isinstance(source, Backend) else source()
        self._running: dict[tuple[int, int], asyncio.Task[Answer]] = {}

    async def ready(self) -> int:
        normal_priority()  # here too: this runs on the actor's event-loop thread
        return os.getpid()

    async def complete(self, batch: int, request: Request) -> Answer | None:
        """One call (a batch of one: a plain actor task costs less than a stream)."""
        task = asyncio.ensure_future(self._one(request))
        self._running[batch, 0] = task
        try:
            return await task
        except asyncio.CancelledError:
            return None
        finally:
            del self._running[batch, 0]

    async def complete_many(
        self, batch: int, requests: list[Request]
    ) -> AsyncIterator[list[tuple[int, Answer | None]]]:
        """Run a batch's calls at once; yield ``(index, answer)`` pairs for the calls that
        finished, as they finish (a streaming generator: no call waits for the rest of its
        batch, only up to :data:`ANSWER_WINDOW` for others finishing with it). A call the
        driver cancelled yields ``(index, None)``."""
        index: dict[asyncio.Task[Answer], int] = {}
        for j, request in enumerate(requests):
            task = asyncio.ensure_future(self._one(request))
            index[task] = j
            self._running[batch, j] = task
        pending: set[asyncio.Task[Answer]] = set(index)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if pending:
                    more, pending = await asyncio.wait(pending, timeout=ANSWER_WINDOW)
                    done |= more
                out: list[tuple[int, Answer | None]] = []
                for task in done:
                    j = index[task]
                    del self._running[batch, j]
                    out.append((j, None if task.cancelled() else task.result()))
                yield out
        finally:  # the driver went away: stop what is left
            for task in pending:
                task.cancel()
                self._running.pop((batch, index[task]), None)

    async def _one(self, request: Request) -> Answer:
        # Errors travel as values, so the driver re-raises the backend's own exception.
        t0 = time.perf_counter()
        try:
            response = await self.backend.complete(request)
        except Exception as exc:
            return None, _picklable(exc), time.perf_counter() - t0
        return response, None, time.perf_counter() - t0

    async def cancel(self, batch: int, j: int) -> None:
        task = self._running.get((batch, j))
        if task is not None:
            task.cancel()

    async def aclose(self) -> None:
        await self.backend.aclose()


def travelling_kinds() -> dict[str, TaskKind]:
    """The registered task kinds that can be pickled (a kind that cannot stays behind: the
    actors then know it only if importing hakaru registers it there too)."""
    out = {}
    for name, kind in registered_kinds().items():
        try:
            pickle.dumps(kind)
        except Exception:
            continue
        out[name] = kind
    return out


def normal_priority() -> bool:
    """Run this actor's threads at normal priority (nice 0) when the OS lets it; whether it did.

    Ray starts its workers at low priority (nice 15, ``RAY_worker_niceness``) so that CPU-bound
    tasks leave the driver and the raylet room. An actor of a pool only waits on I/O and should
    answer as soon as an answer is ready; at nice 15 the kernel wakes it late whenever another
    process is running (docs/benchmarks.md, Ray: a millisecond or more per call under load).
    Lowering niceness needs privilege (root or CAP_SYS_NICE); without it Ray's priority stays,
    and
    :func:`hakaru.executors.cluster.connect` starts local clusters with nice 0 workers anyway.
    """
    if not hasattr(os, "setpriority"):
        return False
    try:  # Linux applies priorities per thread: every thread of the process
        threads = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    done = True
    for tid in threads:
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) > 0:
                os.setpriority(os.PRIO_PROCESS, tid, 0)
        except OSError:  # not permitted, or the thread ended meanwhile
            done = False
    return done


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.dumps(exc)
    except Exception:
        return BackendError(f"{type(exc).__name__}: {exc}")
    return exc


def actor_died(exc: BaseException) -> ConnectionFailed:
    """The retryable error of a call whose actor died."""
    return ConnectionFailed(
        f"The Ray actor answering this call died ({first_line(exc)}). hakaru started a "
        "replacement and the session retries the call; if actors keep dying, check their logs "
        "('ray logs') and the nodes' memory"
    )
