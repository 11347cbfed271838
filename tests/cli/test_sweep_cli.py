"""``hakaru sweep``: the JSON and CSV shapes, resuming by id, the --param syntax, error lines."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hakaru.cli.sweep import parse_grid
from hakaru.errors import ConfigError

HAKARU = [sys.executable, "-m", "hakaru.cli.main"]
TOTALS = ("calls", "input_tokens", "output_tokens", "forward_passes", "aalp_cost", "depth")


def hakaru(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HAKARU_DEBUG"}
    return subprocess.run([*HAKARU, *args], capture_output=True, text=True, env=env, timeout=120)


def test_json_is_one_object_with_every_point(tmp_path: Path) -> None:
    db = str(tmp_path / "h.db")
    p = hakaru("sweep", "tree-sum", "--param", "n=8,64", "--repeats", "2", "--seed", "3",
               "--sim-error", "0", "--store", db, "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)  # exactly one object on stdout; the progress is on stderr
    sweep_id = out["sweep_id"]
    assert p.stderr.startswith(f"sweep {sweep_id}: 8 points, 0 already finished, 8 at a time; ")
    assert f"resume with --sweep-id {sweep_id}" in p.stderr
    assert (out["workload"], out["grid"], out["variants"]) == (
        "tree-sum",
        {"n": [8, 64]},
        ["tree", "single"],
    )
    assert (out["complete"], out["executed"], out["resumed"], out["failed"]) == (True, 8, 0, [])
    points = out["points"]
    assert [(q["variant"], q["params"]["n"], q["repeat"], q["seed"]) for q in points] == [
        (v, n, r, 3 + r) for v in ("tree", "single") for n in (8, 64) for r in (0, 1)
    ]
    for q in points:
        assert all(key in q for key in TOTALS) and q["correct"] is True and q["error"] is None
    assert [q["calls"] for q in points if q["variant"] == "tree"] == [3, 3, 21, 21]

    args = ["--param", "n=8,64", "--repeats", "2", "--seed", "3", "--sim-error", "0"]
    again = hakaru("sweep", "tree-sum", *args, "--store", db, "--json", "--sweep-id", sweep_id[:9])
    assert again.returncode == 0, again.stderr
    resumed = json.loads(again.stdout)
    assert (resumed["sweep_id"], resumed["executed"], resumed["resumed"]) == (sweep_id, 0, 8)
    assert resumed["points"] == points


def test_csv_has_one_row_per_point_and_the_table_a_row_per_grid_point(tmp_path: Path) -> None:
    path = tmp_path / "sweep.csv"
    p = hakaru("sweep", "tree-sum", "--param", "n=8..32*2", "--param", "fan-in=2,4",
               "--variant", "tree", "--repeats", "2", "--store", str(tmp_path / "h.db"),
               "--csv", str(path))  # fmt: skip
    assert p.returncode == 0, p.stderr
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 * 2 * 2
    header = list(rows[0])
    assert header[:5] == ["variant", "n", "fan_in", "repeat", "seed"]
    assert header[-3:] == ["correct", "error", "run_id"] and set(TOTALS) <= set(header)
    assert [(r["n"], r["fan_in"], r["repeat"]) for r in rows[:4]] == [
        ("8", "2", "0"), ("8", "2", "1"), ("8", "4", "0"), ("8", "4", "1")
    ]  # fmt: skip
    assert all(float(r["aalp_cost"]) > 0 and r["correct"] in ("0", "1") for r in rows)
    lines = p.stdout.splitlines()
    assert lines[0].startswith("tree-sum/tree · mean of 2 runs per row")
    assert sum(1 for line in lines if line.split()[:2] in (["8", "2"], ["32", "4"])) == 2
    assert lines[-1].startswith("sweep ") and lines[-1].endswith(f"rows written to {path}")


def test_hakaru_fit_reads_the_csv(tmp_path: Path) -> None:
    path = tmp_path / "sweep.csv"
    args = ["--param", "n=16..4096*2", "--variant", "tree", "--sim-error", "0"]
    p = hakaru("sweep", "tree-sum", *args, "--store", str(tmp_path / "h.db"), "--csv", str(path))
    assert p.returncode == 0, p.stderr
    fit = hakaru("fit", str(path), "--x", "n", "--y", "calls", "--json")
    assert fit.returncode == 0, fit.stderr
    assert json.loads(fit.stdout)["class"] == "n"


def test_param_syntax() -> None:
    assert parse_grid(["n=8,16,8", "k=1..7+3", "fan-in=2..16*2"]) == {
        "n": [8, 16],
        "k": [1, 4, 7],
        "fan_in": [2, 4, 8, 16],
    }
    assert parse_grid([" n = 3, 1 ,2 "]) == {"n": [1, 2, 3]}
    with pytest.raises(ConfigError) as err:
        parse_grid(["n=8", "n=16"])
    assert str(err.value) == (
        "--param n is given twice. List all its values in one option, e.g. --param n=8,16,32"
    )


EX = "e.g. --param n=8,16,32 or --param n=8..1024*2."


ERRORS = [
    (["--param", "n=8,16,x"], f"--param 'n=8,16,x': 'x' is not an integer or a range. Write {EX}"),
    (["--param", "n"], f"--param 'n' is not NAME=VALUES. Write {EX}"),
    (["--param", "n="], f"--param 'n=' lists no values. Write {EX}"),
    ([], f"The sweep grid is empty. Give at least one parameter and its values, {EX}"),
    (
        ["--param", "m=1,2"],
        "Workload 'tree-sum' has no parameter 'm'. Its parameters: n, fan_in, leaf_max.",
    ),
    (
        ["--param", "n=64..8*2"],
        "--param 'n=64..8*2': the range '64..8*2' is empty or never ends. Give START..STOP with "
        "START <= STOP, a step +S >= 1 or a factor *F >= 2 (from START >= 1).",
    ),
    (
        ["--param", "n=8", "--variant", "both"],
        "Workload 'tree-sum' has no variant 'both'. Choose one of: tree, single.",
    ),
    (["--param", "n=8", "--sweep-id", "x", "--resume"], "Give --sweep-id or --resume, not both."),
    (
        ["--param", "n=8", "--base-url", "http://x"],
        "--base-url and --api-key need --backend openai. Add --backend openai.",
    ),
]


@pytest.mark.parametrize(("args", "line"), ERRORS)
def test_error_lines(tmp_path: Path, args: list[str], line: str) -> None:
    p = hakaru("sweep", "tree-sum", *args, "--store", str(tmp_path / "h.db"))
    assert (p.returncode, p.stdout, p.stderr) == (2, "", f"Error: {line}\n")


def test_a_sweep_id_with_another_grid_is_an_error(tmp_path: Path) -> None:
    db = str(tmp_path / "h.db")
    first = hakaru("sweep", "tree-sum", "--param", "n=8,16", "--store", db, "--json")
    assert first.returncode == 0, first.stderr
    sweep_id = json.loads(first.stdout)["sweep_id"]
    p = hakaru("sweep", "tree-sum", "--param", "n=8,16", "--repeats", "3", "--store", db,
               "--sweep-id", sweep_id)  # fmt: skip
    assert (p.returncode, p.stdout) == (2, "")
    assert p.stderr == (
        f"Error: Sweep {sweep_id} has a different grid from this command (repeats 1 there, 3 "
        "here). Repeat its options to resume it, or leave out --sweep-id to start a new sweep.\n"
    )
