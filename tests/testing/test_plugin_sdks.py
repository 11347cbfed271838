"""Cassettes under the other ways programs call LLMs: LangGraph, the Anthropic SDK, and a
program that swallows the error of a miss. Real pytest runs (pytester), real upstreams."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from upstreams import Upstreams

ROOT = Path(__file__).resolve().parents[2]

PROGRAMS = """
import asyncio, importlib.util, json, os, sys
import anthropic

def _log(value):
    with open(os.environ["ANSWERS"], "a") as f:
        f.write(json.dumps(value) + "\\n")

def test_langgraph(hakaru_cassette):
    spec = importlib.util.spec_from_file_location("mapreduce", os.environ["MAPREDUCE"])
    module = importlib.util.module_from_spec(spec)
    sys.modules["mapreduce"] = module  # LangGraph reads the state's type hints from it
    spec.loader.exec_module(module)
    total = asyncio.run(module.run(16, "sim-oracle", 4))  # 4 map calls at once, then a reduce
    _log(total)
    assert total == 136

def test_langgraph_captured(hakaru_cassette, tmp_path):
    import hakaru
    spec = importlib.util.spec_from_file_location("mapreduce", os.environ["MAPREDUCE"])
    module = importlib.util.module_from_spec(spec)
    sys.modules["mapreduce"] = module
    spec.loader.exec_module(module)
    with hakaru.capture(tmp_path / "captured.db", name="replay") as run:
        total = asyncio.run(module.run(16, "sim-oracle", 4))
    _log([total, run.totals()["calls"], run.totals()["input_tokens"]])

def test_anthropic_stream(hakaru_cassette):
    client = anthropic.Anthropic(max_retries=0)  # ANTHROPIC_BASE_URL: the cassette
    with client.messages.stream(
        model="sim-small", max_tokens=64, messages=[{"role": "user", "content": "Write a note"}]
    ) as stream:
        for event in stream:
            _log(event.model_dump(mode="json"))

def test_swallowed_miss(hakaru_cassette):
    import openai
    client = openai.OpenAI(max_retries=0)
    try:
        client.chat.completions.create(
            model="sim-small", messages=[{"role": "user", "content": os.environ["PROMPT"]}]
        )
    except openai.BadRequestError:
        pass  # a program that carries on after an error
"""


@pytest.fixture
def programs(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makepyfile(test_programs=PROGRAMS)
    monkeypatch.setenv("ANSWERS", str(pytester.path / "answers.jsonl"))
    monkeypatch.setenv("MAPREDUCE", str(ROOT / "examples" / "langgraph_mapreduce.py"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-0123456789")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-secret-0123456789")
    return pytester


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def _answers(path: Path) -> list[object]:
    out = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    path.unlink(missing_ok=True)
    return out


@pytest.mark.parametrize("test", ["test_langgraph", "test_anthropic_stream"])
def test_replays_without_a_connection(
    programs: pytest.Pytester, upstreams: Upstreams, test: str
) -> None:
    answers = programs.path / "answers.jsonl"
    url = f"--hakaru-base-url={upstreams.sim_url}"
    _run(programs, f"test_programs.py::{test}", "--hakaru-record", "once", url).assert_outcomes(
        passed=1
    )
    recorded = _answers(answers)
    assert recorded and upstreams.connections >= 1
    cassette = programs.path / "cassettes" / "test_programs" / f"{test}.jsonl"
    assert "secret" not in cassette.read_text()
    before = upstreams.connections
    _run(programs, f"test_programs.py::{test}", "--hakaru-record", "none", url).assert_outcomes(
        passed=1
    )
    assert upstreams.connections == before
    assert _answers(answers) == recorded  # the same total; the same events, usage included
    if test == "test_anthropic_stream":
        kinds = [e["type"] for e in recorded]  # type: ignore[index]
        assert kinds[0] == "message_start" and "message_delta" in kinds


def test_a_swallowed_miss_still_fails_the_test(
    programs: pytest.Pytester, upstreams: Upstreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMPT", "Add 2 and 3")
    url = f"--hakaru-base-url={upstreams.sim_url}"
    _run(programs, "-k", "swallowed", "--hakaru-record", "once", url).assert_outcomes(passed=1)
    monkeypatch.setenv("PROMPT", "Add 2 and 4")
    result = _run(programs, "-k", "swallowed", "--hakaru-record", "none")
    result.assert_outcomes(passed=1, errors=1)  # the test body passed; its teardown fails
    result.stdout.fnmatch_lines(["*1 call(s) missed the cassette (the program caught the error)*"])


def test_in_process_capture_counts_a_replayed_langgraph_program(
    programs: pytest.Pytester, upstreams: Upstreams
) -> None:
    # capture switches instrumentors on for the whole process: the runs get processes of their own
    answers = programs.path / "answers.jsonl"
    url = f"--hakaru-base-url={upstreams.sim_url}"
    args = ("-p", "no:cacheprovider", "-k", "test_langgraph_captured", url)
    programs.runpytest_subprocess(*args, "--hakaru-record", "once").assert_outcomes(passed=1)
    recorded = _answers(answers)
    before = upstreams.connections
    programs.runpytest_subprocess(*args, "--hakaru-record", "none").assert_outcomes(passed=1)
    assert upstreams.connections == before
    replayed = _answers(answers)
    assert replayed == recorded and replayed[0][:2] == [136, 5]  # type: ignore[index]
