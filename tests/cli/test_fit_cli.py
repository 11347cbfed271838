"""``hakaru fit``: one JSON object with its keys, the table, and the exact error lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hakaru.cli.main import main

ROWS = "n,calls,tokens,note\n" + "".join(
    f"{n},{n - 1},{3 * n * n + 40},r{i}\n" for i, n in enumerate([8, 16, 32, 64, 128, 256])
)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "sweep.csv"
    path.write_text(ROWS + "16,15,,repeat with an empty cell\n16,15,808,repeat\n")
    return path


def test_json_output(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["fit", str(data), "--x", "n", "--y", "tokens", "--json"], capsys)
    assert (code, err) == (0, "")
    payload = json.loads(out)  # exactly one JSON object
    assert {"class", "constant", "r2", "runner_up", "ambiguous", "warning", "scores"} <= set(
        payload
    )
    assert payload["class"] == "n²"
    assert payload["constant"] == pytest.approx(3.0, rel=1e-5)
    assert payload["offset"] == pytest.approx(40.0, rel=1e-3)
    assert payload["runner_up"] in payload["scores"] and payload["runner_up"] != "n²"
    assert (payload["points"], payload["distinct_n"], payload["skipped"]) == (7, 6, 1)
    assert payload["warning"] == "Skipped 1 row with an empty cell."
    assert payload["predictions"] == []


def test_json_with_predictions_and_options(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["fit", str(data), "--y", "calls", "--json", "--criterion", "bic", "--at", "1e6"]
    code, out, _ = run([*argv, "--classes", "n,n^2,nlogn", "--no-offset"], capsys)
    payload = json.loads(out)
    assert code == 0 and payload["criterion"] == "bic"
    assert set(payload["scores"]) == {"n", "n log n", "n²"}
    assert payload["class"] == "n" and payload["offset"] is None
    (p,) = payload["predictions"]
    assert p["low"] < p["value"] < p["high"] and p["value"] == pytest.approx(1e6, rel=0.05)


def test_table_output(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["fit", str(data), "--y", "tokens", "--at", "1000"], capsys)
    assert code == 0
    assert "tokens vs n (sweep.csv): 7 points, n = 8..256, aicc" in out
    assert "class n²: tokens ≈ 3·n² + 40" in out
    assert "runner-up" in out and "at n = 1000:" in out
    assert "Warning: Skipped 1 row with an empty cell." in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--y", "tokens"], "Error: cannot read {dir}/missing.csv: No such file or directory. "),
        (
            ["--y", "cost"],
            "Error: {path} has no column 'cost'. Its columns are: n, calls, tokens, note. "
            "Name one with --y.",
        ),
        (
            ["--x", "size", "--y", "calls"],
            "Error: {path} has no column 'size'. Its columns are: n, calls, tokens, note. "
            "Name one with --x.",
        ),
        (
            ["--y", "note"],
            "Error: {path} line 2, column 'note': 'r0' is not a number. "
            "Fix the cell, or empty it to skip the row.",
        ),
        (
            ["--y", "calls", "--classes", "n^5"],
            "Error: unknown complexity class 'n^5'. Use one of: 1, log n, n, n log n, n², "
            "n² log n, n³, 2ⁿ (ASCII spellings such as n^2, nlogn, 2^n also work).",
        ),
    ],
)
def test_errors(
    data: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = data.parent / "missing.csv" if "No such file" in message else data
    code, out, err = run(["fit", str(target), *argv], capsys)
    assert code == 2 and out == ""
    expected = message.format(dir=data.parent, path=data)
    if "No such file" in message:
        assert err == expected + "Check the path.\n"
    else:
        assert err == expected + "\n"


def test_too_few_points(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "two.csv"
    path.write_text("n,y\n1,5\n2,9\n2,10\n")
    code, out, err = run(["fit", str(path), "--y", "y", "--json"], capsys)
    assert (code, out) == (2, "")
    assert err == (
        "Error: too few points to fit a complexity class: 2 distinct sizes. Measure at least 3 "
        "different sizes (6 or more, spread over 10x or more, to tell classes apart).\n"
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, _, err = run(["fit", str(empty), "--y", "y"], capsys)
    assert code == 2
    assert (
        err
        == f"Error: {empty} is empty. It needs a header line naming its columns, e.g. n,calls.\n"
    )
