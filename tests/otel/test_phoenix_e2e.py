"""End to end with a real receiver: Arize Phoenix (``phoenix serve``, offline, from the
``.venv-phoenix`` that ``make test`` installs — its pins must not constrain hakaru's venv)
takes a run exported over OTLP/HTTP, and its own REST API gives back the spans with the right
models and token counts."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2
import pytest

from hakaru.otel.export import export_run
from hakaru.session import Session
from hakaru.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
PHOENIX = ROOT / ".venv-phoenix" / "bin" / "phoenix"

pytestmark = pytest.mark.slow
MISSING = (
    "Arize Phoenix is not installed in .venv-phoenix: 'make test' (or 'make phoenix') installs "
    "it there"
)


@pytest.fixture(autouse=True)
def phoenix_installed() -> None:
    if not PHOENIX.exists():
        if os.environ.get("CI") == "true":  # make test installed it: its absence is a failure
            pytest.fail(MISSING)
        pytest.skip(MISSING)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_phoenix(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(folder),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    log = (folder / "phoenix.log").open("wb")
    proc = subprocess.Popen([str(PHOENIX), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240  # it migrates its database first
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"phoenix serve exited: {(folder / 'phoenix.log').read_text()}")
        try:
            if httpx2.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx2.HTTPError:
            pass
        time.sleep(1)
    proc.kill()
    raise AssertionError("phoenix serve did not answer /healthz within 240 s")


async def two_models(store: RunStore) -> str:
    async with Session("sim", store=store, run_name="phoenix") as s:
        await s.gather(*(s.call(f"Add {i} and 2", model="sim-small", role="w") for i in range(6)))
        await s.call("Add them all", model="sim-large", role="judge")
    return s.run_id


def spans_of(url: str, trace_id: str, want: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60  # Phoenix inserts spans in the background
    got: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        data = httpx2.get(url + "/v1/projects/default/spans", params={"limit": 1000}).json()
        got = [s for s in data["data"] if s["context"]["trace_id"] == trace_id]
        if len(got) >= want:
            return got
        time.sleep(1)
    return got


def test_phoenix_receives_the_run_with_models_and_tokens(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.db") as store:
        run_id = asyncio.run(two_models(store))
        records = list(store.calls(run_id))
        proc, url = start_phoenix(tmp_path)
        try:
            sent = export_run(store, run_id, endpoint=url)
            spans = spans_of(url, sent.trace_id, sent.spans)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    assert len(spans) == sent.spans == len(records) + 1
    llm = [s for s in spans if s["span_kind"] == "LLM"]
    assert Counter(s["attributes"]["llm.model_name"] for s in llm) == Counter(
        r.model for r in records
    )
    for model in ("sim-small", "sim-large"):
        mine = [r for r in records if r.model == model]
        theirs = [s["attributes"] for s in llm if s["attributes"]["llm.model_name"] == model]
        assert sum(a["llm.token_count.prompt"] for a in theirs) == sum(r.input_tokens for r in mine)
        assert sum(a["llm.token_count.completion"] for a in theirs) == sum(
            r.output_tokens for r in mine
        )
