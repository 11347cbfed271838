"""``hakaru profile`` with in-process capture (the default for ``python`` commands): the fitted
classes of a quadratic (pairwise) and a linear (map-reduce) program."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hakaru.store import RunStore
from hakaru.tokenizer import count_tokens

PROGRAMS = Path(__file__).parent / "programs"


def profile(tmp_path: Path, program: str, *options: str, latency: str = "0") -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hakaru.cli.main",
            "profile",
            "--sim",
            "--latency-scale",
            latency,
            "--sizes",
            "4,8,16,32",
            "--json",
            "--store",
            str(tmp_path / "h.db"),
            *options,
            "--",
            "python",
            str(PROGRAMS / program),
            "{n}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_pairwise_program_is_quadratic(tmp_path: Path) -> None:
    out = profile(tmp_path, "pairwise.py")
    assert [row["calls"] for row in out["per_size"]] == [n * (n - 1) // 2 for n in (4, 8, 16, 32)]
    assert out["fits"]["calls"]["class"] == "n²"
    assert out["fits"]["input_tokens"]["class"] == "n²"
    with RunStore(tmp_path / "h.db", readonly=True) as store:
        kinds = sorted(r.kind for r in store.runs(limit=None))
    assert kinds == ["capture"] * 4 + ["profile"]  # in-process: no proxy run


@pytest.mark.parametrize("capture", ["in-process", "proxy"])
def test_a_map_reduce_program_is_linear_either_way(tmp_path: Path, capture: str) -> None:
    # The map's calls take their simulated latency, so they overlap: the timing rule sees a fan-out.
    out = profile(tmp_path, "mapreduce.py", "--capture", capture, latency="0.2")
    assert [row["depth"] for row in out["per_size"]] == [2, 2, 2, 2]  # map siblings, then reduce
    assert out["fits"]["calls"]["class"] == "n" and out["fits"]["depth"]["class"] == "1"
    for row in out["per_size"]:
        n = row["n"]
        doubled = [2 * i for i in range(n)]
        prompts = [f"Add these numbers: {i}, {i}" for i in range(n)]
        prompts.append("Add these numbers: " + ", ".join(map(str, doubled)))
        answers = [f"sum = {d}" for d in doubled] + [f"sum = {sum(doubled)}"]
        # Exact by construction on the simulator: its oracle adds, its tokenizer is hakaru's.
        assert row["calls"] == n + 1
        assert row["input_tokens"] == sum(map(count_tokens, prompts))
        assert row["output_tokens"] == sum(map(count_tokens, answers))
