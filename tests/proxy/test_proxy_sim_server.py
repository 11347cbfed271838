"""The simulated OpenAI-compatible server, spoken to by the openai SDK and by raw HTTP.

Exact answers and token counts: the ``sum`` prompt is answered ``sum = <total>`` with usage from
hakaru's tokenizer; unrecognised prompts get deterministic filler of the configured length.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import openai
import pytest
from proxy_servers import Servers, spawn, stop

from hakaru.errors import ConfigError
from hakaru.proxy.faults import FaultInjector, FaultPlan, parse_delay
from hakaru.tasks import GenericKind
from hakaru.tokenizer import count_tokens

SUM = "Add these numbers: 1, 2, 3, 40"


def client(url: str, **kw: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key="sk-test", max_retries=0, **kw)


def post(url: str, body: Any, raw: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    data = raw if raw is not None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_chat_sum_prompt_gets_the_exact_answer_and_usage(servers: Servers) -> None:
    url = servers.start_sim()
    c = client(url)
    r = c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": SUM}])
    assert r.choices[0].message.content == "sum = 46"
    assert r.model == "gpt-4o-mini"  # the name asked for, answered by sim-oracle
    assert r.usage is not None
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (count_tokens(SUM), 3)
    # n choices, and the legacy completions endpoint
    r = c.chat.completions.create(
        model="sim-oracle", messages=[{"role": "user", "content": SUM}], n=3
    )
    assert [ch.message.content for ch in r.choices] == ["sum = 46"] * 3
    assert r.usage is not None and r.usage.completion_tokens == 9
    done = c.completions.create(model="x", prompt="Add these numbers: 5, 6")
    assert done.choices[0].text == "sum = 11"
    assert [m.id for m in c.models.list()] == [
        "sim-adder",
        "sim-large",
        "sim-medium",
        "sim-oracle",
        "sim-small",
    ]


def test_streaming_sends_usage_in_a_final_chunk_only_when_asked(servers: Servers) -> None:
    url = servers.start_sim(generic=GenericKind(median_tokens=30, sigma=0))
    c = client(url)
    messages: Any = [{"role": "user", "content": "Write a haiku about queues."}]
    chunks = list(
        c.chat.completions.create(
            model="sim-small",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert count_tokens(text) == 30
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 30
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == "stop"
    plain = list(c.chat.completions.create(model="sim-small", messages=messages, stream=True))
    assert all(ch.usage is None for ch in plain)
    assert "".join(ch.choices[0].delta.content or "" for ch in plain if ch.choices) == text
    # the same prompt always gets the same answer
    again = c.chat.completions.create(model="sim-small", messages=messages)
    assert again.choices[0].message.content == text


def test_generic_length_is_configurable_and_deterministic(servers: Servers) -> None:
    url = servers.start_sim(generic=GenericKind(median_tokens=50, sigma=0.5))
    c = client(url)
    lengths = []
    for i in range(20):
        r = c.chat.completions.create(
            model="sim-oracle", messages=[{"role": "user", "content": f"Question {i}?"}]
        )
        assert r.usage is not None
        assert count_tokens(r.choices[0].message.content or "") == r.usage.completion_tokens
        lengths.append(r.usage.completion_tokens)
    assert len(set(lengths)) > 5 and 20 < sorted(lengths)[10] < 100  # spread around the median


def test_bad_requests_get_openai_style_errors(servers: Servers) -> None:
    url = servers.start_sim()
    status, _, body = post(url + "/chat/completions", None, raw=b"{nope")
    assert status == 400 and "not valid JSON" in json.loads(body)["error"]["message"]
    status, _, body = post(url + "/chat/completions", {"model": "m", "messages": []})
    assert status == 400
    assert json.loads(body)["error"]["message"] == (
        "'messages' must be a non-empty list of messages."
    )
    status, _, body = post(url + "/completions", {"model": "m", "prompt": 3})
    assert status == 400 and json.loads(body)["error"]["param"] == "prompt"
    long = "Add these numbers: " + ", ".join(["1"] * 1500)  # > sim-adder's 2048-token window
    status, _, body = post(
        url + "/chat/completions",
        {"model": "sim-adder", "messages": [{"role": "user", "content": long}]},
    )
    assert status == 400 and json.loads(body)["error"]["code"] == "context_length_exceeded"
    status, _, body = post(url + "/embeddings", {"model": "m", "input": "x"})
    assert status == 404 and "No route POST /v1/embeddings" in json.loads(body)["error"]["message"]


def test_faults_429_500_garbage_drop_and_delay(servers: Servers) -> None:
    url = servers.start_sim(faults=FaultPlan(rate_429=1.0, retry_after=0.25))
    c = client(url)
    with pytest.raises(openai.RateLimitError) as err:
        c.chat.completions.create(model="m", messages=[{"role": "user", "content": SUM}])
    assert err.value.response.headers["retry-after"] == "0.25"
    assert err.value.response.headers["retry-after-ms"] == "250"

    url = servers.start_sim(faults=FaultPlan(rate_500=1.0))
    with pytest.raises(openai.InternalServerError):
        client(url).chat.completions.create(model="m", messages=[{"role": "user", "content": SUM}])

    url = servers.start_sim(faults=FaultPlan(garbage_rate=1.0))
    status, _, body = post(
        url + "/chat/completions", {"model": "m", "messages": [{"role": "user", "content": SUM}]}
    )
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(body)

    url = servers.start_sim(faults=FaultPlan(drop_rate=1.0))
    with pytest.raises(openai.APIConnectionError):
        client(url).chat.completions.create(model="m", messages=[{"role": "user", "content": SUM}])
    with pytest.raises(openai.APIConnectionError):  # mid-stream: the stream breaks
        stream = client(url).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Tell a long story."}], stream=True
        )
        list(stream)

    url = servers.start_sim(faults=FaultPlan(delay_rate=1.0, delay=0.3))
    t0 = time.perf_counter()
    client(url).chat.completions.create(model="m", messages=[{"role": "user", "content": SUM}])
    assert time.perf_counter() - t0 >= 0.3


def test_fault_draws_follow_the_seed_and_the_rates() -> None:
    plan = FaultPlan(rate_429=0.2, rate_500=0.1, drop_rate=0.05, garbage_rate=0.05, seed=3)
    a = [FaultInjector(plan).draw().kind for _ in range(1)]
    inject = FaultInjector(plan)
    kinds = [inject.draw().kind for _ in range(4000)]
    again = FaultInjector(plan)
    assert kinds == [again.draw().kind for _ in range(4000)]
    assert a == kinds[:1]
    share = {k: kinds.count(k) / len(kinds) for k in ("429", "500", "drop", "garbage", "none")}
    assert abs(share["429"] - 0.2) < 0.03 and abs(share["none"] - 0.6) < 0.03
    with pytest.raises(ConfigError, match="add up to 1.2 > 1"):
        FaultPlan(rate_429=0.7, rate_500=0.5)
    assert parse_delay("0.5:2") == (0.5, 2.0)
    with pytest.raises(ConfigError) as err:
        parse_delay("0.5")
    assert str(err.value) == (
        "--fault-delay '0.5' is not RATE:SECONDS. Write e.g. 0.1:2 (10 % of requests wait 2 s)."
    )


def test_keep_alive_and_a_malformed_request_line(servers: Servers) -> None:
    url = servers.start_sim()
    host, port = url[len("http://") :].split("/")[0].split(":")
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": SUM}]}).encode()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        request = (
            f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: {len(body)}\r\n\r\n"
        ).encode() + body
        sock.sendall(request * 3)  # three requests pipelined on one connection
        data = b""
        while data.count(b"sum = 46") < 3:
            chunk = sock.recv(65536)
            assert chunk
            data += chunk
        assert data.count(b"HTTP/1.1 200 OK") == 3
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GARBAGE\r\n\r\n")
        reply = sock.recv(65536)
        assert reply.split(b"\r\n")[0].endswith(b" 400 Bad Request")
        assert b"Invalid method encountered" in reply
    with socket.create_connection((host, int(port)), timeout=5) as sock:  # chunked body
        half = len(body) // 2
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
            + b"%x\r\n%b\r\n" % (half, body[:half])
            + b"%x\r\n%b\r\n0\r\n\r\n" % (len(body) - half, body[half:])
        )
        assert b"sum = 46" in sock.recv(65536)


def test_cli_serves_and_reports_what_it_answered() -> None:
    proc, url = spawn(
        "sim", "serve", "--port", "0", "--generic-tokens", "7", "--generic-sigma", "0",
        "--fault-500", "0.5", "--fault-seed", "1",
    )  # fmt: skip
    try:
        statuses = []
        for i in range(10):
            status, _, body = post(
                url + "/chat/completions",
                {"model": "m", "messages": [{"role": "user", "content": f"hello {i}"}]},
            )
            statuses.append(status)
            if status == 200:
                assert json.loads(body)["usage"]["completion_tokens"] == 7
        with urllib.request.urlopen(url.removesuffix("/v1") + "/hakaru/stats") as resp:
            stats = json.loads(resp.read())
    finally:
        _, err = stop(proc)
    assert stats["requests"] == 10 and stats["faults"]["500"] == statuses.count(500) > 0
    assert f"10 requests, {statuses.count(200)} answered; faults injected: 500 " in err


def test_the_servers_print_their_url_alone_on_stdout(tmp_path: Path) -> None:
    """docs/profile.md's recipe: the first line of stdout is the bare URL (prose on stderr)."""
    script = r"""
    # exec: a backgrounded function runs in a subshell, and $! must be the server itself, or
    # the kill below leaves it running
    hakaru() { exec "$PY" -m hakaru.cli.main "$@"; }
    hakaru sim serve --port 0 > sim.url 2> sim.err & SIM=$!
    until [ -s sim.url ]; do sleep 0.1; done
    hakaru proxy --upstream "$(head -1 sim.url)" --port 0 --store p.db > proxy.url 2> proxy.err &
    PROXY=$!
    until [ -s proxy.url ]; do sleep 0.1; done
    "$PY" -c 'import sys, urllib.request as u; print(u.urlopen(sys.argv[1] + "/models").status)' \
        "$(head -1 proxy.url)"
    kill $PROXY $SIM; wait
    """
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PY": sys.executable},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout == "200\n", done.stderr
    for name, prose in (("sim", "serving the simulated LLM at"), ("proxy", "recording at")):
        url = (tmp_path / f"{name}.url").read_text()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1\n", url), url
        assert prose + " " + url.strip() in (tmp_path / f"{name}.err").read_text()
