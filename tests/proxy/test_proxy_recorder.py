"""The recording proxy in front of real servers: exact records, inferred dependencies, faults
passed on unchanged and recorded, secrets never stored."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import openai
import pytest
from aiohttp import web
from proxy_servers import Routes, Servers
from pytest_httpserver import HTTPServer
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse

from hakaru.ledger import totals_of
from hakaru.proxy.faults import FaultPlan
from hakaru.proxy.upstream import AiohttpClient, make_forwarder
from hakaru.store import RunStore
from hakaru.tasks import GenericKind
from hakaru.tokenizer import count_tokens
from hakaru.types import CallRecord

KEY = "sk-hakaru-SECRET-5e1f0c2b"


def client(url: str, **kw: Any) -> openai.OpenAI:
    kw.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=url, api_key=KEY, **kw)


def ask(numbers: list[int]) -> Any:  # the SDK's message TypedDicts, loosely
    return [{"role": "user", "content": "Add these numbers: " + ", ".join(map(str, numbers))}]


def say(text: str) -> Any:
    return [{"role": "user", "content": text}]


def records(servers: Servers) -> list[CallRecord]:
    assert servers.recorder is not None and servers.recorder.run_id is not None
    run_id = servers.recorder.run_id
    servers.loop.call(lambda: servers.recorder.sink.flush() if servers.recorder.sink else 0)  # type: ignore[union-attr]
    return list(servers.store.calls(run_id))


@pytest.fixture(params=["aiohttp", "httpx2"])
def forwarder_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_sequential_chain_is_recorded_exactly(servers: Servers, forwarder_kind: str) -> None:
    url = servers.start_proxy(servers.start_sim(), forwarder=make_forwarder(forwarder_kind))
    c = client(url)
    total = 0
    for i in range(1, 6):
        r = c.chat.completions.create(
            model="sim-small", messages=ask([total, i]), extra_headers={"X-Hakaru-Role": "adder"}
        )
        total = int((r.choices[0].message.content or "").split("=")[1])
    assert total == 15
    recs = records(servers)
    assert [r.parents for r in recs] == [(), (1,), (2,), (3,), (4,)]
    assert {(r.role, r.model, r.status, r.usage_source, r.attempt) for r in recs} == {
        ("adder", "sim-small", "ok", "reported", 1)
    }
    assert [r.input_tokens for r in recs] == [
        count_tokens(ask([t, i])[0]["content"])
        for t, i in ((0, 1), (1, 2), (3, 3), (6, 4), (10, 5))
    ]
    assert [r.output_tokens for r in recs] == [3] * 5  # "sum = 1" … "sum = 15"
    assert recs[0].size == 3.0  # sim-small's spec, and its prices
    assert recs[0].dollars == pytest.approx(
        (recs[0].input_tokens * 0.10 + recs[0].output_tokens * 0.40) / 1e6
    )
    totals = servers.end()
    assert totals == {
        **totals_of(recs, servers.store.prices(recs[0].run_id)),
        "peak_concurrency": 1,
        "estimated_calls": 0,
    }
    assert (totals["calls"], totals["depth"], totals["output_tokens"]) == (5, 5, 15)


def test_a_fan_out_and_join_are_siblings_then_one_child(servers: Servers) -> None:
    # Each call sleeps its simulated latency (about 60 ms), so the gathered calls overlap.
    url = servers.start_proxy(servers.start_sim(real_time=True, time_scale=0.5))

    async def program() -> None:
        c = openai.AsyncOpenAI(base_url=url, api_key=KEY, max_retries=0)
        parts = await asyncio.gather(
            *(c.chat.completions.create(model="m", messages=ask([i, i])) for i in range(8))
        )
        partial = [int((p.choices[0].message.content or "").split("=")[1]) for p in parts]
        await c.chat.completions.create(model="m", messages=ask(partial))
        await c.close()

    asyncio.run(program())
    recs = records(servers)
    assert len(recs) == 9
    assert all(r.parents == () for r in recs[:8])
    assert sorted(recs[8].parents) == list(range(1, 9))
    totals = servers.end()
    assert (totals["calls"], totals["depth"], totals["peak_concurrency"]) == (9, 2, 8)
    assert totals == {
        **totals_of(recs, servers.store.prices(recs[0].run_id)),
        "peak_concurrency": 8,
        "estimated_calls": 0,
    }


def test_streams_take_the_final_usage_or_are_estimated_and_marked(
    servers: Servers, forwarder_kind: str
) -> None:
    sim = servers.start_sim(generic=GenericKind(median_tokens=40, sigma=0))
    url = servers.start_proxy(sim, forwarder=make_forwarder(forwarder_kind))
    c = client(url)
    messages: Any = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    with_usage = list(
        c.chat.completions.create(
            model="m", messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    plain = list(c.chat.completions.create(model="m", messages=messages, stream=True))
    direct = list(client(sim).chat.completions.create(model="m", messages=messages, stream=True))
    assert len(with_usage) == len(plain) + 1  # the proxy passes every chunk on

    def shown(chunks: list[Any]) -> list[Any]:
        return [ch.model_dump(exclude={"id", "created"}) for ch in chunks]

    # The proxy asked for the usage of the plain stream; its client sees the stream it asked
    # for, exactly as the server sends it to a client that does not ask.
    assert shown(plain) == shown(direct) and all(ch.usage is None for ch in plain)
    recs = records(servers)
    assert [(r.usage_source, r.output_tokens) for r in recs] == [("reported", 40)] * 2
    assert recs[1].input_tokens == count_tokens("Be brief.\nHi") == recs[0].input_tokens
    assert recs[0].finish_reason == recs[1].finish_reason == "stop"


def test_a_stream_whose_server_reports_no_usage_is_estimated_and_marked(
    httpserver: HTTPServer, servers: Servers
) -> None:
    asked: list[Any] = []

    def upstream(request: WRequest) -> WResponse:  # a server that ignores stream_options
        asked.append(json.loads(request.data)["stream_options"])
        chunks = [{"choices": [{"index": 0, "delta": {"content": w}}]} for w in ("two ", "words")]
        body = "".join(f"data: {json.dumps(ch)}\n\n" for ch in chunks) + "data: [DONE]\n\n"
        return WResponse(body, content_type="text/event-stream")

    httpserver.expect_request("/v1/chat/completions").respond_with_handler(upstream)
    url = servers.start_proxy(httpserver.url_for("/v1"))
    got = list(client(url).chat.completions.create(model="m", messages=ask([1]), stream=True))
    assert "".join(ch.choices[0].delta.content or "" for ch in got) == "two words"
    assert asked == [{"include_usage": True}]
    rec = records(servers)[0]
    assert (rec.usage_source, rec.output_tokens) == ("estimated", count_tokens("two words"))


def test_authorization_passes_through_and_is_never_stored(
    httpserver: HTTPServer, servers: Servers, tmp_path: Path
) -> None:
    seen: list[str] = []

    def upstream(request: WRequest) -> WResponse:
        seen.append(request.headers.get("Authorization", ""))
        assert "X-Hakaru-Role" not in request.headers  # hakaru's own headers stay here
        if len(seen) == 2:
            text = json.dumps({"error": {"message": f"Incorrect API key provided: {KEY}"}})
            return WResponse(text, status=401, content_type="application/json")
        body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi there"}}]}
        return WResponse(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/v1/chat/completions").respond_with_handler(upstream)
    url = servers.start_proxy(httpserver.url_for("/v1"))
    c = client(url)
    r = c.chat.completions.create(
        model="gpt-x", messages=ask([1]), extra_headers={"X-Hakaru-Role": "a"}
    )
    assert r.choices[0].message.content == "hi there"
    with pytest.raises(openai.AuthenticationError):
        c.chat.completions.create(model="gpt-x", messages=ask([1]))
    assert seen == [f"Bearer {KEY}"] * 2
    recs = records(servers)
    assert [(r.status, r.usage_source, r.output_tokens) for r in recs] == [
        ("ok", "estimated", count_tokens("hi there")),
        ("error", "reported", 0),
    ]
    assert recs[1].error_kind == "rejected"
    assert recs[1].error.startswith("HTTP 401: ") and "Incorrect API key provided: ***" in (
        recs[1].error
    )
    servers.end()
    servers.store.close()
    db = (servers.store.path).read_bytes()
    wal = Path(str(servers.store.path) + "-wal")
    assert KEY.encode() not in db + (wal.read_bytes() if wal.exists() else b"")


def test_faults_reach_the_client_unchanged_and_are_recorded(
    servers: Servers, forwarder_kind: str
) -> None:
    plan = FaultPlan(rate_429=0.25, rate_500=0.25, garbage_rate=0.25, retry_after=0, seed=5)
    sim = servers.start_sim(faults=plan)
    direct_kinds = []
    url = servers.start_proxy(sim, forwarder=make_forwarder(forwarder_kind))
    for i in range(24):
        body = json.dumps({"model": "m", "messages": ask([i])}).encode()
        req = urllib.request.Request(
            url + "/chat/completions", data=body, headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                payload = resp.read()
                try:
                    json.loads(payload)
                    direct_kinds.append("ok")
                except ValueError:
                    direct_kinds.append("garbage")
        except urllib.error.HTTPError as exc:
            direct_kinds.append(str(exc.code))
            if exc.code == 429:
                assert exc.headers["retry-after"] == "0"
                assert json.loads(exc.read())["error"]["code"] == "rate_limit_exceeded"
    assert servers.sim is not None
    counts = servers.sim.faults.counts
    assert direct_kinds.count("429") == counts["429"] > 0
    assert direct_kinds.count("500") == counts["500"] > 0
    assert direct_kinds.count("garbage") == counts["garbage"] > 0
    recs = records(servers)
    expected = {"ok": "", "429": "rate_limited", "500": "server_error", "garbage": "bad_response"}
    assert [r.error_kind for r in recs] == [expected[k] for k in direct_kinds]
    totals = servers.end()
    assert totals["failed_calls"] == 24 - direct_kinds.count("ok")


def test_the_sdk_retries_are_recorded_as_attempts(servers: Servers) -> None:
    sim = servers.start_sim(faults=FaultPlan(rate_429=1.0, retry_after=0.01))
    url = servers.start_proxy(sim)
    with pytest.raises(openai.RateLimitError):
        client(url, max_retries=2).chat.completions.create(model="m", messages=ask([1, 2]))
    recs = records(servers)
    assert [(r.attempt, r.error_kind, r.parents) for r in recs] == [
        (1, "rate_limited", ()),
        (2, "rate_limited", (1,)),
        (3, "rate_limited", (2,)),
    ]


def test_drops_broken_streams_timeouts_and_hangups(servers: Servers, forwarder_kind: str) -> None:
    dropper = servers.start_sim(faults=FaultPlan(drop_rate=1.0))
    url = servers.start_proxy(dropper, forwarder=make_forwarder(forwarder_kind, timeout=0.5))
    c = client(url)
    with pytest.raises(openai.APIConnectionError):  # dropped: the client's connection drops too
        c.chat.completions.create(model="m", messages=ask([1]))
    received = []
    with pytest.raises(openai.APIConnectionError):  # broken stream: broken for the client too
        stream = c.chat.completions.create(
            model="m", messages=say("A long story, please."), stream=True
        )
        for chunk in stream:
            received.append(chunk)
    assert len(received) >= 1  # it broke after some chunks had arrived
    recs = records(servers)
    assert [(r.status, r.error_kind) for r in recs] == [("error", "connection")] * 2
    assert recs[1].error.startswith("broken stream: ") and recs[1].usage_source == "estimated"

    # a slow upstream: the proxy's own timeout (0.5 s) answers 504
    assert servers.recorder is not None
    servers.recorder.upstream = servers.start_sim(faults=FaultPlan(delay_rate=1.0, delay=2.0))
    with pytest.raises(openai.APIStatusError) as err:
        c.chat.completions.create(model="m", messages=ask([1]))
    assert err.value.status_code == 504
    assert "no answer from the upstream within 0.5 s" in err.value.message
    # the client gives up first: the call is recorded as cancelled
    with pytest.raises(openai.APITimeoutError):
        client(url, timeout=0.2).chat.completions.create(model="m", messages=ask([2]))
    servers.loop.run(servers.recorder.drain(5))
    recs = records(servers)
    assert [r.error_kind for r in recs[2:]] == ["timeout", "cancelled"]

    # nothing listens upstream: 502 from the proxy, recorded
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    servers.recorder.upstream = f"http://127.0.0.1:{free}/v1"
    with pytest.raises(openai.APIStatusError) as err:
        c.chat.completions.create(model="m", messages=ask([1]))
    assert err.value.status_code == 502 and "cannot reach the upstream" in err.value.message
    assert records(servers)[-1].error_kind == "connection"
    totals = servers.end()
    assert (totals["calls"], totals["failed_calls"]) == (5, 5)


def test_malformed_requests_get_a_400_and_other_paths_pass_unrecorded(servers: Servers) -> None:
    url = servers.start_proxy(servers.start_sim())

    def post(path: str, data: bytes) -> tuple[int, dict[str, Any]]:
        req = urllib.request.Request(url + path, data=data, headers={"x": "y"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    status, body = post("/chat/completions", b"{not json")
    assert status == 400
    assert body["error"]["message"] == (
        "hakaru proxy: the request body is not valid JSON (Expecting property name enclosed in "
        "double quotes: line 1 column 2 (char 1)). Send a JSON object, as the OpenAI API expects."
    )
    status, body = post("/completions", json.dumps({"model": "m"}).encode())
    assert status == 400
    assert body["error"]["message"] == (
        "hakaru proxy: malformed /v1/completions request: a completion request needs a "
        "'prompt'. Nothing was forwarded; fix the request."
    )
    models = client(url).models.list()
    assert len(models.data) == 5
    assert records(servers) == []
    assert servers.recorder is not None and servers.recorder.rejected == 2


def test_the_cli_proxy_records_a_run_and_finishes_it_on_sigterm(
    sim_url: str, tmp_path: Path
) -> None:
    from proxy_servers import spawn, stop

    db = tmp_path / "p.db"
    proc, url = spawn("proxy", "--upstream", sim_url, "--port", "0", "--store", str(db))
    try:
        c = client(url)
        for i in range(3):
            c.chat.completions.create(model="sim-oracle", messages=ask([i, 1]))
    finally:
        _, err = stop(proc)
    with RunStore(db) as store:
        (info,) = store.runs()
        assert (info.kind, info.status, info.calls) == ("proxy", "done", 3)
        assert info.summary is not None and info.summary["depth"] == 3
    assert f"hakaru proxy: run {info.id}: 3 calls (0 failed)" in err


def test_a_client_that_leaves_mid_stream_is_recorded_as_cancelled(servers: Servers) -> None:
    async def slow_stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        for i in range(50):
            delta = {"choices": [{"index": 0, "delta": {"content": f"word{i} "}}]}
            await response.write(b"data: " + json.dumps(delta).encode() + b"\n\n")
            await asyncio.sleep(0.02)
        await response.write(b"data: [DONE]\n\n")
        return response

    upstream = Routes([web.post("/v1/chat/completions", slow_stream)])
    url = servers.start_proxy(servers.serve(upstream) + "/v1")
    stream = client(url).chat.completions.create(model="m", messages=ask([1]), stream=True)
    got = [next(iter(stream)) for _ in range(3)]
    stream.close()  # the client hangs up after three chunks
    assert len(got) == 3 and servers.recorder is not None
    assert servers.loop.run(servers.recorder.drain(5))
    (rec,) = records(servers)
    assert (rec.status, rec.error_kind, rec.usage_source) == ("error", "cancelled", "estimated")
    assert 3 <= rec.output_tokens < 100  # what had been relayed when the client left
    assert rec.error == "the client closed the connection mid-stream"


def test_an_https_upstream(servers: Servers, tmp_path: Path) -> None:
    import ssl
    import subprocess

    from hakaru.backends.sim import SimBackend
    from hakaru.proxy.server import SimServer
    from hakaru.proxy.serving import listen

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    tls = servers.loop.run(listen(SimServer(SimBackend()), ssl=server_ctx))
    try:
        client_ctx = ssl.create_default_context(cafile=str(cert))
        forwarder = AiohttpClient(ssl_context=client_ctx)
        url = servers.start_proxy(tls.url + "/v1", forwarder=forwarder)
        c = client(url)
        answers = [
            c.chat.completions.create(model="m", messages=ask([i, 2])).choices[0].message.content
            for i in range(3)
        ]
        assert answers == ["sum = 2", "sum = 3", "sum = 4"]
        assert [r.status for r in records(servers)] == ["ok"] * 3
    finally:
        servers.loop.run(tls.close())
