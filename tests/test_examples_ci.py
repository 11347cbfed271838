"""examples/ci runs green under pytest, replay only — and goes red on a quadratic change.

The example is run as its GitHub Actions job runs it: ``pytest examples/ci --hakaru-record
none``, in a subprocess, with its own pytest.ini and committed cassettes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pytest(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "examples/ci", *("--hakaru-record", "none", "-q")],
        cwd=ROOT,
        env={**os.environ, "OPENAI_API_KEY": "", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_examples_ci_is_green() -> None:
    result = _pytest()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "5 passed" in result.stdout


def test_a_quadratic_change_turns_it_red() -> None:
    result = _pytest(AGENT_MERGE="full")
    assert result.returncode == 1
    out = result.stdout
    assert "input_tokens grows like n², faster than the bound n log n." in out
    # the cassettes notice the changed prompts too, without calling anything
    assert "has no recording of this request" in out
