"""Import of traces made by the real instrumentors — OpenInference's and OpenTelemetry's own
GenAI instrumentor of the OpenAI SDK — while a real program (the openai SDK) calls
``hakaru sim serve`` in another process; the SDK's OTLP/JSON file exporter writes the traces.
The imported counts and tokens must equal what the server says it answered and billed
(``/hakaru/stats``): measured on the simulator, exact by construction there. The program
(programs/traced_agent.py) runs in its own process, as a user's would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from hakaru.otel.importer import import_traces
from hakaru.store import RunStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "proxy"))
from proxy_servers import spawn, stop

PROGRAM = Path(__file__).parent / "programs" / "traced_agent.py"


@pytest.fixture
def sim() -> Iterator[str]:
    proc, url = spawn("sim", "serve", "--port", "0")
    yield url
    stop(proc)


def run_traced(url: str, path: Path, instrumentor: str, sizes: tuple[int, ...]) -> dict[str, Any]:
    """Run the traced program in its own process (instrumentors patch the openai SDK for the
    whole process), then read what the server says it served."""
    done = subprocess.run(
        [sys.executable, str(PROGRAM), url, str(path), instrumentor, *map(str, sizes)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    stats = httpx2.get(url.removesuffix("/v1") + "/hakaru/stats").json()
    assert isinstance(stats, dict)
    return stats


@pytest.mark.parametrize("instrumentor", ["openinference", "otel"])
def test_import_of_real_instrumentor_traces_matches_the_server(
    sim: str, tmp_path: Path, instrumentor: str
) -> None:
    path = tmp_path / "traces.jsonl"
    sizes = (2, 4, 8)
    stats = run_traced(sim, path, instrumentor, sizes)
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
