"""``CassetteBackend``: a Session's calls answered from a cassette, or recorded into it.

A real backend (not a mock): in replay it answers from the recordings and needs nothing else;
in a recording mode it wraps the live backend, forwards what the cassette cannot answer, and
records each answer. Only successful answers are recorded: an error is the live server's state
at that moment, and the session's retry loop already counts it.
"""

from __future__ import annotations

from hakaru.backends.base import Backend
from hakaru.cache import response_from_json, response_to_json
from hakaru.errors import ConfigError
from hakaru.testing.cassette import Cassette, CassetteMiss
from hakaru.types import ModelSpec, Request, Response

__all__ = ["CassetteBackend"]


class CassetteBackend:
    """Answers a :class:`~hakaru.Session` from ``cassette``; ``live`` makes the calls it must
    record (not needed in ``none`` mode); ``specs`` (default: ``live``) describes the models —
    sizes and prices — without being called, so a replay counts dollars as the recording did.

    >>> live = create_backend("openai")  # doctest: +SKIP
    >>> session = Session(CassetteBackend(cassette, live=live))  # doctest: +SKIP
    """

    def __init__(
        self, cassette: Cassette, live: Backend | None = None, *, specs: Backend | None = None
    ) -> None:
        if live is None and cassette.mode != "none":
            raise ConfigError(
                f"the cassette {cassette.path} records (mode {cassette.mode!r}) but no live "
                "backend was given. Pass live=create_backend(...), or replay with mode 'none'"
            )
        self.cassette = cassette
        self.live = live
        self.specs = specs if specs is not None else live

    def __repr__(self) -> str:
        return f"CassetteBackend({self.cassette!r}, live={self.live!r})"

    def model_spec(self, name: str) -> ModelSpec | None:
        """The spec of ``name`` from ``specs`` (``None`` without: give specs to the session)."""
        return self.specs.model_spec(name) if self.specs is not None else None

    async def complete(self, request: Request) -> Response:
        """The recorded answer, or the live one (recorded), or :class:`CassetteMiss`."""
        __tracebackhide__ = True
        canonical = request.canonical()
        entry = self.cassette.take("session", "", canonical)
        if entry is not None:
            try:
                return response_from_json(entry.response)
            except (KeyError, TypeError, ValueError):
                raise ConfigError(
                    f"the cassette {self.cassette.path} holds a session call whose response "
                    "is not readable. Re-record it with --hakaru-record all"
                ) from None
        if self.live is None:  # unreachable: take() raises in mode none
            raise CassetteMiss(f"no live backend to answer {request.model!r}")
        response = await self.live.complete(request)
        self.cassette.record("session", "", canonical, response_to_json(response))
        return response

    async def start(self) -> None:
        """Start the live backend, when it has something to start."""
        start = getattr(self.live, "start", None)
        if start is not None:
            await start()

    async def aclose(self) -> None:
        """Close the live backend (and ``specs``); the cassette is closed by its owner."""
        for backend in {id(b): b for b in (self.live, self.specs) if b is not None}.values():
            await backend.aclose()
