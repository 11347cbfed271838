"""The response cache, its JSONL record file, and the replay backend that answers from it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from hakaru.backends.base import create_backend
from hakaru.backends.openai import OpenAIBackend
from hakaru.backends.replay import ReplayBackend
from hakaru.cache import ResponseCache, cache_key, read_entries
from hakaru.errors import ConfigError, ReplayMiss, StoreError
from hakaru.types import Request, Response, Usage


def answer(text: str, **kw: Any) -> Response:
    return Response(text, Usage(10, 2, 1, 4, 0, "reported"), model="m", latency=0.5, **kw)


def replay(backend: ReplayBackend, request: Request) -> Response:
    return asyncio.run(backend.complete(request))


def miss(backend: ReplayBackend, request: Request) -> str:
    with pytest.raises(ReplayMiss) as info:
        replay(backend, request)
    return str(info.value)


Q = Request.chat("m", "What is 2+2?")


# -- the cache -----------------------------------------------------------------------------------


def test_cache_key_is_the_canonical_hash_and_the_sample() -> None:
    assert cache_key(Q) == (Q.key(), 0)
    other_role = Request.chat("m", "What is 2+2?", role="critic", step=3, sample=2)
    assert cache_key(other_role) == (Q.key(), 2)
    assert cache_key(Request.chat("m", "What is 2+2?", temperature=0.7))[0] != Q.key()


def test_round_trip_in_memory_gives_copies() -> None:
    cache = ResponseCache()
    stored = answer("4", call_id=17, parsed=4)
    cache.put(Q, stored)
    got = cache.get(Q)
    assert got is not None and got is not stored
    assert (got.text, got.usage, got.latency, got.call_id, got.parsed) == (
        "4",
        Usage(10, 2, 1, 4, 0, "reported"),
        0.5,
        -1,
        None,
    )
    got.call_id = 99
    again = cache.get(Q)
    assert again is not None and again.call_id == -1
    assert cache.get(Request.chat("m", "What is 3+3?")) is None
    assert len(cache) == 1 and cache.path is None


def test_the_sample_index_separates_entries() -> None:
    cache = ResponseCache()
    for sample, text in enumerate(["4", "5", "4"]):
        cache.put(Request.chat("m", "What is 2+2?", sample=sample), answer(text))
    texts = [cache.get(Request.chat("m", "What is 2+2?", sample=s)) for s in range(4)]
    assert [t.text if t else None for t in texts] == ["4", "5", "4", None]
    assert cache.recordings(Q) == 3 and len(cache) == 3


def test_entries_are_jsonl_and_flushed_at_once(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "calls.jsonl"
    cache = ResponseCache(path)
    cache.put(Q, answer("4", reasoning="two and two", finish_reason="length"))
    # Not closed yet: the line is already on disk.
    lines = path.read_bytes().split(b"\n")
    assert lines[1:] == [b""]
    assert json.loads(lines[0]) == {
        "key": Q.key(),
        "sample": 0,
        "request": json.loads(json.dumps(Q.canonical())),
        "response": {
            "text": "4",
            "usage": {
                "input_tokens": 10,
                "output_tokens": 2,
                "reasoning_tokens": 1,
                "cache_read_tokens": 4,
                "cache_write_tokens": 0,
                "source": "reported",
            },
            "model": "m",
            "finish_reason": "length",
            "latency": 0.5,
            "reasoning": "two and two",
        },
    }
    cache.close()


def test_a_reopened_file_answers(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    with ResponseCache(path) as cache:
        cache.put(Q, answer("4"))
        cache.put(Request.chat("m", "What is 2+2?", sample=1), answer("5"))
    with ResponseCache(path) as reopened:
        first, second = reopened.get(Q), reopened.get(Request.chat("m", "What is 2+2?", sample=1))
        assert first is not None and second is not None
        assert (first.text, second.text, first.usage) == ("4", "5", answer("4").usage)
        reopened.put(Request.chat("m", "x"), answer("y"))
    assert len(list(read_entries(path))) == 3


def test_a_later_line_wins(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    with ResponseCache(path) as cache:
        cache.put(Q, answer("old"))
        cache.put(Q, answer("new"))
    got = ResponseCache.load(path).get(Q)
    assert got is not None and got.text == "new"


def test_a_truncated_last_line_is_skipped_and_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    with ResponseCache(path) as cache:
        cache.put(Q, answer("4"))
        cache.put(Request.chat("m", "b"), answer("b"))
    whole = path.read_bytes()
    path.write_bytes(whole + whole.split(b"\n")[0][:57])  # a crash mid-write
    with ResponseCache(path) as reopened:
        assert len(reopened) == 2
        reopened.put(Request.chat("m", "c"), answer("c"))
    assert [e["response"]["text"] for e in read_entries(path)] == ["4", "b", "c"]
    assert path.read_bytes().startswith(whole)


def test_a_valid_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    with ResponseCache(path) as cache:
        cache.put(Q, answer("4"))
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    with ResponseCache(path) as reopened:
        assert len(reopened) == 1
        reopened.put(Request.chat("m", "b"), answer("b"))
    assert [e["response"]["text"] for e in read_entries(path)] == ["4", "b"]


def test_a_damaged_middle_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    with ResponseCache(path) as cache:
        cache.put(Q, answer("4"))
    path.write_bytes(path.read_bytes() + b'{"key": "abc"}\n' + path.read_bytes())
    with pytest.raises(StoreError) as info:
        ResponseCache(path)
    assert str(info.value) == (
        f"Line 2 of the response file {path} is not a cache entry. The file is damaged: "
        "delete that line, or the whole file to record afresh."
    )


def test_line_separators_inside_prompts_survive(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    odd = Request.chat("m", "一行目\u2028二行目\nthird")
    with ResponseCache(path) as cache:
        cache.put(odd, answer("答え\u2029"))
    got = ResponseCache.load(path).get(odd)
    assert got is not None and got.text == "答え\u2029"


def test_a_closed_cache_refuses_new_entries(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "calls.jsonl")
    cache.close()
    with pytest.raises(StoreError) as info:
        cache.put(Q, answer("4"))
    assert str(info.value) == (
        f"The response cache {tmp_path / 'calls.jsonl'} is closed. Open a new ResponseCache to "
        "keep recording."
    )


def test_load_does_not_write(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    with ResponseCache(path) as cache:
        cache.put(Q, answer("4"))
    before = path.read_bytes() + b'{"key": "a'
    path.write_bytes(before)
    loaded = ResponseCache.load(path)
    loaded.put(Request.chat("m", "b"), answer("b"))
    assert len(loaded) == 2 and path.read_bytes() == before


# -- the replay backend --------------------------------------------------------------------------


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    path = tmp_path / "calls.jsonl"
    with ResponseCache(path) as cache:
        for sample, text in enumerate(["4", "5", "four"]):
            cache.put(Request.chat("m", "What is 2+2?", sample=sample), answer(text))
        cache.put(Request.chat("m", "What is 3+3?", temperature=0.7), answer("6"))
    return path


def test_replay_answers_each_occurrence_in_order(recorded: Path) -> None:
    backend = ReplayBackend(recorded)
    texts = [replay(backend, Request.chat("m", "What is 2+2?", sample=s)).text for s in range(3)]
    assert texts == ["4", "5", "four"]
    got = replay(backend, Q)
    assert (got.usage, got.latency, got.model) == (Usage(10, 2, 1, 4, 0, "reported"), 0.5, "m")
    assert backend.model_spec("m") is None
    asyncio.run(backend.aclose())


def test_replay_miss_names_the_occurrence(recorded: Path) -> None:
    text = miss(ReplayBackend(recorded), Request.chat("m", "What is 2+2?", sample=3))
    assert text == (
        "No recorded response for model 'm', prompt 'What is 2+2?', occurrence 3: "
        f"{recorded} holds 3 recordings of this request. Re-record with "
        "cache=ResponseCache(path) on a live backend."
    )


def test_replay_miss_quotes_60_characters_of_the_last_user_message(recorded: Path) -> None:
    prompt = "Sort these numbers\nfrom smallest to largest: 31, 4, 15, 9, 2, 6, 5, 3, 5, 8, 97"
    request = Request(
        model="big",
        messages=Request.chat("big", "first question", system="sys").messages
        + Request.chat("big", prompt).messages,
    )
    text = miss(ReplayBackend(recorded), request)
    assert text == (
        "No recorded response for model 'big', prompt 'Sort these numbers from smallest to "
        f"largest: 31, 4, 15, 9, 2…', occurrence 0: {recorded} holds 0 recordings of this "
        "request. Re-record with cache=ResponseCache(path) on a live backend."
    )


def test_replay_miss_says_what_differs_from_a_recording(recorded: Path) -> None:
    text = miss(ReplayBackend(recorded), Request.chat("m", "What is 3+3?"))
    assert text == (
        "No recorded response for model 'm', prompt 'What is 3+3?', occurrence 0: "
        f"{recorded} holds 0 recordings of this request. A recording of the same messages "
        "differs in temperature (0.0 here, 0.7 recorded). Re-record with "
        "cache=ResponseCache(path) on a live backend."
    )


def test_one_recording_is_singular(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    with ResponseCache(path) as cache:
        cache.put(Q, answer("4"))
    assert "holds 1 recording of this request." in miss(
        ReplayBackend(path), Request.chat("m", "What is 2+2?", sample=1)
    )


def test_replay_of_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    with pytest.raises(ConfigError) as info:
        ReplayBackend(path)
    assert str(info.value) == (
        f"The response file {path} does not exist. Record one first: run on a live backend "
        f"with cache=ResponseCache('{path}')."
    )


def test_registered_as_replay(recorded: Path) -> None:
    backend = create_backend("replay", path=recorded)
    assert isinstance(backend, ReplayBackend)


def test_record_live_traffic_then_replay_it(tmp_path: Path, httpserver: HTTPServer) -> None:
    body = {
        "model": "m",
        "choices": [
            {"message": {"content": "4", "reasoning_content": "2+2"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 14, "completion_tokens": 9},
    }
    httpserver.expect_request("/v1/chat/completions").respond_with_json(body)
    path = tmp_path / "live.jsonl"
    live = OpenAIBackend(httpserver.url_for("/v1"), model="m")

    async def record() -> Response:
        with ResponseCache(path) as cache:
            try:
                response = await live.complete(Q)
            finally:
                await live.aclose()
            cache.put(Q, response)
            return response

    original = asyncio.run(record())
    replayed = replay(ReplayBackend(path), Q)
    assert replayed == original
    assert len(httpserver.log) == 1
