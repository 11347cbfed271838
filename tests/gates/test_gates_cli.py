"""``hakaru gate …``: JSON keys, terminal output, and the exact error lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hakaru.cli.main import main

MEAN = ["--r0", "0.258", "--beta", "3.16", "--alpha", "0.30"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_optimize_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["gate", "optimize", *MEAN, "--json"], capsys)
    assert (code, err) == (0, "")
    payload = json.loads(out)  # exactly one JSON object
    assert {
        "g_star",
        "case",
        "throughput_at_optimum",
        "throughput_at_zero",
        "improvement",
        "rework_at_optimum",
        "sensitivity",
    } <= set(payload)
    assert payload["case"] == "interior"
    assert payload["g_star"] == pytest.approx(0.316383, abs=1e-6)
    assert payload["improvement"] == pytest.approx(0.10399, abs=1e-5)
    assert set(payload["sensitivity"]) == {"r0", "beta", "alpha", "c_rework"}


def test_optimize_net_and_boundary_cases(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(
        ["gate", "optimize", *MEAN, "--c-rework", "1.4", "--f0", "100", "--json"], capsys
    )
    payload = json.loads(out)
    assert payload["objective"] == "net"
    assert payload["g_star"] == pytest.approx(0.568538, abs=1e-6)
    assert payload["throughput_at_zero"] == pytest.approx(100 * 0.742 - 100 * 1.4 * 0.258)
    _, out, _ = run(
        ["gate", "optimize", "--r0", "0.01", "--beta", "1", "--alpha", "0.5", "--json"], capsys
    )
    assert json.loads(out)["case"] == "zero"
    _, out, _ = run(
        ["gate", "optimize", "--r0", "0.9", "--beta", "1", "--alpha", "0.05", "--json"], capsys
    )
    assert json.loads(out)["case"] == "one"


def test_optimize_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["gate", "optimize", *MEAN], capsys)
    assert code == 0
    assert "0.316383" in out and "interior" in out


def test_dg_dc_says_whose_it_is_and_agrees_with_the_docs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Without --c-rework (c = 0) both objectives share g*, but only T_net depends on c: the
    # table must say which objective's dg*/dc it prints, and docs/gates.md the same figure.
    _, net, _ = run(["gate", "optimize", *MEAN], capsys)
    _, effective, _ = run(["gate", "optimize", *MEAN, "--objective", "effective"], capsys)
    assert re.search(r"dg\*/dc_rework \(T_net\) +│ +\+0\.2890", net)
    assert "but only T_net depends on c (T: dg*/dc = 0)" in " ".join(net.split())
    assert re.search(r"dg\*/dc_rework \(T\) +│ +\+0\.0000", effective)
    docs = " ".join((Path(__file__).parents[2] / "docs" / "gates.md").read_text().split())
    assert "without `--c-rework` it prints T_net's dg*/dc_rework — +0.2890" in docs
    assert "`--objective effective` prints 0 for the same parameters" in docs


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (
            ["--r0", "1.2", "--beta", "3", "--alpha", "0.3"],
            "Error: r0 (R0, the rework rate with no gate) must be in [0, 1), got 1.2. Give the "
            "fraction of completed tasks that later need rework, e.g. 0.258.",
        ),
        (
            ["--r0", "0.2", "--beta", "0", "--alpha", "0.3"],
            "Error: beta (β, the rework decay per unit gate strength) must be > 0, got 0. "
            "Give a positive finite number, e.g. 3.16.",
        ),
        (
            ["--r0", "0.2", "--beta", "3", "--alpha", "1"],
            "Error: alpha (α, the throughput lost per unit gate strength) must be in [0, 1), "
            "got 1. Give a fraction, e.g. 0.30.",
        ),
        (
            ["--r0", "0.2", "--beta", "3", "--alpha", "0.3", "--c-rework", "-1"],
            "Error: c_rework (c, the extra effort of one rework item) must be >= 0, got -1. "
            "Use 0 for the simple model or e.g. 1.4.",
        ),
        (
            ["--r0", "0.2", "--beta", "3", "--alpha", "0.3", "--f0", "0"],
            "Error: f0 (F0, the completion rate with no gate) must be > 0, got 0. "
            "Give tasks per unit time, e.g. 100.",
        ),
        (
            ["--beta", "3", "--alpha", "0.3"],
            "Error: Missing option '--r0'. See 'hakaru --help' or the command's --help for "
            "valid options.",
        ),
    ],
)
def test_optimize_errors(options: list[str], line: str, capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("optimize", "frontier"):
        code, out, err = run(["gate", command, *options, "--json"], capsys)
        assert (code, out, err) == (2, "", line + "\n")


def test_frontier_json_and_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    svg = tmp_path / "frontier.svg"
    code, out, _ = run(
        [
            "gate",
            "frontier",
            *MEAN,
            "--c-rework",
            "1.4",
            "--steps",
            "6",
            "--svg",
            str(svg),
            "--json",
        ],
        capsys,
    )
    assert code == 0
    payload = json.loads(out)
    labels = [r["label"] for r in payload["rows"]]
    assert labels.count("g* effective") == 1 and labels.count("g* net") == 1
    assert len(payload["rows"]) == 8
    assert payload["g_star_effective"] == pytest.approx(0.316383, abs=1e-6)
    first = payload["rows"][0]
    assert set(first) == {"g", "raw_completion", "rework", "effective", "net", "label"}
    assert first["effective"] == pytest.approx(0.742)
    assert svg.read_text().lstrip().startswith("<?xml")


def test_frontier_steps_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["gate", "frontier", *MEAN, "--steps", "1"], capsys)
    assert (code, err) == (2, "Error: steps must be a whole number >= 2, got 1. Use e.g. 11.\n")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


DATA = "g,completed,rework,hours\n0,400,103,4\n0.5,340,18,4\n1,280,3,4\n"


def test_fit_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["gate", "fit", str(write(tmp_path, "d.csv", DATA)), "--json"], capsys)
    assert (code, err) == (0, "")
    payload = json.loads(out)
    for name in ("r0", "beta", "f0", "alpha"):
        assert set(payload[name]) == {"value", "low", "high", "se"}
    assert payload["r0"]["value"] == pytest.approx(0.2576, abs=1e-3)
    assert payload["per"] == "hour"
    assert payload["optimum"]["case"] == "interior"
    assert payload["optimum_error"] is None
    assert "profile" in payload["methods"]["r0_beta"]


def test_fit_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["gate", "fit", str(write(tmp_path, "d.csv", DATA))], capsys)
    assert code == 0
    assert "g* = " in out and "beta" in out


def test_fit_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "d.csv", "g,completed,hours\n0,1,1\n")
    code, out, err = run(["gate", "fit", str(path), "--json"], capsys)
    assert (code, out) == (2, "")
    assert err == (
        f"Error: {path} has no column 'rework'. It needs g, completed, rework and hours "
        "(or cost); found g, completed, hours.\n"
    )
    path = write(tmp_path, "e.csv", "g,completed,rework,hours\n0,10,1,1\n0.5,-3,1,1\n")
    code, _, err = run(["gate", "fit", str(path)], capsys)
    assert code == 2
    assert err == f"Error: {path} line 3: 'completed' must be a whole number >= 0, got '-3'.\n"


def test_ab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path, "a.csv", "completed,rework,hours,cost\n436,122,5,6190\n436,123,5,6190\n")
    b = write(tmp_path, "b.csv", "completed,rework,hours,cost\n796,50,10,7982\n")
    code, out, err = run(["gate", "ab", str(a), str(b), "--c-rework", "1.4", "--json"], capsys)
    assert (code, err) == (0, "")
    payload = json.loads(out)
    assert payload["a"]["completed"] == 872
    eff = payload["metrics"]["effective_throughput"]
    assert (eff["a"], eff["b"]) == pytest.approx((62.7, 74.6))
    assert eff["low"] < eff["difference"] < eff["high"]
    assert "cost_per_effective_task" in payload["metrics"]
    code, out, _ = run(["gate", "ab", str(a), str(b)], capsys)
    assert code == 0 and "effective" in out and "[+4.64, +19.2]" in out


def test_ab_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path, "a.csv", "completed,rework,hours\n0,0,5\n")
    b = write(tmp_path, "b.csv", "completed,rework,hours\n10,1,5\n")
    code, _, err = run(["gate", "ab", str(a), str(b)], capsys)
    assert (code, err) == (2, "Error: arm A completed no tasks, so it has no rates to compare.\n")
