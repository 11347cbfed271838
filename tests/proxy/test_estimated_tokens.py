"""Estimated tokens are marked wherever totals appear: a stream whose server sends no usage is
recorded ``estimated``, and ``hakaru profile``, ``runs show`` and ``report`` (terminal and
HTML) say for what share of the calls."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from aiohttp import web
from proxy_servers import LoopThread, Routes

from hakaru.proxy.serving import listen
from hakaru.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
STREAMER = """
import sys, openai
c = openai.OpenAI()
for i in range(int(sys.argv[1])):
    stream = c.chat.completions.create(
        model="m", stream=True, messages=[{"role": "user", "content": f"count to {i}"}]
    )
    print("".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices))
"""


async def no_usage_stream(request: web.Request) -> web.StreamResponse:
    """An upstream that streams its answer and never reports usage, whatever it is asked."""
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    for word in ("one ", "two ", "three"):
        choice = {"index": 0, "delta": {"content": word}, "finish_reason": None}
        delta = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m"}
        delta["choices"] = [choice]
        await response.write(b"data: " + json.dumps(delta).encode() + b"\n\n")
    await response.write(b"data: [DONE]\n\n")
    return response


def hakaru(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "hakaru.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin", "HOME": str(ROOT), "OPENAI_API_KEY": "x"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_estimated_tokens_are_marked(loop_thread: LoopThread, tmp_path: Path) -> None:
    upstream = loop_thread.run(listen(Routes([web.post("/v1/chat/completions", no_usage_stream)])))
    script = tmp_path / "streamer.py"
    script.write_text(STREAMER)
    db = str(tmp_path / "h.db")
    try:
        out = hakaru(
            "profile", "--capture", "proxy", "--upstream", upstream.url + "/v1", "--sizes", "1,2,3",
            "--store", db,
            "--", "python", str(script), "{n}",
        )  # fmt: skip
    finally:
        loop_thread.run(upstream.close())
    with RunStore(db) as store:
        runs = store.runs(kind="proxy")
        calls = [c for r in runs for c in store.calls(r.id)]
        assert len(calls) == 6 and {c.usage_source for c in calls} == {"estimated"}
        profile = store.runs(kind="profile")[0].id
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert rows and all(row[2].endswith("*") and row[3].endswith("*") for row in rows[:3]), out
    assert "* tokens estimated for 6 of 6 calls (100%)" in out
    run = runs[0].id
    shown = hakaru("runs", "show", run, "--store", db)
    assert "(* estimated for " in shown and "* Estimated tokens: " in shown
    assert json.loads(hakaru("runs", "show", run, "--json", "--store", db))["totals"][
        "estimated_calls"
    ] == len(list(RunStore(db).calls(run)))
    report = hakaru("report", run, "--store", db, "--html", str(tmp_path / "r.html"))
    assert "* Estimated tokens: " in report and "tokens*" in report
    page = (tmp_path / "r.html").read_text()
    assert "* Estimated tokens: " in page and "tokens*" in page
    assert profile
