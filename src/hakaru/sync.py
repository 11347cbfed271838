"""A synchronous facade over :class:`~hakaru.session.Session`, for scripts and notebooks.

The session runs on an event loop in a background thread; each method submits a coroutine to
it and waits. Successive calls from the script depend on each other (the facade carries the
happens-before frontier from one call to the next), and ``gather`` makes its requests concurrent
siblings — so work, span and depth mean the same as in async code.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from hakaru.session import Session
from hakaru.types import Request, Response

__all__ = ["SyncSession"]

T = TypeVar("T")


class SyncSession:
    """``with SyncSession("sim") as s: s.call(request)`` — same options as :class:`Session`.

    >>> from hakaru import Request, SyncSession
    >>> with SyncSession("sim") as s:
    ...     _ = s.call(Request.chat("sim-small", "hello"))
    ...     s.totals()["calls"]
    1
    """

    def __init__(self, backend: Any = "sim", **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.session: Session = self._run(self._make(backend, options))
        self._frontier = self.session._frontier.get()

    @staticmethod
    async def _make(backend: Any, options: dict[str, Any]) -> Session:
        session = Session(backend, **options)
        session.open()
        return session

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _chained(self, coro: Coroutine[Any, Any, T]) -> T:
        var = self.session._frontier
        var.set(self._frontier)
        try:
            return await coro
        finally:
            self._frontier = var.get()

    def call(self, request: Request | str, **fields: Any) -> Response:
        """Make one call; it depends on every call made before it through this facade."""
        return self._run(self._chained(self.session.call(request, **fields)))

    def gather(self, *requests: Request) -> list[Response]:
        """Make several calls concurrently (siblings in the dependency graph)."""
        calls = [self.session.call(r) for r in requests]
        return self._run(self._chained(self.session.gather(*calls)))

    def totals(self) -> dict[str, Any]:
        return self.session.totals()

    @property
    def ledger(self) -> Any:
        return self.session.ledger

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._run(self.session.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> SyncSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._loop.is_closed():
            self._run(self.session.aclose(failed=exc is not None))
        self.close()
