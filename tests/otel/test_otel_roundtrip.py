"""Export then import gives back the run: the same totals (calls by status, tokens by class,
dollars, forward passes, AALP cost, work, span and depth), on the simulator (exact by
construction: the records are hakaru's own, so the comparison is of what the spans carried)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from hakaru.backends.sim import SimBackend
from hakaru.cache import ResponseCache
from hakaru.errors import BackendTimeout, RedFlag
from hakaru.ledger import totals_of
from hakaru.mdap.driver import DriverConfig
from hakaru.mdap.hanoi import HANOI_MODELS, HanoiTask
from hakaru.mdap.run import run_maker
from hakaru.otel.export import export_run
from hakaru.otel.importer import import_traces
from hakaru.runner import run_workload
from hakaru.session import Session
from hakaru.store import RunStore
from hakaru.types import Response, Usage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import ScriptedBackend

# what must come back identical
KEYS = (
    "calls", "ok_calls", "failed_calls", "cached_calls", "flagged_calls",
    "input_tokens", "output_tokens", "reasoning_tokens", "cache_read_tokens",
    "cache_write_tokens", "uncached_input_tokens", "dollars", "unpriced_calls",
    "dollars_complete", "forward_passes", "span_forward_passes", "aalp_cost", "span_aalp",
    "depth", "parallelism", "linear", "span_linear",
)  # fmt: skip


def round_trip(store: RunStore, run_id: str, tmp_path: Path) -> tuple[dict[str, Any], Any]:
    path = tmp_path / "run.otlp.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        sent = export_run(store, run_id, out=fh)
    report = import_traces(store, [path])
    assert sent.spans == report.spans == store.run(run_id).calls + 1  # + the root span
    assert [r.traces for r in report.runs] == [1]
    return totals_of(store.calls(run_id), store.prices(run_id)), report


def assert_same(original: dict[str, Any], imported: dict[str, Any]) -> None:
    for key in KEYS:
        assert imported[key] == original[key], key


def test_tree_sum_round_trip(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.db") as store:
        out = asyncio.run(
            run_workload("tree-sum", params={"n": 64, "fan_in": 4}, sim_error=0.2, store=store)
        )
        run_id = out.run_id
        original, report = round_trip(store, run_id, tmp_path)
        imported = report.runs[0]
        assert_same(original, imported.totals)
        assert original["depth"] == 3 and original["calls"] >= 21
        assert imported.size == 64  # hakaru.problem.size
        records = list(store.calls(imported.run_id))
        assert [r.parents for r in records] == [r.parents for r in store.calls(run_id)]
        assert store.run(imported.run_id).params["n"] == 64


def test_maker_run_with_flagged_votes_round_trip(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.db") as store:
        backend = SimBackend(seed=3, models=HANOI_MODELS.values())
        config = DriverConfig("sim-hanoi-nano", k=3)  # 2 % malformed answers: red flags
        out = asyncio.run(run_maker(HanoiTask(6), config, backend, store=store, target=0.9))
        run_id = out.result.run_id
        original, report = round_trip(store, run_id, tmp_path)
        assert original["flagged_calls"] > 0  # red-flagged votes are spans too
        assert_same(original, report.runs[0].totals)
        steps = [(r.step, r.vote, r.status) for r in store.calls(report.runs[0].run_id)]
        assert steps == [(r.step, r.vote, r.status) for r in store.calls(run_id)]


def test_failed_retried_and_cached_attempts_round_trip(tmp_path: Path) -> None:
    def script(request: Any, n: int) -> Any:
        if n == 0:
            return BackendTimeout("slow")  # the first attempt fails and is retried
        return Response("42", Usage(30, 5, cache_read_tokens=10, reasoning_tokens=2), latency=0.5)

    def validate(response: Response) -> str:
        if response.text != "42":
            raise RedFlag("not 42")
        return response.text

    async def main(store: RunStore) -> str:
        cache = ResponseCache(tmp_path / "cache.jsonl")
        async with Session(ScriptedBackend(lambda r, n: "7"), cache=cache) as warm:
            await warm.call("q", model="m", role="reader")
        async with Session(ScriptedBackend(script), store=store, cache=cache) as s:
            await s.call("z", model="m", role="solver", validate=validate)
            await s.call("q", model="m", role="reader")  # answered by the cache
            await s.gather(*(s.call(f"p{i}", model="m", role="worker") for i in range(3)))
            await s.call("join", model="m", role="judge")
        return s.run_id

    with RunStore(tmp_path / "runs.db") as store:
        run_id = asyncio.run(main(store))
        original, report = round_trip(store, run_id, tmp_path)
        assert (original["failed_calls"], original["cached_calls"]) == (1, 1)
        assert original["reasoning_tokens"] > 0 and original["cache_read_tokens"] > 0
        assert_same(original, report.runs[0].totals)
        roles = [(r.role, r.attempt, r.status) for r in store.calls(report.runs[0].run_id)]
        assert roles[:2] == [("solver", 1, "error"), ("solver", 2, "ok")]


def test_exported_file_is_otlp_json_lines(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.db") as store:
        out = asyncio.run(run_workload("tree-sum", params={"n": 16}, store=store))
        path = tmp_path / "x.jsonl"
        with path.open("w") as fh:
            export_run(store, out.run_id, out=fh)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    spans = [
        s for d in lines for r in d["resourceSpans"] for ss in r["scopeSpans"] for s in ss["spans"]
    ]
    root = [s for s in spans if "parentSpanId" not in s or not s["parentSpanId"]]
    assert len(root) == 1 and root[0]["name"].startswith("invoke_workflow")
    calls = [s for s in spans if s is not root[0]]
    keys = {a["key"] for a in calls[0]["attributes"]}
    assert {
        "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model",
        "gen_ai.response.model", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
        "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.reasoning.output_tokens", "gen_ai.agent.name", "hakaru.call.forward_passes",
        "hakaru.call.aalp_cost", "hakaru.call.dollars", "hakaru.call.dollars_known",
        "hakaru.call.attempt", "hakaru.call.status", "hakaru.problem.size",
    } <= keys  # fmt: skip
    assert all(len(s["traceId"]) == 32 and s["traceId"] == root[0]["traceId"] for s in spans)
    linked = [s for s in calls if s.get("links")]
    assert linked and all(s["parentSpanId"] == root[0]["spanId"] for s in calls)


def test_captured_real_program_round_trip(tmp_path: Path) -> None:
    """A real program (the openai SDK, sequential then concurrent calls) captured in-process
    against ``hakaru sim serve``, exported and imported: the same totals."""
    import openai

    import hakaru

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "proxy"))
    from proxy_servers import spawn, stop

    proc, url = spawn("sim", "serve", "--port", "0")
    try:

        async def program() -> None:
            client = openai.AsyncOpenAI(base_url=url, api_key="sk-test", max_retries=0)
            ask = [{"role": "user", "content": "Add these numbers: 2, 3"}]
            await client.chat.completions.create(model="gpt-4.1-mini", messages=ask)
            await asyncio.gather(
                *(
                    client.chat.completions.create(
                        model="gpt-4.1-nano",
                        messages=[{"role": "user", "content": f"Add these numbers: {i}, 3"}],
                    )
                    for i in range(4)
                )
            )
            await client.chat.completions.create(model="gpt-4.1-mini", messages=ask)
            await client.close()

        with RunStore(tmp_path / "runs.db") as store:
            with hakaru.capture(store, name="program") as run:
                asyncio.run(program())
            original, report = round_trip(store, run.run_id, tmp_path)
            assert original["calls"] == 6 and original["dollars"] > 0
            assert_same(original, report.runs[0].totals)
    finally:
        stop(proc)
