"""The Ray executor: backend calls run in a pool of Ray async actors.

Design choice: only ``backend.complete(request)`` leaves the driver. The session keeps ids,
happens-before, budgets, the ledger and the store, so every count is the one a local run makes;
the pool is a :class:`~hakaru.backends.base.Backend` that forwards each call to one of ``actors``
async actors, each holding its own backend client (HTTP clients cannot be pickled, so each actor
builds or unpickles its own). Async actors suit LLM calls: a call is I/O-bound, one actor process
keeps ``max_concurrency`` of them in flight on its event loop, while a task per call would hold a
CPU slot as it waits and build a fresh HTTP client each time (Ray's "AsyncIO / Concurrency for
Actors"; docs/papers.md).

Dispatch is *least outstanding requests* with round-robin ties, and the pool never sends an
actor more than ``max_concurrency`` calls: beyond ``actors × max_concurrency`` calls wait on the
driver, in order, so an actor that dies takes down only the calls it was running. Those fail
with :class:`~hakaru.errors.ConnectionFailed` — retryable — so the session's retry loop records
the failed attempt and tries again on the actor that replaces it.

Calls travel as Ray actor method calls and nothing else: hakaru opens no port and speaks no
protocol of its own, so the cluster's own security model is the whole of it (docs/scale-out.md).
Every Ray message costs the driver a fraction of a millisecond of CPU, so the calls queued for
one actor in one turn of the event loop travel together, as one streaming actor task
(:mod:`hakaru.executors.ray_messages`). What runs inside each actor is
:mod:`hakaru.executors.ray_actor`; connecting to a cluster, :mod:`hakaru.executors.cluster`
(Ray is imported only there, lazily: ``import hakaru`` never imports it).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hakaru.backends.base import Backend
from hakaru.errors import ConfigError
from hakaru.executors.cluster import connect, first_line, ray_module
from hakaru.executors.ray_actor import BackendActor, BackendSource, travelling_kinds
from hakaru.executors.ray_messages import QueuedCall, RayMessages
from hakaru.types import ModelSpec, Request, Response

__all__ = ["PoolStats", "RayBackend", "RayExecutor", "connect"]

#: Actor options unless given: actors wait on I/O, so they claim no CPU (a 2-CPU cluster runs
#: any number of them) and are spread over the cluster's nodes.
DEFAULT_ACTOR_OPTIONS: dict[str, Any] = {"num_cpus": 0, "scheduling_strategy": "SPREAD"}

READY_TIMEOUT = 120.0  # seconds to wait for a new pool's actors to start


@dataclass(frozen=True, slots=True)
class PoolStats:
    """What a pool did: calls answered per actor, replacements, Ray's overhead per call."""

    actors: int
    max_concurrency: int  # calls in flight per actor, at most
    calls: int  # calls answered (with a response or a backend error)
    served: tuple[int, ...]  # calls answered by each actor slot
    replaced: int  # actors that died and were replaced
    in_flight: int
    #: Actor tasks the driver sent: each carries the calls queued for one actor in one loop turn.
    batches: int
    overhead: float  # mean seconds per call added by Ray: round trip − time in the backend


class RayBackend(RayMessages):
    """A backend whose calls run in a pool of Ray actors (made by :meth:`RayExecutor.wrap`).

    The calls queued for one actor in one turn of the event loop travel as one actor task, and
    each answer comes back as soon as it is ready. ``model_spec`` is answered by the driver's
    copy of the backend, which makes no calls.
    """

    def __init__(
        self,
        inner: Backend,
        source: BackendSource,
        *,
        actors: int,
        max_concurrency: int,
        actor_options: Mapping[str, Any],
    ) -> None:
        ray = ray_module()
        self.inner = inner
        self.max_concurrency = max_concurrency
        self._ray = ray
        self._died = (
            ray.exceptions.RayActorError,
            ray.exceptions.WorkerCrashedError,
            ray.exceptions.ObjectLostError,
        )
        # Ray's own limit counts batches, never more than calls; a few more for control calls.
        options = {**DEFAULT_ACTOR_OPTIONS, **actor_options, "max_concurrency": max_concurrency + 4}
        self._cls = ray.remote(BackendActor).options(**options)
        try:
            ray.cloudpickle.dumps(source)  # for a short message; Ray's own is a page long
        except Exception as exc:
            raise ConfigError(
                f"The backend {source!r} cannot be sent to Ray actors ({first_line(exc)}). "
                "Give RayExecutor(backend_factory=...) a picklable function that builds it, "
                "e.g. functools.partial(create_backend, 'openai', base_url=...)"
            ) from None
        self._source = ray.put(source)  # pickled once, shared by every actor and replacement
        # The task kinds registered here (some by importing a module, some configured, like a
        # Hanoi task's): the actors register them too, so that a simulated backend there
        # answers every task the driver can ask for.
        self._kinds = ray.put(travelling_kinds())
        self._actors: list[Any] = [
            self._cls.remote(self._source, self._kinds) for _ in range(actors)
        ]
        self._load = [0] * actors  # calls in flight per actor slot
        self._served = [0] * actors
        self._queued: list[list[QueuedCall]] = [[] for _ in range(actors)]
        self._flushing = False
        self._batches = 0
        self._batch_tasks: set[asyncio.Task[None]] = set()
        self._free = actors * max_concurrency
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._turn = 0
        self._overhead = 0.0  # seconds, summed over answered calls
        self.replaced = 0
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------------------

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Block until every actor has built its backend; a failure becomes a ConfigError."""
        ray = self._ray
        try:
            ray.get([a.ready.remote() for a in self._actors], timeout=timeout)
        except ray.exceptions.GetTimeoutError:
            self.kill()
            raise ConfigError(
                f"The {len(self._actors)} Ray actors of the pool did not start within "
                f"{timeout:g} s. The cluster may lack what they ask for; check 'ray status' "
                "and the actor_options"
            ) from None
        except self._died as exc:
            self.kill()
            raise ConfigError(
                f"A Ray actor could not build its backend: {first_line(exc)}. Check that the "
                "backend (or backend_factory) and hakaru are importable on every node"
            ) from None

    async def aclose(self) -> None:
        """Close every actor's backend, then end the actors (the driver's copy of the backend
        stays open)."""
        if self._closed:
            return
        self._closed = True
        actors = list(self._actors)
        try:
            async with asyncio.timeout(10):
                await asyncio.gather(*(a.aclose.remote() for a in actors), return_exceptions=True)
        except TimeoutError:
            pass
        self.kill()

    def kill(self) -> None:
        """End the actors now (calls in flight fail)."""
        self._closed = True
        for actor in self._actors:
            with contextlib.suppress(Exception):  # already gone, or Ray shut down
                self._ray.kill(actor)

    # -- the Backend protocol --------------------------------------------------------------------

    def model_spec(self, name: str) -> ModelSpec | None:
        return self.inner.model_spec(name)

    async def complete(self, request: Request) -> Response:
        if self._closed:
            raise ConfigError("This Ray pool is closed. Make a new session (or executor)")
        if self._free > 0 and not self._waiters:
            self._free -= 1
        else:
            await self._take()
        i = self._pick()
        load = self._load
        load[i] += 1
        began = time.perf_counter()
        try:
            response, error, seconds = await self._over_ray(i, request)
        finally:
            load[i] -= 1
            self._give()
        self._overhead += time.perf_counter() - began - seconds
        self._served[i] += 1
        if error is not None:
            raise error
        assert response is not None
        return response

    # -- dispatch ------------------------------------------------------------------------------

    def _pick(self) -> int:
        """The actor with the fewest calls in flight; ties go round-robin."""
        load = self._load
        n = len(load)
        best = start = self._turn
        self._turn = (start + 1) % n
        low = load[best]
        if low:
            for j in range(1, n):
                i = (start + j) % n
                if load[i] < low:
                    best, low = i, load[i]
                    if not low:
                        break
        return best

    async def _take(self) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self._give()  # a slot was handed over as we were cancelled: pass it on
            else:
                self._waiters.remove(fut)
            raise

    def _give(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # hand the slot over directly
                return
        self._free += 1

    def _replace(self, i: int, dead: Any) -> None:
        if self._actors[i] is not dead or self._closed:
            return  # another batch already replaced it
        with contextlib.suppress(Exception):
            self._ray.kill(dead)
        self._actors[i] = self._cls.remote(self._source, self._kinds)
        self.replaced += 1

    # -- reading -------------------------------------------------------------------------------

    @property
    def actors(self) -> list[Any]:
        """The pool's actor handles, by slot (a replaced actor's slot holds its successor)."""
        return list(self._actors)

    def stats(self) -> PoolStats:
        calls = sum(self._served)
        return PoolStats(
            actors=len(self._actors),
            max_concurrency=self.max_concurrency,
            calls=calls,
            served=tuple(self._served),
            replaced=self.replaced,
            in_flight=sum(self._load),
            batches=self._batches,
            overhead=self._overhead / calls if calls else 0.0,
        )


class RayExecutor:
    """Run a session's backend calls in Ray async actors.

    ``actors`` actors each keep up to ``max_concurrency`` calls in flight (so at most
    ``actors × max_concurrency`` at once; the session's own ``concurrency`` still applies).
    ``ray_address`` is ``None`` (a local cluster, or ``$RAY_ADDRESS``), ``"auto"`` or an address
    (see :func:`connect`). Each actor gets its own copy of the session's backend, pickled; for a
    backend that cannot be pickled (an HTTP client already in use) give ``backend_factory``, a
    picklable function that builds it (it runs in every actor). ``actor_options`` go to Ray's
    ``.options()`` (default: ``num_cpus=0``, spread over nodes); ``init_options`` to
    ``ray.init``. Calls travel as Ray actor tasks only: the pool opens no port of its own.

    >>> import hakaru
    >>> from hakaru.executors.ray import RayExecutor
    >>> executor = RayExecutor(actors=4, max_concurrency=64, ray_address="auto")  # doctest: +SKIP
    >>> session = hakaru.Session("sim", executor=executor)  # doctest: +SKIP
    """

    def __init__(
        self,
        actors: int = 4,
        max_concurrency: int = 64,
        *,
        ray_address: str | None = None,
        backend_factory: Callable[[], Backend] | None = None,
        actor_options: Mapping[str, Any] | None = None,
        init_options: Mapping[str, Any] | None = None,
    ) -> None:
        if actors < 1:
            raise ConfigError(f"actors is {actors}. Give at least 1 Ray actor.")
        if max_concurrency < 1:
            raise ConfigError(
                f"max_concurrency is {max_concurrency}. Allow at least 1 call per actor."
            )
        ray_module()  # a missing Ray is reported now, not at the first call
        self.actors = actors
        self.max_concurrency = max_concurrency
        self.ray_address = ray_address
        self.backend_factory = backend_factory
        self.actor_options = dict(actor_options or {})
        self.init_options = dict(init_options or {})
        self._pools: weakref.WeakSet[RayBackend] = weakref.WeakSet()
        self._started = False

    def wrap(self, backend: Backend) -> Backend:
        """A :class:`RayBackend` whose actors answer ``backend``'s calls (they are started
        and ready when this returns; the first call also connects to Ray)."""
        self._started = connect(self.ray_address, **self.init_options) or self._started
        source: BackendSource = self.backend_factory or backend
        pool = RayBackend(
            backend,
            source,
            actors=self.actors,
            max_concurrency=self.max_concurrency,
            actor_options=self.actor_options,
        )
        pool.wait_ready()
        self._pools.add(pool)
        return pool

    def shutdown(self) -> None:
        """End the actors of every pool this executor made; disconnect from Ray if it was this
        executor that connected (a local cluster it started stops)."""
        for pool in list(self._pools):
            pool.kill()
        if self._started:
            ray_module().shutdown()
            self._started = False
