"""The session over real HTTP: faults become recorded retries or clear errors, and no completed
call is missing from the ledger or the store. A real local server (pytest-httpserver), no mocks.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse

from hakaru import Budget, BudgetExceeded, RequestRejected, RetryPolicy, Session
from hakaru.backends.openai import OpenAIBackend
from hakaru.runner import run_workload
from hakaru.store import RunStore

FAST = RetryPolicy(max_attempts=6, initial=0.001, max_delay=0.002)


class AddingServer:
    """An OpenAI-compatible server that adds the numbers it is asked to add.

    ``faults`` is consumed one per request first: an HTTP status (429 with Retry-After: 0,
    5xx, 4xx), ``"garbage"`` (malformed JSON) or ``"nousage"`` (a good answer without usage).
    """

    def __init__(self, faults: list[object] | None = None) -> None:
        self.faults = list(faults or [])
        self.requests = 0
        self.auth: list[str] = []

    def __call__(self, request: WRequest) -> WResponse:
        self.requests += 1
        self.auth.append(request.headers.get("Authorization", ""))
        body = json.loads(request.data)
        fault = self.faults.pop(0) if self.faults else None
        if fault == 429:
            return WResponse("slow down", status=429, headers={"Retry-After": "0"})
        if isinstance(fault, int):
            return WResponse(json.dumps({"error": {"message": "nope"}}), status=fault)
        if fault == "garbage":
            return WResponse("{not json", status=200, content_type="application/json")
        prompt = body["messages"][-1]["content"]
        numbers = [int(x) for x in re.findall(r"-?\d+", prompt.split(":", 1)[1])]
        payload: dict[str, object] = {
            "id": "x",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": f"sum = {sum(numbers)}"},
                }
            ],
        }
        if fault != "nousage":
            payload["usage"] = {"prompt_tokens": 50, "completion_tokens": 4, "total_tokens": 54}
        return WResponse(json.dumps(payload), status=200, content_type="application/json")


@pytest.fixture
def adding(httpserver: HTTPServer) -> Iterator[tuple[AddingServer, str]]:
    server = AddingServer()
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_handler(server)
    yield server, httpserver.url_for("/v1")


def test_faults_are_recorded_retries_and_all_reach_the_store(
    adding: tuple[AddingServer, str], tmp_path: Path
) -> None:
    server, url = adding
    server.faults = [429, 500, "garbage", 503, "nousage"]
    backend = OpenAIBackend(base_url=url, api_key="sk-secret-123", model="adder")

    async def main() -> Session:
        async with Session(backend, retry=FAST, store=tmp_path / "h.db") as s:
            r = await s.call("Add these numbers: 1, 2, 3")
            assert r.text == "sum = 6"
            return s

    s = asyncio.run(main())
    kinds = [(r.status, r.error_kind, r.usage_source) for r in s.records]
    assert kinds == [
        ("error", "rate_limited", "estimated"),
        ("error", "server_error", "estimated"),
        ("error", "bad_response", "estimated"),
        ("error", "server_error", "estimated"),
        ("ok", "", "estimated"),  # the server sent no usage: estimated, and marked
    ]
    assert server.auth == ["Bearer sk-secret-123"] * 5
    with RunStore(tmp_path / "h.db") as store:
        stored = list(store.calls(s.run_id))
        assert [(r.status, r.error_kind) for r in stored] == [k[:2] for k in kinds]
        blob = (tmp_path / "h.db").read_bytes()
    assert b"sk-secret-123" not in blob  # the key never reaches the store


def test_a_4xx_is_not_retried_and_is_recorded(adding: tuple[AddingServer, str]) -> None:
    server, url = adding
    server.faults = [422]

    async def main() -> Session:
        async with Session(OpenAIBackend(base_url=url, model="m"), retry=FAST) as s:
            with pytest.raises(RequestRejected):
                await s.call("Add these numbers: 1, 2")
            return s

    s = asyncio.run(main())
    assert [(r.status, r.error_kind) for r in s.records] == [("error", "rejected")]
    assert server.requests == 1


def test_tree_sum_runs_on_a_real_server(adding: tuple[AddingServer, str]) -> None:
    _, url = adding
    out = asyncio.run(
        run_workload(
            "tree-sum",
            params={"n": 64, "fan_in": 4},
            backend="openai",
            backend_options={"base_url": url},
            model="any-model",
        )
    )
    assert (out.totals["calls"], out.totals["depth"], out.result.correct) == (21, 3, True)
    assert out.totals["input_tokens"] == 21 * 50  # the server's reported usage


def test_budget_reached_mid_run_keeps_every_completed_call(
    adding: tuple[AddingServer, str], tmp_path: Path
) -> None:
    _, url = adding
    db = tmp_path / "h.db"
    with pytest.raises(BudgetExceeded, match="The calls budget of 10 calls would be exceeded"):
        asyncio.run(
            run_workload(
                "tree-sum",
                params={"n": 64, "fan_in": 4},
                backend="openai",
                backend_options={"base_url": url},
                model="m",
                store=db,
                session_options={"budget": Budget(calls=10)},
            )
        )
    with RunStore(db) as store:
        (info,) = store.runs()
        assert info.status == "failed"
        assert len(list(store.calls(info.id))) == 10


def test_cli_run_against_the_server(adding: tuple[AddingServer, str], tmp_path: Path) -> None:
    _, url = adding
    p = subprocess.run(
        [sys.executable, "-m", "hakaru.cli.main", "run", "tree-sum", "--n", "16",
         "--backend", "openai", "--base-url", url, "--model", "m", "--api-key", "sk-zzz",
         "--json", "--store", str(tmp_path / "h.db")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert (out["calls"], out["correct"], out["backend"]) == (5, True, "openai")
    assert "sk-zzz" not in p.stdout and b"sk-zzz" not in (tmp_path / "h.db").read_bytes()
