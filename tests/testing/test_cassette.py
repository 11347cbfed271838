"""The cassette file and the Session's cassette backend, without pytest in between."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from hakaru import Request, Session, create_backend
from hakaru.errors import ConfigError
from hakaru.testing.cassette import Cassette, CassetteMiss
from hakaru.testing.cassette_backend import CassetteBackend


def _texts(path: Path, mode: str, prompts: list[str], live: bool = True) -> list[str]:
    async def main() -> list[str]:
        with Cassette(path, mode, test="t") as cassette:
            backend = CassetteBackend(cassette, create_backend("sim") if live else None)
            async with Session(backend) as s:
                return [(await s.call(Request.chat("sim-small", p))).text for p in prompts]

    return asyncio.run(main())


def test_record_then_replay_with_no_backend(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    recorded = _texts(path, "once", ["a", "b", "a"])
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"hakaru_cassette": 1, "test": "t"} and len(lines) == 4
    assert _texts(path, "none", ["a", "b", "a"], live=False) == recorded
    # once, with the file there, replays too: nothing new is written
    assert (
        _texts(path, "once", ["a", "b", "a"]) == recorded
        and len(path.read_text().splitlines()) == 4
    )


def test_new_episodes_appends_and_all_rewrites(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    _texts(path, "all", ["a"])
    _texts(path, "new_episodes", ["a", "c"])
    assert len(path.read_text().splitlines()) == 3  # header, a, c
    _texts(path, "all", ["d"])
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and '"d"' in lines[1]
    assert not list(tmp_path.glob("*.recording"))


def test_a_failed_recording_keeps_the_old_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    _texts(path, "all", ["a"])
    before = path.read_text()
    cassette = Cassette(path, "all", test="t")
    cassette.record("session", "", {"model": "m"}, {"text": "x"})
    left = cassette.close(keep=False)
    assert path.read_text() == before
    assert left is not None and left.name == "c.jsonl.recording" and '"x"' in left.read_text()


def test_occurrences_are_counted_per_key_under_threads(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    with Cassette(path, "all", test="t") as cassette:
        for i in range(50):
            cassette.take("http", "/v1/x", {"q": 1})
            cassette.record("http", "/v1/x", {"q": 1}, {"status": 200, "body": i})
    replay = Cassette(path, "none", test="t")
    got: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            entry = replay.take("http", "/v1/x", {"q": 1})
            assert entry is not None
            with lock:
                got.append(entry.response["body"])

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(50))  # each recorded answer served exactly once
    with pytest.raises(CassetteMiss, match="recorded 50 time"):
        replay.take("http", "/v1/x", {"q": 1})


def test_volatile_patterns_and_unkeyed_fields(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "c.jsonl", "all", volatile=[r"order #\d+"])
    a = {"model": "m", "messages": [{"content": "today 2026-12-04, order #12"}], "user": "u1"}
    b = {"model": "m", "messages": [{"content": "today 2027-01-31, order #99"}], "user": "u2"}
    c = {"model": "m", "messages": [{"content": "today 2027-01-31, order 99"}]}
    assert cassette.key("http", "/v1/x", a) == cassette.key("http", "/v1/x", b)
    assert cassette.key("http", "/v1/x", a) != cassette.key("http", "/v1/x", c)
    assert cassette.key("http", "/v1/x", a) != cassette.key("http", "/v1/y", a)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown record mode 'sometimes'"):
        Cassette(tmp_path / "c.jsonl", "sometimes")
    with pytest.raises(ConfigError, match="is not a regular expression"):
        Cassette(tmp_path / "c.jsonl", "all", volatile=["(unclosed"])
    with pytest.raises(ConfigError, match="no live backend was given"):
        CassetteBackend(Cassette(tmp_path / "c.jsonl", "all"))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ConfigError, match="is empty"):
        Cassette(empty, "none")
