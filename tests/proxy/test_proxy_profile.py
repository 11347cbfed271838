"""``hakaru profile`` on third-party frameworks: the examples run per size behind the proxy, and
the counts and fitted classes are exactly what the programs' structure says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from proxy_servers import spawn, stop

from hakaru.store import RunStore
from hakaru.tokenizer import count_tokens

ROOT = Path(__file__).resolve().parents[2]
SYSTEM = (
    "You are a careful calculator. Add the integers you are given. You may work step by step, "
    "but end your reply with one line of the form `sum = <integer>` and nothing after it."
)


def hakaru(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hakaru.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )


def prompt_tokens(numbers: list[int]) -> int:
    user = "Add these numbers: " + ", ".join(map(str, numbers))
    return count_tokens(SYSTEM + "\n" + user)


def test_openai_chain_against_hakaru_sim_serve(tmp_path: Path) -> None:
    proc, url = spawn("sim", "serve", "--port", "0")
    try:
        done = hakaru(
            "profile",
            "--upstream",
            url,
            "--sizes",
            "2,4,8,16,32",
            "--json",
            "--store",
            str(tmp_path / "h.db"),
            "--",
            sys.executable,
            "examples/openai_chain.py",
            "{n}",
        )
    finally:
        stop(proc)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    rows = {row["n"]: row for row in out["per_size"]}
    for n, row in rows.items():
        totals = [i * (i + 1) // 2 for i in range(n + 1)]  # running totals before each call
        assert row["calls"] == row["depth"] == n  # each call waits for the previous one
        assert row["failed_calls"] == 0
        assert row["input_tokens"] == sum(
            prompt_tokens([totals[i - 1], i]) for i in range(1, n + 1)
        )
        assert row["output_tokens"] == sum(count_tokens(f"sum = {t}") for t in totals[1:])
        assert row["span_forward_passes"] == row["forward_passes"] == row["output_tokens"]
    assert "chain of 32 calls: total 528 (expected 528)" in done.stderr
    fits = out["fits"]
    assert {m: fits[m]["class"] for m in ("calls", "depth", "failed_calls")} == {
        "calls": "n",
        "depth": "n",
        "failed_calls": "1",
    }
    assert fits["calls"]["formula"] == "1·n"
    with RunStore(tmp_path / "h.db") as store:
        runs = store.runs(limit=None)
        assert sorted(r.kind for r in runs) == ["profile"] + ["proxy"] * 5
        points = store.get_points(out["profile"])
        assert sorted(p.params["n"] for p in points.values()) == [2, 4, 8, 16, 32]
        (parent,) = [r for r in runs if r.kind == "profile"]
        assert parent.status == "done" and parent.summary == out


def test_langgraph_map_reduce_with_the_sim_built_in(tmp_path: Path) -> None:
    done = hakaru(
        "profile",
        "--sim",
        "--sizes",
        "4,8,16,32,64",
        "--json",
        "--store",
        str(tmp_path / "h.db"),
        "--",
        sys.executable,
        "examples/langgraph_mapreduce.py",
        "{n}",
    )
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    for row in out["per_size"]:
        n = row["n"]
        assert row["calls"] == n // 4 + 1  # one call per chunk of 4, then the reduce
        assert row["depth"] == 2  # the map calls overlap: siblings, then one join
        partials = [sum(range(i + 1, i + 5)) for i in range(0, n, 4)]
        chunks = [list(range(i + 1, i + 5)) for i in range(0, n, 4)]
        assert row["input_tokens"] == sum(map(prompt_tokens, chunks)) + prompt_tokens(partials)
    fits = out["fits"]
    assert (fits["calls"]["class"], fits["calls"]["formula"]) == ("n", "0.25·n + 1")
    assert fits["depth"]["class"] == "1" and fits["input_tokens"]["class"] == "n"
    assert all("class" in fit for fit in fits.values())


def test_a_failing_command_stops_the_profile_with_a_clear_error(tmp_path: Path) -> None:
    done = hakaru(
        "profile",
        "--sim",
        "--sizes",
        "3",
        "--store",
        str(tmp_path / "h.db"),
        "--",
        sys.executable,
        "-c",
        "import sys; sys.exit(3)",
        "{n}",
    )
    assert done.returncode == 1
    assert done.stderr.strip().endswith(
        f"The command exited with status 3 at n=3 (repeat 1): {sys.executable} -c 'import sys; "
        f"sys.exit(3)' 3. Its output is above; its 0 calls are in run "
        f"{RunStore(tmp_path / 'h.db').runs(kind='proxy')[0].id}. Fix the command, then profile "
        "again."
    )
    done = hakaru("profile", "--sizes", "3", "--", "python", "x.py")
    assert done.returncode == 2
    assert done.stderr == (
        "Error: Give the proxy an upstream: --sim (the simulated LLM) or --upstream URL, "
        "not both.\n"
    )
