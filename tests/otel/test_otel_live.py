"""Spans sent over OTLP/HTTP — while a session runs, and by ``hakaru runs export
--otlp-endpoint`` — to a real receiver (an aiohttp server that decodes the protobuf requests
with the OTLP proto package), and to a dead port: the run goes on, the loss is counted."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from click.testing import CliRunner
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from hakaru.cli.main import cli
from hakaru.runner import run_workload
from hakaru.session import Session
from hakaru.store import RunStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "proxy"))
from proxy_servers import LoopThread


class Receiver:
    """An OTLP/HTTP traces receiver: every span it was sent, as (name, attributes, links)."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, dict[str, Any], int]] = []
        self.trace_ids: set[bytes] = set()

    async def traces(self, request: web.Request) -> web.Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        for rs in message.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    attrs = {a.key: _value(a.value) for a in span.attributes}
                    self.spans.append((span.name, attrs, len(span.links)))
                    self.trace_ids.add(span.trace_id)
        body = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=body, content_type="application/x-protobuf")


def _value(v: Any) -> Any:
    return getattr(v, v.WhichOneof("value")) if v.WhichOneof("value") else None


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiver]]:
    loop = LoopThread()
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/v1/traces", rec.traces)
    runner = web.AppRunner(app)
    loop.run(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run(site.start())
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", rec
    loop.run(runner.cleanup())
    loop.close()


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed on exit: nothing listens there


async def workload(endpoint: str, store: Any = None) -> Session:
    async with Session("sim", otlp_endpoint=endpoint, store=store, run_name="live") as s:
        await s.gather(*(s.call(f"q{i}", model="sim-small", role="worker") for i in range(40)))
        await s.call("join", model="sim-small", role="judge")
    return s


def test_a_session_streams_its_spans_to_a_receiver(receiver: tuple[str, Receiver]) -> None:
    url, rec = receiver
    s = asyncio.run(workload(url))
    assert s._summary["otlp_spans_sent"] == 42 and s._summary["otlp_spans_dropped"] == 0
    names = [n for n, _, _ in rec.spans]
    assert names.count("chat sim-small") == 41 and names[-1] == "invoke_workflow live"
    judge = [a for n, a, links in rec.spans if a.get("gen_ai.agent.name") == "judge"]
    assert judge[0]["gen_ai.usage.output_tokens"] > 0 and judge[0]["hakaru.call.status"] == "ok"
    assert [links for _, a, links in rec.spans if a.get("gen_ai.agent.name") == "judge"] == [40]
    root = rec.spans[-1][1]
    assert root["hakaru.run.calls"] == 41 and root["hakaru.run.depth"] == 2
    assert len(rec.trace_ids) == 1


def test_a_dead_endpoint_never_fails_the_run_and_counts_the_drops(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hakaru.otel")
    with RunStore(tmp_path / "runs.db") as store:
        s = asyncio.run(workload(f"http://127.0.0.1:{dead_port()}", store))
        info = store.run(s.run_id)
    assert info.status == "done" and info.calls == 41
    summary = info.summary or {}
    assert summary["otlp_spans_sent"] == 0 and summary["otlp_spans_dropped"] == 42
    reports = [r for r in caplog.records if "did not accept spans" in r.getMessage()]
    assert len(reports) == 1  # reported once


def test_runs_export_to_an_otlp_endpoint(tmp_path: Path, receiver: tuple[str, Receiver]) -> None:
    url, rec = receiver
    db = tmp_path / "runs.db"
    with RunStore(db) as store:
        out = asyncio.run(run_workload("tree-sum", params={"n": 16}, store=store))
    result = CliRunner().invoke(
        cli, ["runs", "export", out.run_id, "--otlp-endpoint", url, "--store", str(db)]
    )
    assert result.exit_code == 0, result.output
    assert f"Sent 6 spans of run {out.run_id}" in result.output
    calls = [a for _, a, _ in rec.spans if a.get("gen_ai.operation.name") == "chat"]
    assert len(calls) == 5 and sum(a["hakaru.call.forward_passes"] for a in calls) > 0
    dead = CliRunner().invoke(
        cli,
        ["runs", "export", out.run_id, "--otlp-endpoint", f"http://127.0.0.1:{dead_port()}",
         "--store", str(db)],
    )  # fmt: skip
    assert "did not accept the spans" in str(dead.exception)


def test_run_and_maker_run_stream_with_otlp_endpoint(
    tmp_path: Path, receiver: tuple[str, Receiver]
) -> None:
    url, rec = receiver
    db = str(tmp_path / "runs.db")
    result = CliRunner().invoke(
        cli, ["run", "tree-sum", "--n", "16", "--otlp-endpoint", url, "--store", db, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert sum(a.get("gen_ai.operation.name") == "chat" for _, a, _ in rec.spans) == 5
    dead = f"http://127.0.0.1:{dead_port()}"
    result = CliRunner().invoke(
        cli,
        ["maker", "run", "--disks", "3", "--k", "1", "--otlp-endpoint", dead, "--store", db,
         "--quiet", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with RunStore(db) as store:
        maker = store.runs(kind="maker")[0]
    assert maker.status == "done" and (maker.summary or {})["otlp_spans_dropped"] == maker.calls + 1


def test_trace_streams_a_real_program_with_otlp_endpoint(
    tmp_path: Path, receiver: tuple[str, Receiver]
) -> None:
    """``hakaru trace --otlp-endpoint``: the captured calls of a real program (the openai SDK in
    its own process, against ``hakaru sim serve``) reach the receiver while it runs."""
    import os
    import subprocess

    from proxy_servers import spawn, stop

    url, rec = receiver
    programs = Path(__file__).resolve().parents[1] / "capture" / "programs"
    proc, sim = spawn("sim", "serve", "--port", "0")
    db = tmp_path / "runs.db"
    try:
        env = {**os.environ, "OPENAI_BASE_URL": sim, "OPENAI_API_KEY": "sk-test",
               "PYTHONPATH": str(programs)}  # fmt: skip
        out = subprocess.run(
            [sys.executable, "-m", "hakaru.cli.main", "trace", "--store", str(db),
             "--otlp-endpoint", url, "--json", "--", "python",
             str(programs / "openai_chain.py"), "4"],
            capture_output=True, text=True, env=env, timeout=240,
        )  # fmt: skip
    finally:
        stop(proc)
    assert out.returncode == 0, out.stderr
    chats = [a for n, a, _ in rec.spans if a.get("gen_ai.operation.name") == "chat"]
    assert len(chats) == 4 and all(a["hakaru.call.status"] == "ok" for a in chats)
    with RunStore(db) as store:
        info = store.runs(kind="capture")[0]
    summary = info.summary or {}
    assert (summary["otlp_spans_sent"], summary["otlp_spans_dropped"]) == (5, 0)
