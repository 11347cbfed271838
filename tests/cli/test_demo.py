"""``hakaru demo``: the summary it prints, its JSON, resuming from the store, the HTML report,
the same demo against a real local OpenAI-compatible server, and its error lines.

The full demo (``hakaru demo``, about 37,000 simulated calls) is timed by hand and in the README;
these tests run ``--quick`` grids and a few sweeps, so that they take seconds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse

from hakaru.demo import PLAN, QUICK_PLAN, planned_points
from hakaru.store import RunStore

HAKARU = [sys.executable, "-m", "hakaru.cli.main"]


def hakaru(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HAKARU_DEBUG", "HAKARU_HOME")}
    return subprocess.run(
        [*HAKARU, *args], capture_output=True, text=True, env=env, timeout=120, cwd=cwd
    )


def test_the_plan_covers_the_papers_examples_and_both_designs() -> None:
    assert (
        [d.key for d in PLAN]
        == [d.key for d in QUICK_PLAN]
        == [
            "routing",
            "debugging-k",
            "debugging-b",
            "evolution",
            "sort",
            "tree-sum",
        ]
    )
    assert planned_points(PLAN) == 234  # every variant of each workload, at every point
    assert planned_points(QUICK_PLAN) == 60


def test_quick_demo_prints_the_summary_and_writes_the_report(tmp_path: Path) -> None:
    p = hakaru("demo", "--quick", "--only", "routing", "--only", "tree-sum", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert re.match(
        r"hakaru demo: 2 sweeps, 16 runs, \d+ LLM calls on the simulated LLM in [\d.]+ s\n", out
    )
    assert re.search(r"\nMeasured growth of AALP cost *\n", out)
    assert re.search(r"routing +k +system +generalist +n +1270·n +1\.000 +4/4", out)
    assert re.search(r"routing +k +system +delegated +1 +1327 +– +4/4", out)
    assert re.search(r"routing +k +system +generalist/delegated +n +Θ\(k\) +agrees +k ≈ 1\.04", out)
    assert re.search(r"tree-sum +n +system +single/tree +\S.*? +– +no claim", out)
    report = tmp_path / "hakaru-report.html"  # the default --out, in the working directory
    assert f"report: {report.name} (open it in a browser)" in out
    assert f"sweeps stored in {Path('.hakaru') / 'hakaru.db'}; re-render: hakaru report " in out
    page = report.read_text(encoding="utf-8")
    # the claims (routing's), 2 studies × (ratio, growth, work/span), the roles
    assert page.count("<svg") == 8
    assert (tmp_path / ".hakaru" / "hakaru.db").exists()


def test_the_demo_says_its_verdicts_are_exact_and_shows_evolutions_note(tmp_path: Path) -> None:
    p = hakaru(
        "demo", "--quick", "--only", "evolution", "--no-html", "--store", str(tmp_path / "h")
    )
    assert p.returncode == 0, p.stderr
    out = " ".join(p.stdout.split())  # the caption wraps
    assert re.search(r"evolution k system global/local \S+ Θ\(2\^k·k\) \w+¹", out)
    assert "1. 2^k·k is reported as 2ⁿ: polynomial factors on top of 2ⁿ are not resolved" in out
    assert (
        'On the simulated LLM every "agrees" is exact by construction — the simulated counts '
        "equal the paper's cost models, m_g = k·m_s is a parameter and a mutation succeeds with "
        "probability 1/2 by definition — so these rows check hakaru's implementation and fitter "
        "against the paper's algebra; they are not an empirical test of LLMs." in out
    )


def test_json_and_resuming_an_unfinished_demo(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    args = ("demo", "--quick", "--only", "debugging", "--store", str(db), "--no-html", "--json")
    first = hakaru(*args)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert out["report"] is None and out["backend"] == "sim" and out["failed"] == {}
    assert [(s["key"], s["points"], s["executed"]) for s in out["sweeps"]] == [
        ("debugging-k", 8, 8),
        ("debugging-b", 8, 8),
    ]
    by_x = {s["x"]: s for s in out["studies"]}
    assert set(by_x) == {"k", "b"}
    assert by_x["b"]["role"] == by_x["k"]["role"] == "developer"
    assert by_x["k"]["where"] == {"b": 2} and by_x["b"]["where"] == {"k": 8}
    assert by_x["b"]["variants"]["focused"]["class"] == "n"  # one fix per bug: linear in b
    assert by_x["k"]["claim"]["claim"] == "b·k²" and by_x["k"]["claim"]["expected"] == "n²"

    # An interrupted demo leaves its sweep unfinished; the next demo finishes it from the store.
    with RunStore(db) as store:
        store.finish_run(out["sweeps"][1]["sweep_id"], "running")
    again = json.loads(hakaru(*args).stdout)
    assert [(s["executed"], s["resumed"]) for s in again["sweeps"]] == [(8, 0), (0, 8)]
    assert again["sweeps"][1]["sweep_id"] == out["sweeps"][1]["sweep_id"]
    assert again["studies"][1]["variants"] == out["studies"][1]["variants"]


class AddingServer:
    """A real OpenAI-compatible endpoint that adds the numbers it is asked to add."""

    def __init__(self) -> None:
        self.models: list[str] = []

    def __call__(self, request: WRequest) -> WResponse:
        body = json.loads(request.data)
        self.models.append(body["model"])
        prompt = body["messages"][-1]["content"]
        total = sum(int(x) for x in re.findall(r"-?\d+", prompt.split(":", 1)[1]))
        words = len(" ".join(m["content"] for m in body["messages"]).split())
        payload = {
            "id": "x",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": f"sum = {total}"},
                }
            ],
            "usage": {"prompt_tokens": words, "completion_tokens": 3, "total_tokens": words + 3},
        }
        return WResponse(json.dumps(payload), status=200, content_type="application/json")


def test_the_same_demo_against_an_openai_compatible_server(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    server = AddingServer()
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_handler(server)
    p = hakaru(
        "demo", "--quick", "--only", "tree-sum", "--backend", "openai",
        "--base-url", httpserver.url_for("/v1"), "--model", "tiny-adder", "--api-key", "k",
        "--store", str(tmp_path / "h.db"), "--no-html", "--json",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    (sweep,) = out["sweeps"]
    assert out["backend"] == "openai" and sweep["correct"] == sweep["points"] == 8
    assert out["calls"] == len(server.models) > 8  # every request counted, and only those
    assert set(server.models) == {"tiny-adder"}  # every role played by the user's model
    (study,) = out["studies"]
    assert study["variants"]["tree"]["classes"]["calls"] == "n"
    assert study["variants"]["single"]["classes"]["calls"] == "1"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--only", "chess"],
            "Error: The demo has no sweep 'chess'. Choose from: routing, debugging, evolution, "
            "sort, tree-sum, debugging-k, debugging-b.",
        ),
        (
            ["--base-url", "http://127.0.0.1:9/v1"],
            "Error: --base-url and --api-key need --backend openai. Add --backend openai.",
        ),
        (
            ["--backend", "openai", "--sim-error", "0.1"],
            "Error: --sim-error needs the simulated LLM. Leave out --backend openai.",
        ),
        (["--at", "-3"], "Error: --at -3 is not a positive size. Give e.g. --at 1e6."),
    ],
)
def test_error_lines(tmp_path: Path, args: list[str], line: str) -> None:
    p = hakaru("demo", "--quick", "--store", str(tmp_path / "h.db"), *args)
    assert (p.returncode, p.stderr.strip()) == (2, line)
    assert p.stdout == ""
