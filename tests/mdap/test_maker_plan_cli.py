"""``hakaru maker plan`` end to end through the real entry point (``hakaru.cli.main.main``)."""

from __future__ import annotations

import json

import pytest

from hakaru.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``hakaru maker plan ARGS``; return (exit code, stdout, stderr)."""
    code = 0
    try:
        main(["maker", "plan", *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_keys_and_headline_value(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--p", "0.99", "--steps", "1048575", "--target", "0.95", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    for key in (
        "k_min", "p_full", "expected_votes_per_step", "expected_calls", "expected_cost",
        "expected_votes_per_step_bound", "expected_calls_bound", "expected_cost_bound",
    ):  # fmt: skip
        assert key in data
    assert data["k_min"] == 4
    assert data["p_full"] == pytest.approx(0.989143, abs=5e-7)
    assert data["expected_cost"] is None  # no prices given


def test_json_with_prices(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--p", "0.9978", "--steps", "1048575", "--target", "0.95", "--in-tokens", "600",
        "--out-tokens", "538", "--price-in", "0.4", "--price-out", "1.6", "--v", "0.99", "--json",
    )  # fmt: skip
    data = json.loads(out)
    assert code == 0 and data["k_min"] == 3
    assert round(data["expected_cost_bound"]) == 3_513
    assert data["expected_cost"] <= data["expected_cost_bound"]


def test_json_with_m(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--p", "0.99", "--steps", "1048575", "--target", "0.95", "--m", "20",
                    "--json")  # fmt: skip
    data = json.loads(out)
    assert (data["k_min"], data["m"]) == (10, 20)


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--p", "0.99", "--steps", "1048575", "--target", "0.95")
    assert code == 0
    assert "k_min (voting margin)" in out and "0.989143" in out


def test_infeasible_p_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--p", "0.5", "--steps", "100", "--target", "0.9")
    assert (code, out) == (2, "")
    assert err == (
        "Error: p = 0.5 is not above 0.5: a wrong answer is at least as likely as the right one, "
        "so voting cannot favour the correct answer. Use a better model (p > 0.5), or red-flag "
        "bad responses to raise p.\n"
    )


def test_missing_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--p", "0.9")
    assert code == 2
    assert err == (
        "Error: maker plan needs --p, --steps and --target; missing --steps, --target. "
        "Or use --paper-table to reproduce the paper's table.\n"
    )


def test_partial_prices(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--p", "0.9", "--steps", "9", "--target", "0.9", "--in-tokens", "5")
    assert code == 2
    assert err.startswith("Error: To price the plan give in_tokens, out_tokens, price_in and ")


def test_paper_table_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--paper-table", "--json")
    data = json.loads(out)
    assert code == 0
    assert (data["k_min_matches"], data["cheapest"], len(data["rows"])) == (9, "gpt-oss-20B", 10)
    assert [r["k_min"] for r in data["rows"]] == [29, 4, 3, 3, 12, None, 6, 15, 6, 6]
    assert all(abs(r["cost_rel_diff"]) < 0.015 for r in data["rows"] if r["feasible"])


def test_paper_table_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--paper-table")
    assert code == 0
    assert "gpt-oss-20B*" in out and "E[cost]" in out and "$41.9K" in out and "$42.22K" in out


def test_paper_table_rejects_plan_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--paper-table", "--p", "0.9")
    assert code == 2
    assert err == (
        "Error: --paper-table uses the paper's own values; drop --p "
        "(only --in-tokens, --v and --json apply).\n"
    )
