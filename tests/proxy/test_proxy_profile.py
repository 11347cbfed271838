"""``hakaru profile`` on third-party frameworks: the examples run per size behind the proxy, and
the counts and fitted classes are exactly what the programs' structure says."""

from __future__ import annotations

import json
import os
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


def hakaru(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hakaru.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        env=env,
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
    run = RunStore(tmp_path / "h.db").runs(kind="proxy")[0].id
    assert done.stderr.strip().endswith(
        "Error: The command failed at n=3 (repeat 1), exit status 3 (nothing on stderr)\n"
        f"  The command: {sys.executable} -c 'import sys; sys.exit(3)' 3. Its 0 calls are in run "
        f"{run}. Fix the command, then profile again."
    )
    done = hakaru("profile", "--sizes", "3", "--", "python", "x.py")
    assert done.returncode == 2
    assert done.stderr == (
        "Error: Give the proxy an upstream: --sim (the simulated LLM) or --upstream URL, "
        "not both.\n"
    )


def test_python_is_hakarus_interpreter_and_a_failure_shows_its_cause(tmp_path: Path) -> None:
    """`python` in the command is sys.executable, whatever PATH says; a child that fails shows
    the last line of its stderr as the cause, then its last lines, even with --quiet."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    impostor = bin_dir / "python"
    impostor.write_text("#!/bin/sh\necho 'not the python hakaru runs under' >&2\nexit 9\n")
    impostor.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    script = (
        "import os, sys, openai; print(sys.executable, file=sys.stderr); "
        "c = openai.OpenAI(); "
        "c.chat.completions.create(model='m', messages=[{'role': 'user', 'content': 'hi'}]); "
        "sys.exit(0 if os.environ['HAKARU_N'] == '2' else 'boom at ' + os.environ['HAKARU_N'])"
    )
    done = hakaru(
        "profile", "--sim", "--sizes", "2,3", "--quiet", "--store", str(tmp_path / "h.db"),
        "--", "python", "-c", script, "{n}", env=env,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    error = error_of(done).splitlines()
    assert error[0] == "Error: The command failed at n=3 (repeat 1), exit status 1: boom at 3"
    assert error[1:4] == ["  Its last lines of stderr:", f"    {sys.executable}", "    boom at 3"]
    done = hakaru(
        "profile", "--sim", "--sizes", "2", "--store", str(tmp_path / "h.db"),
        "--", "python", "-c", "import no_such_module_hakaru", "{n}", env=env,
    )  # fmt: skip
    error = error_of(done).splitlines()
    assert error[0] == (
        "Error: The command failed at n=2 (repeat 1), exit status 1: "
        "ModuleNotFoundError: No module named 'no_such_module_hakaru'"
    )
    assert error[2] == "    Traceback (most recent call last):"
    assert "--sim" in profile_help() and "interpreter hakaru runs under" in profile_help()


def profile_help() -> str:
    return " ".join(hakaru("profile", "--help").stdout.split())


def test_a_program_that_makes_no_call_fails_and_says_why(tmp_path: Path) -> None:
    done = hakaru(
        "profile", "--sim", "--sizes", "2,4,8", "--store", str(tmp_path / "h.db"),
        "--capture", "proxy",
        "--", "python", "-c", "print('I call https://api.example.com myself')", "{n}",
    )  # fmt: skip
    assert done.returncode == 1
    error = error_of(done)
    assert error.startswith("Error: No call reached hakaru: the command ran at every size (3 ")
    assert "the program ignores OPENAI_BASE_URL" in error
    (parent,) = RunStore(tmp_path / "h.db").runs(kind="profile")
    assert parent.status == "failed"


def error_of(done: subprocess.CompletedProcess[str]) -> str:
    """hakaru's error message: from the line that starts with 'Error: ' on."""
    err = "\n" + done.stderr
    return err[err.rindex("\nError: ") + 1 :]


def test_sim_repeats_differ_and_noisy_fits_say_they_are_uncertain(tmp_path: Path) -> None:
    """A write-and-critique loop (linear in n) against long-tailed simulated answers: repeats
    draw other answers, and token classes fitted on one run per size are flagged uncertain
    when they are wrong (seed 5 makes output tokens look like n log n)."""
    script = ROOT / "examples" / "openai_critique_loop.py"

    def run(*args: str) -> dict[str, Any]:
        done = hakaru(
            "profile", "--sim", "--latency-scale", "0", "--json", "--store",
            str(tmp_path / "h.db"), *args, "--", "python", str(script), "{n}",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        out: dict[str, Any] = json.loads(done.stdout)
        return out

    out = run("--sizes", "2,4,8", "--repeats", "2")
    for n in (2, 4, 8):
        first, second = (p["totals"] for p in out["points"] if p["n"] == n)
        assert first["calls"] == second["calls"] == n
        assert first["output_tokens"] != second["output_tokens"]
    out = run("--sizes", "4,8,16,32,64", "--seed", "5")
    fits = out["fits"]
    assert fits["calls"]["class"] == "n" and "uncertain" not in fits["calls"]
    assert fits["output_tokens"]["class"] == "n log n"  # wrong: the loop is linear
    for metric in ("output_tokens", "aalp_cost", "input_tokens", "forward_passes"):
        fit = fits[metric]
        assert fit["class"] == "n" or fit["uncertain"], (metric, fit)
        if fit["uncertain"]:
            assert "Uncertain: " in fit["warning"] and fit["uncertainty"]
