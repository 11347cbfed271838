"""The span processor on spans made with the OpenTelemetry SDK's own tracer: GenAI and
OpenInference attributes read, nested reports of one call counted once, parents from timing
pruned by span context, roles from enclosing spans, the doctests of the span reader."""

from __future__ import annotations

import doctest
from pathlib import Path
from typing import Any

from opentelemetry.trace import set_span_in_context

import hakaru
from hakaru.capture import spans
from hakaru.capture.instruments import hub
from hakaru.store import RunStore


def llm(**usage: Any) -> dict[str, Any]:
    return {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4.1-mini", **usage}


def test_doctests() -> None:
    assert doctest.testmod(spans).failed == 0


def test_parallel_branches_are_siblings_even_when_their_calls_do_not_overlap(
    tmp_path: Path,
) -> None:
    tracer = hub().provider.get_tracer("test")
    usage = {"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 4}
    with hakaru.capture(tmp_path / "h.db", name="branches") as run:
        with (
            tracer.start_as_current_span("plan"),
            tracer.start_as_current_span("call", attributes=llm(**usage)),
        ):
            pass
        # Two branches open at once; branch b's call starts after branch a's call ended, but
        # branch a was still running: a's result cannot have reached b.
        branch_a = tracer.start_span("branch_a")
        branch_b = tracer.start_span("branch_b")
        ctx_a, ctx_b = set_span_in_context(branch_a), set_span_in_context(branch_b)
        tracer.start_span("call", context=ctx_a, attributes=llm(**usage)).end()
        tracer.start_span("call", context=ctx_b, attributes=llm(**usage)).end()
        branch_a.end()
        branch_b.end()
        # An outer report and an inner one of the same call: one record, the inner's usage.
        sdk = {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4.1-mini",
            "llm.token_count.prompt": 30,
            "llm.token_count.completion": 5,
            "llm.token_count.prompt_details.cache_read": 20,
            "llm.token_count.completion_details.reasoning": 2,
        }
        with (
            tracer.start_as_current_span("join"),
            tracer.start_as_current_span("framework", attributes=llm()),
            tracer.start_as_current_span("sdk", attributes=sdk),
        ):
            pass
    with RunStore(tmp_path / "h.db", readonly=True) as store:
        rows = list(store.calls(run.run_id))
    assert [(r.id, r.parents, r.role) for r in rows] == [
        (1, (), "plan"),
        (2, (1,), "branch_a"),
        (3, (1,), "branch_b"),  # not (2,): branch_a had not ended when it started
        (4, (2, 3), "join"),
    ]
    last = rows[-1]
    assert (last.input_tokens, last.cache_read_tokens, last.reasoning_tokens) == (30, 20, 2)
    assert run.totals()["calls"] == 4 and run.totals()["depth"] == 3
    assert hub().processor.live_spans() == 0
