"""The pytest plugin in real pytest runs (pytester): growth assertions and cassettes.

Every cassette test records from a real upstream over HTTP (the simulated server behind a
connection counter, or an upstream that numbers its answers) and replays in a second run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from upstreams import Upstreams

GROWTH = """
from hakaru import Request
from hakaru.testing import assert_growth

SIZES = [2, 3, 4, 6, 8, 12]

async def linear(session, n):
    await session.map(lambda i: session.call(Request.chat("sim-small", f"item {i}")), range(n))

async def quadratic(session, n):
    await session.map(lambda k: session.call(Request.chat("sim-small", f"pair {k}")), range(n * n))

def test_quadratic_at_most_n(hakaru_session_factory):
    assert_growth(quadratic, SIZES, at_most="n", session=hakaru_session_factory)

def test_quadratic_at_most_n2(hakaru_session_factory):
    assert_growth(quadratic, SIZES, at_most="n^2", session=hakaru_session_factory)

def test_linear_at_most_n_log_n(hakaru_session_factory):
    assert_growth(linear, SIZES, at_most="n log n", session=hakaru_session_factory)
"""

SDK = """
import json, os
import openai

def _log(value):
    with open(os.environ["ANSWERS"], "a") as f:
        f.write(json.dumps(value) + "\\n")

def test_chat(hakaru_cassette):
    client = openai.OpenAI(max_retries=0)
    date, ticket = os.environ.get("DATE", "2026-12-04"), os.environ.get("TICKET", "1")
    system = f"Today is {date}. Ticket #{ticket}."
    prompt = os.environ.get("PROMPT", "Add 2 and 3")
    for _ in range(int(os.environ.get("REPEATS", "1"))):
        r = client.chat.completions.create(
            model="sim-small",
            messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}],
            temperature=1.0,
        )
        _log(r.choices[0].message.content)

def test_stream(hakaru_cassette):
    client = openai.OpenAI(max_retries=0)
    stream = client.chat.completions.create(
        model="sim-small",
        messages=[{"role": "user", "content": "Write a short note"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        _log(chunk.model_dump(mode="json"))
"""

SESSION = """
import asyncio, json, os
from hakaru import Request

def test_session(hakaru_session, hakaru_cassette):
    async def main():
        async with hakaru_session as s:
            r = await s.call(Request.chat("sim-small", "Add 2 and 3"))
            return r.text, s.totals()["calls"]
    text, calls = asyncio.run(main())
    with open(os.environ["ANSWERS"], "a") as f:
        f.write(json.dumps([text, calls]) + "\\n")
"""


def _answers(path: Path) -> list[object]:
    out = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    path.unlink(missing_ok=True)
    return out


@pytest.fixture
def sdk(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makepyfile(test_agent=SDK)
    monkeypatch.setenv("ANSWERS", str(pytester.path / "answers.jsonl"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-0123456789")
    return pytester


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly", *args)


def test_loading_the_plugin_is_light() -> None:
    # pytest loads the plugin in every run of every project that installs hakaru
    code = (
        "import sys, hakaru.testing.plugin; "
        "print(sorted(m for m in ('numpy', 'aiohttp', 'openai', 'hakaru.analysis') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_growth_assertions_in_a_real_pytest_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_growth=GROWTH)
    result = _run(pytester)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*calls grows like n², faster than the bound n.*",
            "*FAILED test_growth.py::test_quadratic_at_most_n*",
        ]
    )
    text = result.stdout.str()
    assert "fitted class   n²" in text and "runner-up" in text and "144" in text


def test_replay_only_makes_no_connection_and_writes_no_key(
    sdk: pytest.Pytester, upstreams: Upstreams
) -> None:
    answers = sdk.path / "answers.jsonl"
    url = upstreams.sim_url
    _run(sdk, "-k", "test_chat", "--hakaru-record", "once", f"--hakaru-base-url={url}")
    recorded = _answers(answers)
    assert upstreams.connections >= 1 and len(recorded) == 1
    cassette = sdk.path / "cassettes" / "test_agent" / "test_chat.jsonl"
    text = cassette.read_text()
    assert "sk-test-secret" not in text and "uthorization" not in text
    assert json.loads(text.splitlines()[0]) == {
        "hakaru_cassette": 1,
        "test": "test_agent.py::test_chat",
    }
    before = upstreams.connections
    result = _run(sdk, "-k", "test_chat", "--hakaru-record", "none", f"--hakaru-base-url={url}")
    result.assert_outcomes(passed=1)
    assert upstreams.connections == before  # not one connection reached the upstream
    assert _answers(answers) == recorded


def test_identical_sampled_requests_replay_in_recorded_order(
    sdk: pytest.Pytester, upstreams: Upstreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPEATS", "3")
    answers = sdk.path / "answers.jsonl"
    url = upstreams.numbered_url
    with monkeypatch.context() as env:  # recorded from the server the program points at
        env.setenv("OPENAI_BASE_URL", f"{url}/v1")
        _run(sdk, "-k", "test_chat", "--hakaru-record", "all")
    assert _answers(answers) == ["answer 1", "answer 2", "answer 3"]
    result = _run(sdk, "-k", "test_chat", "--hakaru-record", "none")
    result.assert_outcomes(passed=1)
    assert _answers(answers) == ["answer 1", "answer 2", "answer 3"]
    assert upstreams.numbered.answered == 3
    # A fourth occurrence was never recorded: a miss that says so, not the first answer again.
    monkeypatch.setenv("REPEATS", "4")
    result = _run(sdk, "-k", "test_chat", "--hakaru-record", "none")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*recorded 3 time(s), but this is occurrence 4*"])
    assert _answers(answers) == ["answer 1", "answer 2", "answer 3"]  # before the miss
    # new_episodes keeps the three and records the fourth
    _run(sdk, "-k", "test_chat", "--hakaru-record", "new_episodes", f"--hakaru-base-url={url}")
    assert _answers(answers) == ["answer 1", "answer 2", "answer 3", "answer 4"]


def test_a_miss_fails_at_once_with_the_nearest_request_and_a_diff(
    sdk: pytest.Pytester, upstreams: Upstreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = upstreams.sim_url
    _run(sdk, "-k", "test_chat", "--hakaru-record", "once", f"--hakaru-base-url={url}")
    before = upstreams.connections
    monkeypatch.setenv("PROMPT", "Add 2 and 4")
    result = _run(sdk, "-k", "test_chat", "--hakaru-record", "none", f"--hakaru-base-url={url}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*has no recording of this request to /v1/chat/completions; nothing was sent*",
            '*-*"content": "Add 2 and 3"*',
            '*+*"content": "Add 2 and 4"*',
        ]
    )
    assert upstreams.connections == before


def test_volatile_parts_do_not_break_replay(
    sdk: pytest.Pytester, upstreams: Upstreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdk.makeini("[pytest]\nhakaru_volatile =\n    Ticket #\\d+\n")
    url = upstreams.sim_url
    _run(sdk, "-k", "test_chat", "--hakaru-record", "once", f"--hakaru-base-url={url}")
    recorded = _answers(sdk.path / "answers.jsonl")
    monkeypatch.setenv("DATE", "2027-01-15")  # a default pattern: dates
    monkeypatch.setenv("TICKET", "4711")  # the declared pattern
    result = _run(sdk, "-k", "test_chat", "--hakaru-record", "none")
    result.assert_outcomes(passed=1)
    assert _answers(sdk.path / "answers.jsonl") == recorded


def test_streams_replay_chunk_by_chunk_with_usage(
    sdk: pytest.Pytester, upstreams: Upstreams
) -> None:
    answers = sdk.path / "answers.jsonl"
    url = upstreams.sim_url
    _run(sdk, "-k", "test_stream", "--hakaru-record", "once", f"--hakaru-base-url={url}")
    recorded = _answers(answers)
    assert len(recorded) > 3 and recorded[-1]["usage"]["completion_tokens"] > 0  # type: ignore[index]
    before = upstreams.connections
    result = _run(sdk, "-k", "test_stream", "--hakaru-record", "none")
    result.assert_outcomes(passed=1)
    assert _answers(answers) == recorded  # every chunk, ids and timestamps included
    assert upstreams.connections == before


def test_session_calls_record_and_replay(
    pytester: pytest.Pytester, upstreams: Upstreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_plugged_session=SESSION)
    answers = pytester.path / "answers.jsonl"
    monkeypatch.setenv("ANSWERS", str(answers))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-0123456789")
    live = ("--hakaru-backend", "openai", f"--hakaru-base-url={upstreams.sim_url}/v1")
    with monkeypatch.context() as env:  # the server from the environment, as the SDK finds it
        env.setenv("OPENAI_BASE_URL", f"{upstreams.sim_url}/v1")
        _run(pytester, "--hakaru-record", "once", "--hakaru-backend", "openai").assert_outcomes(
            passed=1
        )
    recorded = _answers(answers)
    before = upstreams.connections
    assert before >= 1
    _run(pytester, "--hakaru-record", "none", *live).assert_outcomes(passed=1)
    assert _answers(answers) == recorded and upstreams.connections == before
    cassette = pytester.path / "cassettes" / "test_plugged_session" / "test_session.jsonl"
    text = cassette.read_text()
    assert '"via": "session"' in text and '"via": "http"' not in text  # recorded once, not twice


def test_bad_cassettes_fail_with_what_to_do(sdk: pytest.Pytester) -> None:
    folder = sdk.path / "cassettes" / "test_agent"
    folder.mkdir(parents=True)
    cassette = folder / "test_chat.jsonl"
    result = _run(sdk, "-k", "test_chat", "--hakaru-record", "none")
    result.stdout.fnmatch_lines(["*does not exist and the record mode is 'none'*"])
    header = json.dumps({"hakaru_cassette": 1, "test": "test_agent.py::test_chat"})
    cassette.write_text(header + '\n{"via": "http", "endpoint": "/v1/chat/comp\n')
    result = _run(sdk, "-k", "test_chat", "--hakaru-record", "none")
    result.stdout.fnmatch_lines(["*line 2 of the cassette*is not JSON*re-record*"])
    cassette.write_text('{"key": "ab", "sample": 0, "request": {}, "response": {}}\n')
    result = _run(sdk, "-k", "test_chat", "--hakaru-record", "none")
    result.stdout.fnmatch_lines(["*is not a hakaru cassette*another tool's recording*"])
    other = json.dumps({"hakaru_cassette": 1, "test": "test_other.py::test_plan"})
    cassette.write_text(other + "\n")
    result = _run(sdk, "-k", "test_chat", "--hakaru-record", "none")
    result.stdout.fnmatch_lines(["*was recorded by test_other.py::test_plan, not by*"])
