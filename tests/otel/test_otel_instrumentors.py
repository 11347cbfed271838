"""Import of traces made by the real instrumentors — OpenInference's and OpenTelemetry's own
GenAI instrumentor of the OpenAI SDK — while a real program (the openai SDK) calls
``hakaru sim serve`` in another process; the SDK's OTLP/JSON file exporter writes the traces.
The imported counts and tokens must equal what the server says it answered and billed
(``/hakaru/stats``): measured on the simulator, exact by construction there."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from hakaru.otel.importer import import_traces
from hakaru.store import RunStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "proxy"))
from proxy_servers import spawn, stop

MODELS = ("sim-small", "sim-large")


@pytest.fixture
def sim() -> Iterator[str]:
    proc, url = spawn("sim", "serve", "--port", "0")
    yield url
    stop(proc)


def program(url: str, provider: TracerProvider, sizes: tuple[int, ...]) -> None:
    """An agent: for a problem of size n, n dependent chat calls (each sees the last answer)
    under an ``invoke_agent`` span that carries the size, plus one streamed call."""
    client = openai.OpenAI(base_url=url, api_key="sim", max_retries=0)
    tracer = provider.get_tracer("test-agent")
    for n in sizes:
        attrs = {"gen_ai.operation.name": "invoke_agent", "app.size": n}
        with tracer.start_as_current_span(f"invoke_agent solver {n}", attributes=attrs):
            last = "start"
            for i in range(n):
                answer = client.chat.completions.create(
                    model=MODELS[i % 2],
                    messages=[
                        {"role": "user", "content": f"Step {i} of {n} after {last}: add 2+2"}
                    ],
                )
                last = answer.choices[0].message.content or ""
            stream = client.chat.completions.create(
                model=MODELS[0],
                messages=[{"role": "user", "content": f"Summarise {n} steps"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            for _ in stream:
                pass


def run_traced(url: str, path: Path, instrument: str, sizes: tuple[int, ...]) -> dict[str, Any]:
    """Run :func:`program` traced by ``instrument`` in a process of its own: an instrumentor
    is switched on once per process (in-process capture, tested in this same session, keeps
    its own switched on), so each trace here is made by exactly the instrumentor named."""
    args = [sys.executable, __file__, url, str(path), instrument, *map(str, sizes)]
    subprocess.run(args, check=True, timeout=120)
    stats = httpx2.get(url.removesuffix("/v1") + "/hakaru/stats").json()
    assert isinstance(stats, dict)
    return stats


def _traced(
    url: str, path: Path, instrument: Callable[[TracerProvider], Any], sizes: tuple[int, ...]
) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(path)))
    instrumentor = instrument(provider)
    try:
        program(url, provider, sizes)
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


def openinference(provider: TracerProvider) -> Any:
    from openinference.instrumentation.openai import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    return instrumentor


def otel_genai(provider: TracerProvider) -> Any:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    return instrumentor


INSTRUMENTS: dict[str, Callable[[TracerProvider], Any]] = {
    "openinference": openinference,
    "otel": otel_genai,
}


@pytest.mark.parametrize("instrument", list(INSTRUMENTS))
def test_import_of_real_instrumentor_traces_matches_the_server(
    sim: str, tmp_path: Path, instrument: str
) -> None:
    path = tmp_path / "traces.jsonl"
    sizes = (2, 4, 8)
    stats = run_traced(sim, path, instrument, sizes)
    with RunStore(tmp_path / "runs.db") as store:
        report = import_traces(store, [path], size_attribute="app.size")
    assert report.skipped == {} and report.estimated == 0
    assert report.structure["invoke_agent"] == len(sizes)
    runs = {r.size: r.totals for r in report.runs}
    assert sorted(runs) == [2.0, 4.0, 8.0]
    calls = sum(t["calls"] for t in runs.values())
    assert calls == report.calls == stats["answered"] == sum(sizes) + len(sizes)
    tokens = stats["tokens"]
    assert sum(t["input_tokens"] for t in runs.values()) == tokens["input"]
    assert sum(t["output_tokens"] for t in runs.values()) == tokens["output"]
    for n, totals in runs.items():
        assert totals["calls"] == n + 1
        assert totals["depth"] == n + 1  # dependent calls: a chain, inferred from timing
        assert totals["forward_passes"] == totals["output_tokens"]


if __name__ == "__main__":
    url, file, name, *ns = sys.argv[1:]
    _traced(url, Path(file), INSTRUMENTS[name], tuple(map(int, ns)))
