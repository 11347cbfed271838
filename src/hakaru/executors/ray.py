"""The Ray executor: backend calls run in a pool of Ray async actors.

Design choice: only ``backend.complete(request)`` leaves the driver. The session keeps ids,
happens-before, budgets, the ledger and the store, so every count is the one a local run makes;
the pool is a :class:`~hakaru.backends.base.Backend` that forwards each call to one of ``actors``
async actors, each holding its own backend client (HTTP clients cannot be pickled, so each actor
builds or unpickles its own). Async actors suit LLM calls: a call is I/O-bound, one actor process
keeps ``max_concurrency`` of them in flight on its event loop, and a task per call would pay a
worker start each time (research/ecosystem.md §4.1).

Dispatch is *least outstanding requests* with round-robin ties, and the pool never sends an
actor more than ``max_concurrency`` calls: beyond ``actors × max_concurrency`` calls wait on the
driver, in order, so an actor that dies takes down only the calls it was running. Those fail
with :class:`~hakaru.errors.ConnectionFailed` — retryable — so the session's retry loop records
the failed attempt and tries again on the actor that replaces it.

Every Ray message costs the driver about half a millisecond of CPU, more than the session spends
on a call, so calls travel in batches without waiting for one another: a call alone on its actor
goes at once as a plain actor task; calls issued in the same turn of the event loop go to their
actor as one streaming task, whose answers come back as they finish, several to a message when
they finish together. Requests and answers cross as bytes of the standard pickle.

Ray is imported lazily: ``import hakaru`` never imports it. Install it with
``pip install 'hakaru[ray]'``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hakaru.backends.base import Backend
from hakaru.errors import BackendError, ConfigError, ConnectionFailed
from hakaru.types import ModelSpec, Request, Response

__all__ = ["PoolStats", "RayBackend", "RayExecutor", "connect"]

#: What an actor builds its backend from: a picklable backend, or a picklable factory.
BackendSource = Backend | Callable[[], Backend]

#: Actor options unless given: actors wait on I/O, so they claim no CPU (a 2-CPU cluster runs
#: any number of them) and are spread over the cluster's nodes.
DEFAULT_ACTOR_OPTIONS: dict[str, Any] = {"num_cpus": 0, "scheduling_strategy": "SPREAD"}

READY_TIMEOUT = 120.0  # seconds to wait for a new pool's actors to start


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            f"The ray executor needs Ray ({exc}). Install it with: pip install 'hakaru[ray]'"
        ) from None
    return ray


def connect(address: str | None = None, **init_options: Any) -> bool:
    """Connect this process to Ray; return ``True`` if this call did (``False``: already on).

    ``address`` is ``"auto"`` (the cluster this machine has joined with ``ray start``),
    ``"HOST:6379"`` (a cluster's head node; any address ``ray.init`` takes), or ``None``: then
    ``$RAY_ADDRESS`` if set, else a new local cluster on this machine, even if the machine has
    joined one (without the dashboard, and without usage statistics unless
    ``$RAY_USAGE_STATS_ENABLED`` says so). ``init_options`` go to ``ray.init``.
    """
    ray = _ray()
    if ray.is_initialized():
        return False
    options = dict(init_options)
    if address is None:
        address = os.environ.get("RAY_ADDRESS") or "local"  # "local": always a new cluster
    if address == "local":
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        options.setdefault("include_dashboard", False)
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = (
            "a new local Ray cluster" if address == "local" else f"the Ray cluster at '{address}'"
        )
        raise ConfigError(
            f"Cannot connect to {where}: {exc}. Start a cluster with 'ray start --head' (see "
            "docs/scale-out.md), or leave out the address to start a local one"
        ) from None
    return True


_Answer = tuple[Response | None, BaseException | None, float]  # response, error, seconds


class _BackendActor:
    """One Ray async actor: holds a backend client and answers calls concurrently."""

    def __init__(self, source: BackendSource) -> None:
        self.backend: Backend = source if isinstance(source, Backend) else source()
        self._running: dict[tuple[int, int], asyncio.Task[_Answer]] = {}

    async def ready(self) -> int:
        return os.getpid()

    async def complete(self, batch: int, payload: Any) -> Any:
        """One call (a batch of one: a plain actor task costs less than a stream)."""
        request: Request = _unpack(payload)
        task = asyncio.ensure_future(self._one(request))
        self._running[batch, 0] = task
        try:
            return _pack(await task)
        except asyncio.CancelledError:
            return _pack(None)
        finally:
            del self._running[batch, 0]

    async def complete_many(self, batch: int, payload: Any) -> AsyncIterator[Any]:
        """Run a batch's calls at once; yield ``(index, answer)`` pairs for the calls that
        finished, as they finish (a streaming generator: no call waits for the rest of its
        batch). A call the driver cancelled yields ``(index, None)``."""
        requests: list[Request] = _unpack(payload)
        index: dict[asyncio.Task[_Answer], int] = {}
        for j, request in enumerate(requests):
            task = asyncio.ensure_future(self._one(request))
            index[task] = j
            self._running[batch, j] = task
        pending: set[asyncio.Task[_Answer]] = set(index)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                out = []
                for task in done:
                    j = index[task]
                    del self._running[batch, j]
                    out.append((j, None if task.cancelled() else task.result()))
                yield _pack(out)
        finally:  # the driver went away: stop what is left
            for task in pending:
                task.cancel()
                self._running.pop((batch, index[task]), None)

    async def _one(self, request: Request) -> _Answer:
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


def _pack(obj: Any) -> Any:
    """Requests and answers cross as bytes of the standard pickle when they can: Ray's own
    serializer (cloudpickle) costs about 0.4 ms more per round trip for these small objects."""
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return obj  # let Ray's serializer try


def _unpack(payload: Any) -> Any:
    return pickle.loads(payload) if isinstance(payload, bytes) else payload


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.dumps(exc)
    except Exception:
        return BackendError(f"{type(exc).__name__}: {exc}")
    return exc


class _Call:
    """One call on its way through the pool: queued for the next batch, then sent."""

    __slots__ = ("batch", "future", "index", "request")

    def __init__(self, request: Request, future: asyncio.Future[_Answer]) -> None:
        self.request = request
        self.future = future
        self.batch = -1  # the batch id once sent
        self.index = 0  # its place in the batch


@dataclass(frozen=True, slots=True)
class PoolStats:
    """What a pool did: calls answered per actor, replacements, Ray's overhead per call."""

    actors: int
    max_concurrency: int  # calls in flight per actor, at most
    calls: int  # calls answered (with a response or a backend error)
    served: tuple[int, ...]  # calls answered by each actor slot
    replaced: int  # actors that died and were replaced
    in_flight: int
    batches: int  # actor tasks sent (each carries the calls queued in one loop turn)
    overhead: float  # mean seconds per call added by Ray: round trip − time in the backend


class RayBackend:
    """A backend whose calls run in a pool of Ray actors (made by :meth:`RayExecutor.wrap`).

    Calls queued for one actor in the same turn of the event loop travel as one actor task, and
    each answer streams back as soon as it is ready: a Ray message costs the driver about half a
    millisecond of CPU, which the calls of a batch share (0.03 ms a call in batches of 64).
    ``model_spec`` is answered by the driver's copy of the backend, which makes no calls.
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
        ray = _ray()
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
        self._cls = ray.remote(_BackendActor).options(**options)
        try:
            ray.cloudpickle.dumps(source)  # for a short message; Ray's own is a page long
        except Exception as exc:
            raise ConfigError(
                f"The backend {source!r} cannot be sent to Ray actors ({_first_line(exc)}). "
                "Give RayExecutor(backend_factory=...) a picklable function that builds it, "
                "e.g. functools.partial(create_backend, 'openai', base_url=...)"
            ) from None
        self._source = ray.put(source)  # pickled once, shared by every actor and replacement
        self._actors: list[Any] = [self._cls.remote(self._source) for _ in range(actors)]
        self._load = [0] * actors  # calls in flight per actor slot
        self._served = [0] * actors
        self._queued: list[list[_Call]] = [[] for _ in range(actors)]
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
                f"A Ray actor could not build its backend: {_first_line(exc)}. Check that the "
                "backend (or backend_factory) and hakaru are importable on every node"
            ) from None

    async def aclose(self) -> None:
        """Close every actor's backend, then end the actors (the driver's copy stays open)."""
        if self._closed:
            return
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
        loop = asyncio.get_running_loop()
        call = _Call(request, loop.create_future())
        began = time.perf_counter()
        try:
            if load[i] == 1 and not self._flushing:  # a lone call goes at once
                await self._send(i, [call])
            else:  # calls issued in the same loop turn travel together
                self._queued[i].append(call)
                if not self._flushing:
                    self._flushing = True
                    loop.call_soon(self._flush)
            response, error, seconds = await call.future
        except asyncio.CancelledError:
            if call.batch >= 0:  # sent: stop it in the actor too
                self._actors[i].cancel.remote(call.batch, call.index)
            raise
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

    async def _send(self, i: int, calls: list[_Call]) -> None:
        actor = self._actors[i]
        batch = self._batches
        self._batches += 1
        for j, call in enumerate(calls):
            call.batch, call.index = batch, j
        try:
            if len(calls) == 1:
                answer: _Answer | None = _unpack(
                    await actor.complete.remote(batch, _pack(calls[0].request))
                )
                if answer is not None and not calls[0].future.done():
                    calls[0].future.set_result(answer)
                return
            payload = _pack([c.request for c in calls])
            async for ref in actor.complete_many.remote(batch, payload):
                answers: list[tuple[int, _Answer | None]] = _unpack(await ref)
                for j, answer_j in answers:
                    future = calls[j].future
                    if answer_j is not None and not future.done():
                        future.set_result(answer_j)
        except self._died as exc:
            self._replace(i, actor)
            for call in calls:
                if not call.future.done():
                    call.future.set_exception(
                        ConnectionFailed(
                            f"The Ray actor answering this call died ({_first_line(exc)}). "
                            "hakaru started a replacement and the session retries the call; "
                            "if actors keep dying, check their logs ('ray logs') and the "
                            "nodes' memory"
                        )
                    )
        except Exception as exc:  # Ray itself failed: the calls cannot be answered
            for call in calls:
                if not call.future.done():
                    call.future.set_exception(
                        BackendError(f"The Ray executor failed the call ({_first_line(exc)})")
                    )
        for call in calls:  # never leave a caller waiting on an answer that cannot come
            if not call.future.done():
                call.future.set_exception(
                    ConnectionFailed("The Ray actor ended the batch without answering this call")
                )

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
        self._actors[i] = self._cls.remote(self._source)
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
    ``ray.init``.

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
        _ray()  # a missing Ray is reported now, not at the first call
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
            _ray().shutdown()
            self._started = False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
