"""Terminal tables never cut a number, at 80 and at 120 columns.

Every command that prints tables runs as a user would (a subprocess, ``COLUMNS`` set) against
a real store: ``run``, ``runs show``, ``runs list``, ``report``, ``profile``, ``maker run``,
``maker plan`` and ``gate``. A number cut by rich ends in "…" (``4,038,2…``, ``$6.8404…``); no
line may be wider than the terminal; every number of the JSON totals appears whole; and
``runs list`` shows one line per run however long its name.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

ROOT = Path(__file__).resolve().parents[2]
WIDTHS = (80, 120)
CUT = re.compile(r"[\d$%.,]…")  # a number (or price) that rich shortened


def hakaru(width: int, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "hakaru.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": str(width), "TERM": "dumb"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def assert_whole(text: str, width: int, numbers: Any = ()) -> None:
    """No line wider than ``width``, no number ending in "…", each of ``numbers`` shown."""
    for line in text.splitlines():
        assert cell_len(line) <= width, f"wider than {width}: {line!r}"
        assert not CUT.search(line), f"a number is cut: {line!r}"
    for n in numbers:
        assert f"{n:,}" in text, f"{n:,} is not shown whole:\n{text}"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store with a run of many calls, a profile of a long command and a MAKER run."""
    tmp = tmp_path_factory.mktemp("width")
    db = str(tmp / "h.db")
    run = json.loads(hakaru(120, "run", "tree-sum", "--n", "4096", "--json", "--store", db))
    long_name = tmp / ("a_program_with_a_rather_long_name_" * 3 + "1234567.py")
    long_name.write_text((ROOT / "examples" / "openai_chain.py").read_text())
    sim = ["--sim", "--latency-scale", "0", "--sizes", "2,4,8", "--json", "--store", db]
    profile = json.loads(hakaru(120, "profile", *sim, "--", "python", str(long_name), "{n}"))
    hanoi = ["--task", "hanoi", "--disks", "6", "--k", "2", "--json", "--store", db]
    maker = json.loads(hakaru(120, "maker", "run", *hanoi))
    return {"db": db, "run": run, "profile": profile, "maker": maker}


@pytest.mark.parametrize("width", WIDTHS)
def test_run_and_runs_show(width: int, store: dict[str, Any]) -> None:
    totals = store["run"]
    numbers = [totals["input_tokens"], totals["output_tokens"], totals["calls"]]
    out = hakaru(width, "run", "tree-sum", "--n", "4096", "--store", store["db"])
    assert_whole(out, width, numbers)
    out = hakaru(width, "runs", "show", store["run"]["run_id"], "--store", store["db"])
    assert_whole(out, width, numbers)


@pytest.mark.parametrize("width", WIDTHS)
def test_runs_list_one_line_per_run(width: int, store: dict[str, Any]) -> None:
    out = hakaru(width, "runs", "list", "--store", store["db"])
    assert_whole(out, width)
    body = out.split("───", 1)[1].split("\n", 1)[1]  # the lines under the header rule
    rows = [line for line in body.splitlines() if line.strip()]
    assert all(re.match(r"\s*[0-9a-f]{12}\s", line) for line in rows), out  # one line a run
    ids = [p["run_id"] for p in store["profile"]["points"]]
    assert {line.split()[0] for line in rows} >= set(ids)


@pytest.mark.parametrize("width", WIDTHS)
def test_report_of_a_profile_and_of_a_run(width: int, store: dict[str, Any]) -> None:
    out = hakaru(width, "report", store["profile"]["profile"], "--store", store["db"])
    assert_whole(out, width)
    assert "Ledger by role" not in out  # the profile run has no calls of its own
    assert "work 0" not in out and "0 calls" not in out
    out = hakaru(width, "report", store["run"]["run_id"], "--store", store["db"])
    assert_whole(out, width, [store["run"]["input_tokens"]])


@pytest.mark.parametrize("width", WIDTHS)
def test_profile_tables_and_a_note_shown_once(width: int, store: dict[str, Any]) -> None:
    args = ["profile", "--sim", "--latency-scale", "0", "--sizes", "2,4,64", "--store"]
    command = ["--", "python", "examples/openai_chain.py", "{n}"]
    out = hakaru(width, *args, store["db"], *command)
    per_size = json.loads(hakaru(width, *args, store["db"], "--json", *command))["per_size"]
    assert_whole(out, width, [row[m] for row in per_size for m in ("input_tokens", "aalp_cost")])
    out = hakaru(width, *args[:-2], "2,4", "--store", store["db"], *command)
    assert_whole(out, width)
    assert out.count("too few points to fit a complexity class") == 1, out


@pytest.mark.parametrize("width", WIDTHS)
def test_maker_and_gate_tables(width: int, store: dict[str, Any]) -> None:
    out = hakaru(
        width, "maker", "run", "--task", "hanoi", "--disks", "6", "--k", "2",
        "--store", store["db"],
    )  # fmt: skip
    assert_whole(out, width, [store["maker"]["calls"]])
    assert_whole(hakaru(width, "maker", "plan", "--paper-table"), width)
    plan = ["--p", "0.998", "--steps", "1048575", "--target", "0.95", "--in-tokens", "600"]
    prices = ["--out-tokens", "538", "--price-in", "0.4", "--price-out", "1.6"]
    assert_whole(hakaru(width, "maker", "plan", *plan, *prices), width)
    mean = ["--r0", "0.258", "--beta", "3.16", "--alpha", "0.30"]
    assert_whole(hakaru(width, "gate", "optimize", *mean), width)
    assert_whole(hakaru(width, "gate", "frontier", *mean), width)
