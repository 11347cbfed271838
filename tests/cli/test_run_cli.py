"""``hakaru run``, ``hakaru models``, ``hakaru demo``: JSON output and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HAKARU = [sys.executable, "-m", "hakaru.cli.main"]


def hakaru(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    full_env = {**os.environ, **(env or {})}
    full_env.pop("HAKARU_DEBUG", None) if not env or "HAKARU_DEBUG" not in env else None
    return subprocess.run(
        [*HAKARU, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120
    )


def test_run_json_has_the_documented_keys(tmp_path: Path) -> None:
    p = hakaru(
        "run",
        "tree-sum",
        "--n",
        "64",
        "--fan-in",
        "4",
        "--sim-error",
        "0",
        "--json",
        "--store",
        str(tmp_path / "h.db"),
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)  # exactly one JSON object on stdout
    for key in (
        "calls",
        "input_tokens",
        "output_tokens",
        "forward_passes",
        "aalp_cost",
        "dollars",
        "depth",
        "span_forward_passes",
        "sim_seconds",
        "correct",
    ):
        assert key in out
    assert (out["calls"], out["depth"], out["correct"]) == (21, 3, True)
    assert out["run_id"]


def test_run_is_stored_and_shown(tmp_path: Path) -> None:
    db = str(tmp_path / "h.db")
    run = json.loads(hakaru("run", "tree-sum", "--n", "16", "--json", "--store", db).stdout)
    shown = hakaru("runs", "show", run["run_id"], "--json", "--store", db)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["totals"]["calls"] == run["calls"]


def test_terminal_output_shows_the_ledger(tmp_path: Path) -> None:
    p = hakaru("run", "tree-sum", "--n", "64", "--no-store", env={"COLUMNS": "160"})
    assert p.returncode == 0, p.stderr
    assert "adder" in p.stdout and "total" in p.stdout and "depth 3 calls" in p.stdout


def test_user_errors_are_one_line_with_exit_codes() -> None:
    cases = [
        (("run", "nope"), 2, None),
        (
            ("run", "tree-sum", "--bogus", "3"),
            2,
            "Error: Workload 'tree-sum' has no parameter 'bogus'. "
            "Its parameters: n, fan_in, leaf_max.\n",
        ),
        (
            ("run", "tree-sum", "--variant", "x"),
            2,
            "Error: Workload 'tree-sum' has no variant 'x'. Choose one of: tree, single.\n",
        ),
        (
            ("run", "tree-sum", "--sim-error", "2"),
            2,
            "Error: --sim-error is 2.0. Give a probability in [0, 1].\n",
        ),
        (("run", "tree-sum", "--seed", "abc"), 2, None),
        (("nonsense",), 2, None),
    ]
    for args, code, err in cases:
        p = hakaru(*args, "--no-store") if args[0] == "run" else hakaru(*args)
        assert p.returncode == code, (args, p.stderr)
        assert p.stderr.startswith("Error: ") and p.stderr.count("\n") == 1, p.stderr
        assert p.stdout == ""
        if err is not None:
            assert p.stderr == err


def test_unknown_workload_lists_the_known_ones() -> None:
    from hakaru.workloads.base import available_workloads

    p = hakaru("run", "nope", "--no-store")
    known = ", ".join(available_workloads())
    assert p.stderr == f"Error: Unknown workload 'nope'. Choose one of: {known}.\n"
    assert "tree-sum" in known


def test_runtime_error_exit_1_and_debug_traceback() -> None:
    args = ("run", "tree-sum", "--variant", "single", "--n", "9000", "--no-store")
    p = hakaru(*args)
    assert p.returncode == 1
    assert p.stderr.startswith("Error: Model 'sim-sum-generalist' has a maximum context length")
    assert "Traceback" not in p.stderr
    debug = hakaru(*args, env={"HAKARU_DEBUG": "1"})
    assert "Traceback" in debug.stderr and "ContextOverflow" in debug.stderr


def test_models_lists_the_catalog() -> None:
    p = hakaru("models", "--json")
    names = [m["name"] for m in json.loads(p.stdout)["models"]]
    assert {"sim-adder", "sim-large", "sim-oracle"} <= set(names)


def test_params_lists_a_workloads_variants_and_parameters() -> None:
    p = hakaru("run", "debugging", "--params")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[1] == "variants: roleplay, focused"
    assert lines[2].split() == ["--k", "default", "4", "(>=", "1)", "number", "of", "functions"]
    payload = json.loads(hakaru("run", "routing", "--params", "--json").stdout)
    assert payload["variants"] == ["generalist", "delegated"]
    assert [p["name"] for p in payload["params"]] == ["k", "n", "c", "q", "m_s", "m_d"]
