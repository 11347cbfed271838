"""Running a test's program ``async def run(session, n)`` at a size, in a fresh session.

Shared by the assertions: one session per run (so totals are the run's own), the event loop
made here when the caller has none, and a run that raises turned into a message naming the size.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from hakaru.backends.base import Backend
from hakaru.errors import ConfigError
from hakaru.session import Session

__all__ = ["Program", "SessionFactory", "measure", "run_sync"]

#: The program under test: ``async def run(session, n)``; its return value is ignored.
Program = Callable[[Session, int], Awaitable[Any]]
#: Where each run's session comes from: a backend name, a backend, or ``() -> Session``.
SessionFactory = str | Backend | Callable[[], Session]

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code, inside a running loop or not.

    Inside a running loop (an async test) the coroutine runs on a new loop in a worker thread,
    so the assertions are plain function calls everywhere.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hakaru-test") as pool:
        return pool.submit(asyncio.run, coro).result()


def _session(source: SessionFactory, options: dict[str, Any]) -> Session:
    if callable(source) and not isinstance(source, (str, Backend)):
        if options:
            raise ConfigError(
                "session options were given with a session factory. Pass them to the "
                "Session your factory builds instead"
            )
        made = source()
        if not isinstance(made, Session):
            raise ConfigError(
                f"the session factory returned {type(made).__name__}, not a hakaru.Session. "
                "Return Session(...) from it"
            )
        return made
    return Session(source, **options)


async def measure(
    program: Program,
    n: int,
    source: SessionFactory,
    options: dict[str, Any],
    *,
    stops: tuple[type[BaseException], ...] = (),
) -> tuple[dict[str, Any], Session]:
    """Run ``program`` at size ``n`` in a fresh session: its totals and the (closed) session.

    A run that raises becomes an ``AssertionError`` that names the size and the exception,
    except the exceptions in ``stops``, which end the run normally (a budget refusing a call).
    """
    session = _session(source, options)
    try:
        async with session:
            with contextlib.suppress(*stops):
                await program(session, n)
    except Exception as exc:
        raise AssertionError(
            f"run(session, n={n}) raised {type(exc).__name__}: {str(exc).rstrip('.')}. "
            "The program fails at "
            "this size: fix it, or leave the size out of the assertion"
        ) from exc
    return session.totals(), session
