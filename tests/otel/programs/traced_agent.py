"""A real program traced the way its authors would: an OpenTelemetry TracerProvider, the SDK's
OTLP JSON file exporter, and an instrumentor of the openai SDK (OpenInference's or
OpenTelemetry's own GenAI one), calling an OpenAI-compatible server.

For a problem of size n it makes n dependent chat calls (each sees the last answer) under an
``invoke_agent`` span that carries the size as ``app.size``, then one streamed call.

Usage: python traced_agent.py BASE_URL OUT.jsonl openinference|otel N [N ...]
"""

from __future__ import annotations

import sys

import openai
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

MODELS = ("sim-small", "sim-large")


def main() -> None:
    url, out, which, *sizes = sys.argv[1:]
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(out)))
    if which == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor
    else:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    client = openai.OpenAI(base_url=url, api_key="sim", max_retries=0)
    tracer = provider.get_tracer("test-agent")
    for n in map(int, sizes):
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
    provider.shutdown()


if __name__ == "__main__":
    main()
