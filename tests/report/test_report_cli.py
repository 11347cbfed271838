"""``hakaru report``: the terminal summary, --html and --json, and its error lines."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HAKARU = [sys.executable, "-m", "hakaru.cli.main"]
Store = tuple[Path, str, str]


def hakaru(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HAKARU_DEBUG"}
    return subprocess.run([*HAKARU, *args], capture_output=True, text=True, env=env, timeout=120)


def test_a_run_and_a_sweep_in_the_terminal_and_in_html(report_store: Store, tmp_path: Path) -> None:
    path, run_id, sweep_id = report_store
    out = tmp_path / "r.html"
    p = hakaru("report", run_id, sweep_id, "--store", str(path), "--html", str(out), "--at", "1e6")
    assert p.returncode == 0, p.stderr
    text = p.stdout
    for line in (
        "Measured growth of AALP cost",
        "Improvement of the optimized design: measured vs claimed (paper, Table 1)",
        "Predicted AALP cost: fitted median and 90% interval",
        f"Run {run_id}  run markup <b>test</b>  (done)",
        "call DAG: 3 calls, 2 dependencies, 3 levels (widest 1), 1 roots, 1 leaves, critical "
        "path 3 calls",
        f"report written to {out}",
    ):
        assert " ".join(line.split()) in " ".join(text.split())  # prose wraps at the width
    # at 80 columns the label may be shortened, never a number
    assert re.search(r"routing +k +system +generalist/deleg\S* +n +Θ\(k\) +agrees +k ≈ 1\.0", text)
    assert out.read_text(encoding="utf-8").count("<svg") == 10  # no one-model share chart


def test_json(report_store: Store) -> None:
    path, _, sweep_id = report_store
    p = hakaru("report", sweep_id, "--store", str(path), "--json", "--at", "1_000_000")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    (study,) = out["studies"]
    assert (study["workload"], study["x"], study["ratio_class"]) == ("routing", "k", "n")
    assert study["claim"]["verdict"] == "agrees" and study["claim"]["claim"] == "k"
    assert study["variants"]["delegated"]["class"] == "1"
    assert study["variants"]["generalist"]["classes"]["calls"] == "1"  # q calls at every k
    assert [p["n"] for p in study["predictions"]] == [1e6]
    assert out["runs"] == [] and out["html"] is None


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["nope"], "Error: No run 'nope' in {db}. List runs with 'hakaru runs list'."),
        (["x", "--at", "abc"], "Error: --at 'abc' is not a number. Give a size, e.g. --at 1e6."),
        (
            ["x", "--level", "2"],
            "Error: --level is 2. Give a probability between 0 and 1, e.g. 0.9.",
        ),
    ],
)
def test_error_lines(report_store: Store, args: list[str], line: str) -> None:
    path, _, _ = report_store
    p = hakaru("report", *args, "--store", str(path))
    assert p.returncode == 2
    assert p.stderr.strip() == line.format(db=path)


def test_an_unwritable_report_path_is_one_line(report_store: Store, tmp_path: Path) -> None:
    path, run_id, _ = report_store
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "r.html"
    p = hakaru("report", run_id, "--store", str(path), "--html", str(out))
    assert p.returncode == 2
    assert p.stderr.strip() == (
        f"Error: Cannot write the report to {out}: {out.parent} is a file, not a folder. "
        "Choose another path."
    )
