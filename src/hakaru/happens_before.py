"""Happens-before without bookkeeping: the frontier of each asyncio task, and forks that keep it.

The session keeps, per asyncio task (a ``ContextVar``), the *frontier* — the calls whose results
the current code has already awaited, with their finish times under every cost model of the
ledger. A new call depends on the frontier; when it returns, the frontier becomes that call.
:meth:`HappensBefore.gather` and :meth:`HappensBefore.map` run children in their own tasks
(which copy the context) and, when they return, merge the children's frontiers. Use them (not
bare ``asyncio.gather``) to fork, or dependencies after the fork will be missed; code that did
fork with bare ``asyncio.gather`` can declare its dependencies with :meth:`HappensBefore.after`.

Inline forks. ``gather(..., inline=True)`` awaits the children one after another in the calling
task, each starting from the frontier of the fork, and then merges their frontiers: the calls
are recorded exactly as a forked gather records them (the same parents, and the same ids when
the children do not suspend), but no task is made and the event loop need not turn. For
children that do not wait on each other and complete at once — calls to a backend that answers
at once, such as the simulator; a child that suspends holds up the ones after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from contextvars import ContextVar, copy_context
from typing import Any, TypeVar

from hakaru.types import Response

__all__ = ["Frontier", "HappensBefore", "merge"]

T = TypeVar("T")
U = TypeVar("U")

#: The happens-before frontier: ids of the calls awaited so far, and their largest finish time
#: per cost model of the ledger. A plain tuple: it is rebuilt on every call.
Frontier = tuple[tuple[int, ...], tuple[float, ...]]


class HappensBefore:
    """The forks of a :class:`~hakaru.session.Session` (its base class): ``gather``, ``map``
    and ``after`` keep the frontier that ``Session.call`` reads and sets."""

    _frontier: ContextVar[Frontier]

    async def gather(self, *aws: Awaitable[T], inline: bool = False) -> list[T]:
        """Run awaitables concurrently; afterwards the caller depends on all of them.

        Like ``asyncio.gather``; on the first exception the others are cancelled (their
        finished calls stay recorded) and the exception propagates. ``inline=True`` awaits
        the children one after another, with the happens-before of a fork (see the module
        docstring for when to use it).
        """
        if inline:
            return await self._gather_inline(aws)
        # Each child runs in its own copy of the context; reading the frontier from that copy
        # after the child finished gives what the child awaited, with no wrapper coroutine.
        var = self._frontier
        loop = asyncio.get_running_loop()
        contexts = [copy_context() for _ in aws]
        tasks = [
            loop.create_task(_as_coroutine(aw), context=ctx)
            for aw, ctx in zip(aws, contexts, strict=True)
        ]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        here = var.get()
        self._merge([ctx.get(var, here) for ctx in contexts])
        return results

    async def _gather_inline(self, aws: Sequence[Awaitable[T]]) -> list[T]:
        var = self._frontier
        here = var.get()
        ends: list[Frontier] = []
        results: list[T] = []
        try:
            for aw in aws:
                var.set(here)  # every child starts from the fork
                results.append(await aw)
                ends.append(var.get())
        except BaseException:
            var.set(here)  # as after a forked gather that failed
            for aw in aws[len(results) + 1 :]:  # never started
                if asyncio.iscoroutine(aw):
                    aw.close()
            raise
        self._merge(ends)
        return results

    async def map(
        self,
        fn: Callable[[U], Awaitable[T]],
        items: Iterable[U],
        *,
        concurrency: int | None = None,
    ) -> list[T]:
        """``gather(fn(x) for x in items)``, at most ``concurrency`` at a time if given."""
        if concurrency is None:
            return await self.gather(*(fn(x) for x in items))
        limit = asyncio.Semaphore(concurrency)

        async def bounded(x: U) -> T:
            async with limit:
                return await fn(x)

        return await self.gather(*(bounded(x) for x in items))

    def _merge(self, frontiers: Sequence[Frontier]) -> None:
        if frontiers:
            self._frontier.set(merge(frontiers))

    def after(self, *responses: Response) -> None:
        """Declare that the next calls depend on these responses (for code that forked
        with bare ``asyncio.gather``). Replaces the current frontier."""
        self._merge([((r.call_id,), r.finish) for r in responses if r.call_id > 0 and r.finish])


def merge(frontiers: Sequence[Frontier]) -> Frontier:
    """The frontier after a join of these (at least one): every call id once, in order, and
    the largest finish time per cost model."""
    if len(frontiers) == 1:
        return frontiers[0]
    finish = frontiers[0][1]
    if len(finish) == 6:  # the built-in cost models: unrolled, a fifth of map(max, ...)
        for f in frontiers[1:]:
            finish = _max6(finish, f[1])
    else:
        finish = tuple(map(max, *(f[1] for f in frontiers)))
    merged: set[int] = set()
    for f in frontiers:
        merged.update(f[0])
    return (tuple(sorted(merged)), finish)


def _max6(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, ...]:
    """``tuple(map(max, a, b))`` for two finish vectors of six cost models."""
    a0, a1, a2, a3, a4, a5 = a
    b0, b1, b2, b3, b4, b5 = b
    return (
        a0 if a0 >= b0 else b0,
        a1 if a1 >= b1 else b1,
        a2 if a2 >= b2 else b2,
        a3 if a3 >= b3 else b3,
        a4 if a4 >= b4 else b4,
        a5 if a5 >= b5 else b5,
    )


def _as_coroutine(aw: Awaitable[T]) -> Coroutine[Any, Any, T]:
    if asyncio.iscoroutine(aw):
        return aw

    async def wrap() -> T:
        return await aw

    return wrap()
