"""Cassettes: a test's LLM calls recorded to a JSONL file and replayed from it, in order.

**Format** (one JSON object per line, keys sorted, so a cassette reads and diffs well). The
first line says what the file is and which test recorded it; every other line is one call::

    {"hakaru_cassette": 1, "test": "<the node id of the test>"}
    {"via": "http", "endpoint": "/v1/chat/completions", "request": {…the JSON body…},
     "response": {"status": 200, "content_type": "application/json", "body": {…}}}
    {"via": "session", "endpoint": "", "request": {…Request.canonical()…},
     "response": {…the response as hakaru.cache writes it…}}

A streamed answer is kept as its events, ``"chunks": ["data: {…}\\n\\n", …]``, which joined
give back the exact bytes the server sent, usage chunk included. Headers are never written,
so API keys and ``Authorization`` never reach the file.

**Matching.** A call's key is the hash of where it went (``via``, ``endpoint``) and its
canonical request — model, messages, tools, sampling parameters, as JSON with sorted keys —
with every match of the *volatile* patterns replaced by ``<volatile>`` (a date in a system
prompt, a request id; :data:`DEFAULT_VOLATILE`, extended per test). Keys are computed when the
file is read, so changing the patterns never invalidates a recording. The n-th identical
request of a test gets the n-th recorded answer (its *sample index*): identical sampled
requests replay in the order they were recorded.

**Modes** (as vcrpy's): ``none`` replays only — a miss raises at once with the nearest recorded
request and a diff, and nothing is sent anywhere; ``once`` records a cassette that does not
exist yet and otherwise behaves as ``none``; ``new_episodes`` replays what is recorded and
records the rest (appended as it happens); ``all`` records everything afresh (written beside
the old file and moved over it when the test passes: a failed or interrupted test leaves the old
cassette as it was, and its new recording beside it as ``<name>.recording``).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Literal

from hakaru.errors import ConfigError, ReplayMiss, StoreError

__all__ = ["DEFAULT_VOLATILE", "MODES", "Cassette", "CassetteMiss", "Entry", "RecordMode"]

RecordMode = Literal["none", "once", "new_episodes", "all"]
MODES: Final[tuple[str, ...]] = ("none", "once", "new_episodes", "all")
FORMAT: Final[int] = 1

#: Patterns whose matches never take part in a key: dates and times, UUIDs, request ids.
DEFAULT_VOLATILE: Final[tuple[str, ...]] = (
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    r"\b(?:req|msg|chatcmpl|run|call)[-_][A-Za-z0-9]{8,}\b",
)
# Body fields that do not change the answer (who is asking, what to keep): left out of keys.
_NOT_KEYED: Final[frozenset[str]] = frozenset({"user", "metadata", "store"})
_MASK = "<volatile>"
_DIFF_LINES = 40  # lines of the diff shown on a miss


class CassetteMiss(ReplayMiss):
    """A request the cassette cannot answer in a mode that must not call a live server."""


@dataclass
class Entry:
    """One recorded call: where it went, the request, the response (as JSON values)."""

    via: str  # "session" (a Session's backend) or "http" (an SDK through the local server)
    endpoint: str  # the HTTP path; "" for a session
    request: dict[str, Any]
    response: dict[str, Any]
    key: str = field(default="", compare=False)

    def line(self) -> bytes:
        obj = {"via": self.via, "endpoint": self.endpoint, "request": self.request}
        obj["response"] = self.response
        return json.dumps(obj, sort_keys=True, ensure_ascii=False).encode() + b"\n"


class Cassette:
    """The recordings of one test, and the rules to replay and record them.

    ``take`` answers a request from the recordings, ``record`` adds one, ``close`` ends the
    test's use of the file. Thread-safe: the HTTP server answers from its own thread.

    >>> with Cassette(path, "none", test=node_id) as cassette:  # doctest: +SKIP
    ...     entry = cassette.take("session", "", request.canonical())
    """

    def __init__(
        self,
        path: str | Path,
        mode: str = "once",
        *,
        test: str = "",
        volatile: Iterable[str] = (),
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"unknown record mode {mode!r}. Use one of: {', '.join(MODES)}")
        self.path = Path(path)
        self.test = test
        self.patterns = _compile((*DEFAULT_VOLATILE, *volatile))
        self.misses: list[str] = []
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}  # key → occurrences asked so far
        self._recorded: dict[str, list[Entry]] = {}
        self._file: IO[bytes] | None = None
        self._partial: Path | None = None  # "all" and a new "once": written here, then moved
        self._closed = False
        exists = self.path.is_file()
        if mode == "once":
            mode = "none" if exists else "all"
        self.mode: RecordMode = mode  # type: ignore[assignment]
        if mode == "none" and not exists:
            raise ConfigError(
                f"the cassette {self.path} does not exist and the record mode is 'none'. Record "
                "it first: run the test with --hakaru-record once (or new_episodes)"
            )
        if mode in ("none", "new_episodes") and exists:
            for entry in read_cassette(self.path, test):
                entry.key = self.key(entry.via, entry.endpoint, entry.request)
                self._recorded.setdefault(entry.key, []).append(entry)

    # -- keys ----------------------------------------------------------------------------------

    def mask(self, value: Any) -> Any:
        """``value`` with every match of the volatile patterns in its strings masked."""
        if isinstance(value, str):
            for pattern in self.patterns:
                value = pattern.sub(_MASK, value)
            return value
        if isinstance(value, dict):
            return {k: self.mask(v) for k, v in value.items() if k not in _NOT_KEYED}
        if isinstance(value, (list, tuple)):
            return [self.mask(v) for v in value]
        return value

    def key(self, via: str, endpoint: str, request: dict[str, Any]) -> str:
        """The hash that matches a request to its recordings (module docstring)."""
        blob = json.dumps([via, endpoint, self.mask(request)], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    # -- replay and record ---------------------------------------------------------------------

    def take(self, via: str, endpoint: str, request: dict[str, Any]) -> Entry | None:
        """The recorded answer to this request's next occurrence; ``None`` when it must be
        made live (recording modes); :class:`CassetteMiss` in ``none`` mode."""
        __tracebackhide__ = True  # a miss in a test shows its message, not this code
        key = self.key(via, endpoint, request)
        with self._lock:
            sample = self._seen.get(key, 0)
            self._seen[key] = sample + 1
            held = self._recorded.get(key, [])
            if self.mode != "all" and sample < len(held):
                return held[sample]
            if self.mode != "none":
                return None
            message = self._miss_message(via, endpoint, request, sample, len(held))
            self.misses.append(message)
        raise CassetteMiss(message)

    def record(self, via: str, endpoint: str, request: dict[str, Any], response: Any) -> None:
        """Append a live call's answer (recording modes only)."""
        if self.mode == "none":
            raise ConfigError("a replay-only cassette records nothing")
        entry = Entry(via, endpoint, request, response)
        line = entry.line()
        with self._lock:
            file = self._file or self._open()
            try:
                file.write(line)
                file.flush()
            except OSError as exc:
                raise StoreError(
                    f"cannot append to the cassette {self.path}: {exc.strerror or exc}. "
                    "Free disk space or choose another path"
                ) from None

    def _open(self) -> IO[bytes]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            header = json.dumps({"hakaru_cassette": FORMAT, "test": self.test}, sort_keys=True)
            if self.mode == "new_episodes" and self.path.is_file():
                self._file = self.path.open("ab")
                if self.path.stat().st_size == 0:
                    self._file.write(header.encode() + b"\n")
            else:
                self._partial = self.path.with_name(self.path.name + ".recording")
                self._file = self._partial.open("wb")
                self._file.write(header.encode() + b"\n")
        except OSError as exc:
            raise StoreError(
                f"cannot write the cassette {self.path}: {exc.strerror or exc}. "
                "Check the directory and its permissions"
            ) from None
        return self._file

    def close(self, *, keep: bool = True) -> Path | None:
        """Finish the file: a cassette recorded afresh replaces the old one now — unless
        ``keep`` is false (the test failed), when the old one stays and the new recording is
        left beside it, under the path returned."""
        with self._lock:
            if self.mode == "all" and not self._closed and self._file is None:
                self._open()  # a recording with no call is a cassette with no call
            self._closed = True
            if self._file is not None:
                self._file.close()
                self._file = None
            partial, self._partial = self._partial, None
        if partial is None:
            return None
        if keep:
            os.replace(partial, self.path)
            return None
        return partial

    def __enter__(self) -> Cassette:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        held = sum(len(v) for v in self._recorded.values())
        return f"Cassette(path={str(self.path)!r}, mode={self.mode!r}, recordings={held})"

    # -- misses --------------------------------------------------------------------------------

    def _miss_message(
        self, via: str, endpoint: str, request: dict[str, Any], sample: int, held: int
    ) -> str:
        where = endpoint or "Session"
        if held:
            return (
                f"cassette {self.path}: request to {where} recorded {held} time(s), but this is "
                f"occurrence {sample + 1}. The program now makes this call more often: "
                "re-record with --hakaru-record all (or new_episodes to keep the rest)"
            )
        mine = _pretty(self.mask(request))
        best: tuple[float, str] | None = None
        for entries in self._recorded.values():
            other = entries[0]
            if other.via != via or other.endpoint != endpoint:
                continue
            text = _pretty(self.mask(other.request))
            score = difflib.SequenceMatcher(None, text, mine, autojunk=False).ratio()
            if best is None or score > best[0]:
                best = (score, text)
        head = (
            f"cassette {self.path} (mode none) has no recording of this request to {where}; "
            "nothing was sent to a live server."
        )
        fix = (
            " If the change is intended, re-record with --hakaru-record all; if the difference "
            "is volatile (a date, an id), add a pattern to hakaru_volatile."
        )
        if best is None:
            return f"{head} It holds no request to {where} at all.{fix}\n{mine}"
        diff = list(
            difflib.unified_diff(
                best[1].splitlines(), mine.splitlines(), "recorded", "requested", lineterm="", n=2
            )
        )
        if len(diff) > _DIFF_LINES:
            diff = [*diff[:_DIFF_LINES], f"… {len(diff) - _DIFF_LINES} more lines"]
        return f"{head}{fix}\nThe nearest recorded request differs:\n" + "\n".join(diff)


def _compile(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p))
        except re.error as exc:
            raise ConfigError(
                f"volatile pattern {p!r} is not a regular expression: {exc}"
            ) from None
    return tuple(out)


def _pretty(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False, default=str)


def read_cassette(path: str | Path, test: str = "") -> list[Entry]:
    """The entries of a cassette file, in recorded order; a damaged line, a file that is no
    cassette, or (with ``test``) a cassette another test recorded is a ConfigError."""
    path = Path(path)
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as exc:
        raise ConfigError(f"cannot read the cassette {path}: {exc.strerror or exc}") from None
    entries: list[Entry] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            raise ConfigError(
                f"line {number} of the cassette {path} is not JSON ({exc}). The file is damaged: "
                "fix or delete that line, or re-record with --hakaru-record all"
            ) from None
        if number == 1:
            _check_header(path, obj, test)
            continue
        try:
            entry = Entry(obj["via"], obj["endpoint"], obj["request"], obj["response"])
            if not (isinstance(entry.request, dict) and isinstance(entry.response, dict)):
                raise TypeError("request")
        except (KeyError, TypeError):
            raise ConfigError(
                f"line {number} of the cassette {path} is not a recorded call (it needs via, "
                "endpoint, request and response). Fix or delete that line, or re-record with "
                "--hakaru-record all"
            ) from None
        entries.append(entry)
    if not any(line.strip() for line in lines):
        raise ConfigError(f"the cassette {path} is empty. Delete it and record it again")
    return entries


def _check_header(path: Path, obj: Any, test: str) -> None:
    if not isinstance(obj, dict) or "hakaru_cassette" not in obj:
        raise ConfigError(
            f"{path} is not a hakaru cassette (its first line has no 'hakaru_cassette' "
            "header). It may be another tool's recording: point the test at its own cassette, "
            "or delete the file and record it with --hakaru-record once"
        )
    if obj["hakaru_cassette"] != FORMAT:
        raise ConfigError(
            f"the cassette {path} has format {obj['hakaru_cassette']!r}; this hakaru reads "
            f"format {FORMAT}. Re-record it with --hakaru-record all"
        )
    recorder = obj.get("test", "")
    if test and recorder and recorder != test:
        raise ConfigError(
            f"the cassette {path} was recorded by {recorder}, not by {test}. Give each test "
            "its own cassette (@pytest.mark.hakaru_cassette(path=...)), or re-record it for "
            "this test with --hakaru-record all"
        )
