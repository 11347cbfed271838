"""The response cache, which is also the record file that the replay backend answers from.

A response is keyed by the canonical hash of its request (:meth:`hakaru.types.Request.key`, which
leaves out the agent role and ledger ids) together with the request's ``sample``: the occurrence
index the session gives the n-th identical request, so that the five samples of one vote are five
entries, not one answer served five times.

With a path, every entry is appended to a JSONL file as one line and flushed to the operating
system at once, so a crashed process loses nothing it already wrote; fsync is left out because it
would make a million-call run wait on the disk for every call. A crash in the middle of a write
leaves an unterminated last line: loading skips it without complaint and cuts it off before the
next append, so the file stays valid. Any other unreadable line is damage, and loading says so
rather than silently dropping recordings. The file format::

    {"key": "<sha256 hex>", "sample": 0, "request": {…Request.canonical()…},
     "response": {"text": …, "usage": {"input_tokens": …, …, "source": …}, "model": …,
                  "finish_reason": …, "latency": …, "reasoning": …}}
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from hakaru.errors import ConfigError, StoreError
from hakaru.types import Request, Response, Usage

__all__ = ["ResponseCache", "cache_key", "read_entries", "response_from_json", "response_to_json"]

CacheKey = tuple[str, int]


def cache_key(request: Request) -> CacheKey:
    """The cache key of a request: its canonical hash and its occurrence index.

    >>> first = Request.chat("m", "2+2?")
    >>> second = Request.chat("m", "2+2?", sample=1)
    >>> cache_key(first)[0] == cache_key(second)[0], cache_key(second)[1]
    (True, 1)
    """
    return request.key(), request.sample


def response_to_json(response: Response) -> dict[str, Any]:
    """A response as the JSON object a record file (or a cassette) holds."""
    usage = response.usage
    return {
        "text": response.text,
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "source": usage.source,
        },
        "model": response.model,
        "finish_reason": response.finish_reason,
        "latency": response.latency,
        "reasoning": response.reasoning,
    }


def response_from_json(data: Any) -> Response:
    """The response a record file's JSON object holds.

    Raises ``KeyError``/``TypeError``/``ValueError`` on anything that is not an entry."""
    usage = data["usage"]
    source = usage.get("source", "reported")
    if source not in ("reported", "estimated"):
        raise ValueError(f"usage source {source!r}")
    if "cached_tokens" in usage and "cache_read_tokens" not in usage:  # files of older versions
        usage = {**usage, "cache_read_tokens": usage["cached_tokens"]}
    counts = {
        name: int(usage.get(name, 0))
        for name in (
            "input_tokens",
            "output_tokens",
            "reasoning_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
        )
    }
    text, reasoning = data["text"], data.get("reasoning", "")
    if not isinstance(text, str) or not isinstance(reasoning, str):
        raise TypeError("text")
    return Response(
        text=text,
        usage=Usage(**counts, source=source),
        model=str(data.get("model", "")),
        finish_reason=str(data.get("finish_reason", "stop")),
        latency=float(data.get("latency", 0.0)),
        reasoning=reasoning,
    )


def _scan(path: Path) -> tuple[list[tuple[dict[str, Any], Response]], int, bool]:
    """Entries of a record file (each with its response decoded), the byte offset where its
    valid part ends, and whether that part lacks a final newline. Only an unterminated last
    line may be unreadable."""
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise StoreError(
            f"Cannot read the response file {path}: {exc.strerror or exc}. "
            "Check the path and its permissions."
        ) from None
    entries: list[tuple[dict[str, Any], Response]] = []
    offset = 0
    lines = blob.split(b"\n")  # not splitlines(): U+2028 inside a prompt is not a line break
    for number, line in enumerate(lines, start=1):
        last = number == len(lines)  # the piece after the final newline ("" if terminated)
        if line.strip():
            try:
                entry = json.loads(line)
                if not isinstance(entry["key"], str) or not isinstance(entry["sample"], int):
                    raise TypeError("key")
                response = response_from_json(entry["response"])
            except (ValueError, KeyError, TypeError, AttributeError):
                if last:  # a write cut short by a crash: drop it
                    return entries, offset, False
                raise StoreError(
                    f"Line {number} of the response file {path} is not a cache entry. The file "
                    "is damaged: delete that line, or the whole file to record afresh."
                ) from None
            entries.append((entry, response))
        offset += len(line) + (0 if last else 1)
    return entries, offset, bool(blob) and not blob.endswith(b"\n")


def read_entries(path: str | Path) -> Iterator[dict[str, Any]]:
    """The entries of a record file as dicts (``key``, ``sample``, ``request``, ``response``).

    >>> for entry in read_entries("calls.jsonl"):  # doctest: +SKIP
    ...     print(entry["sample"], entry["response"]["text"])
    """
    for entry, _ in _scan(Path(path))[0]:
        yield entry


class ResponseCache:
    """Responses by request and occurrence, in memory and, given a path, in a JSONL file.

    Opening a path loads what it holds and appends every new entry; the file is the record that
    :class:`hakaru.backends.replay.ReplayBackend` answers from. Without a path the cache lives
    in memory only. Responses go in and come out as copies, without the session's ``call_id``
    and ``parsed``.

    >>> cache = ResponseCache()
    >>> request = Request.chat("m", "2+2?")
    >>> cache.put(request, Response("4", Usage(5, 1)))
    >>> cache.get(request).text, cache.get(Request.chat("m", "2+2?", sample=1))
    ('4', None)
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._entries: dict[CacheKey, Response] = {}
        self._samples: dict[str, set[int]] = {}
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._closed = False
        if self.path is not None:
            self._open(self.path)

    @classmethod
    def load(cls, path: str | Path) -> ResponseCache:
        """A read-only copy of a record file: what it holds, with no write handle on it.

        >>> recorded = ResponseCache.load("calls.jsonl")  # doctest: +SKIP
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(
                f"The response file {path} does not exist. Record one first: run on a live "
                f"backend with cache=ResponseCache('{path}')."
            )
        cache = cls()
        cache._fill(_scan(path)[0])
        cache.path = path
        return cache

    def _fill(self, entries: list[tuple[dict[str, Any], Response]]) -> None:
        for entry, response in entries:
            key, sample = entry["key"], entry["sample"]
            self._entries[key, sample] = response  # a later line wins
            self._samples.setdefault(key, set()).add(sample)

    def _open(self, path: Path) -> None:
        needs_newline = False
        if path.exists():
            entries, end, needs_newline = _scan(path)
            self._fill(entries)
            try:
                if end < path.stat().st_size:  # cut off the line a crash left unfinished
                    os.truncate(path, end)
            except OSError as exc:
                raise StoreError(
                    f"Cannot repair the response file {path}: {exc.strerror or exc}. "
                    "Check its permissions."
                ) from None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("ab")
            if needs_newline:
                self._file.write(b"\n")
                self._file.flush()
        except OSError as exc:
            raise StoreError(
                f"Cannot open the response file {path} for writing: {exc.strerror or exc}. "
                "Check the path and its permissions."
            ) from None

    def get(self, request: Request) -> Response | None:
        """The response stored for this request and occurrence, else ``None``."""
        found = self._entries.get(cache_key(request))
        return None if found is None else dataclasses.replace(found)

    def put(self, request: Request, response: Response) -> None:
        """Store a response (appended to the file at once when the cache has one)."""
        key, sample = cache_key(request)
        stored = dataclasses.replace(response, call_id=-1, parsed=None)
        with self._lock:
            if self._closed:
                raise StoreError(
                    f"The response cache {self.path} is closed. Open a new ResponseCache to "
                    "keep recording."
                )
            if self._file is not None:
                entry = {
                    "key": key,
                    "sample": sample,
                    "request": request.canonical(),
                    "response": response_to_json(stored),
                }
                line = json.dumps(entry, sort_keys=True, ensure_ascii=False, default=str)
                try:
                    self._file.write(line.encode() + b"\n")
                    self._file.flush()
                except OSError as exc:
                    raise StoreError(
                        f"Cannot append to the response file {self.path}: "
                        f"{exc.strerror or exc}. Free disk space or choose another path."
                    ) from None
            self._entries[key, sample] = stored
            self._samples.setdefault(key, set()).add(sample)

    def recordings(self, request: Request) -> int:
        """How many occurrences of this request (any ``sample``) the cache holds."""
        return len(self._samples.get(request.key(), ()))

    def __len__(self) -> int:
        return len(self._entries)

    def close(self) -> None:
        """Close the file; the entries stay readable, new ones are refused."""
        with self._lock:
            self._closed = True
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResponseCache(path={str(self.path) if self.path else None!r}, entries={len(self)})"
