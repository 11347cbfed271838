"""The replay backend: answers recorded traffic again, for deterministic tests of real runs.

Servers are not reproducible even at temperature 0 (vLLM batches concurrent requests in different
orders), so a test of real traffic answers from a recording instead. The recording is the JSONL
file of a :class:`hakaru.cache.ResponseCache` given a path during a live run; an answer is looked
up by the request's canonical hash and its occurrence index (``sample``), which the session
assigns in call order, so the n-th identical request gets the n-th recorded answer even under
concurrency. There is no fallback to a live server: a request the file cannot answer raises
:class:`hakaru.errors.ReplayMiss`, loudly, naming the request and, when the file holds the same
prompt asked differently, the fields that differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hakaru.backends.base import register_backend
from hakaru.cache import ResponseCache, read_entries
from hakaru.errors import ReplayMiss
from hakaru.types import ModelSpec, Request, Response

__all__ = ["ReplayBackend"]

_SNIPPET = 60  # characters of the prompt quoted in a miss


class ReplayBackend:
    """A backend that answers from a file recorded with ``ResponseCache(path)``.

    Responses come back exactly as recorded (text, usage, latency, finish reason).

    >>> backend = ReplayBackend("calls.jsonl")  # doctest: +SKIP
    >>> await backend.complete(Request.chat("m", "2+2?"))  # doctest: +SKIP
    Response(text='4', ...)
    """

    answers_at_once = True  # complete() never suspends (hakaru.backends.base)

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._cache = ResponseCache.load(self.path)

    def __repr__(self) -> str:
        return f"ReplayBackend(path={str(self.path)!r}, recordings={len(self._cache)})"

    def model_spec(self, name: str) -> ModelSpec | None:
        """Always ``None``: a recording carries no model specs (give them to the session)."""
        return None

    async def complete(self, request: Request) -> Response:
        """The recorded response for this request and occurrence, else raise ``ReplayMiss``."""
        found = self._cache.get(request)
        if found is None:
            raise ReplayMiss(self._miss_message(request))
        return found

    async def aclose(self) -> None:
        """Nothing to release: the file was read whole when the backend was made."""

    def _miss_message(self, request: Request) -> str:
        prompt = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        snippet = prompt[:_SNIPPET].replace("\n", " ")
        if len(prompt) > _SNIPPET:
            snippet += "…"
        held = self._cache.recordings(request)
        plural = "recording" if held == 1 else "recordings"
        message = (
            f"No recorded response for model '{request.model}', prompt '{snippet}', "
            f"occurrence {request.sample}: {self.path} holds {held} {plural} of this request."
        )
        if held == 0:
            near = _nearest_difference(self.path, request)
            if near:
                message += f" A recording of the same messages differs in {near}."
        return message + " Re-record with cache=ResponseCache(path) on a live backend."


def _nearest_difference(path: Path, request: Request) -> str:
    """The fields in which a recording of the same messages differs from ``request``, if any.

    Read from the file again only on a miss, which ends the run anyway; the cache itself keeps
    no copy of the requests.
    """
    # Through JSON, as the file holds it (tuples become lists, odd values strings).
    wanted = json.loads(json.dumps(request.canonical(), default=str))
    best: list[str] | None = None
    for entry in read_entries(path):
        recorded: Any = entry.get("request")
        if not isinstance(recorded, dict) or recorded.get("messages") != wanted["messages"]:
            continue
        differ = sorted(k for k in wanted if k != "messages" and recorded.get(k) != wanted[k])
        if differ and (best is None or len(differ) < len(best)):
            best = [f"{k} ({wanted[k]!r} here, {recorded.get(k)!r} recorded)" for k in differ]
    return ", ".join(best) if best else ""


register_backend("replay", ReplayBackend)
