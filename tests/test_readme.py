"""The README's Python example runs and prints what the README says; the README, docs/report.md
and docs/claims.md show what ``hakaru demo`` prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hakaru.analysis.claims import EXACT_ON_SIM

README = Path(__file__).parents[1] / "README.md"


def test_readme_example_output() -> None:
    text = README.read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None
    out = subprocess.run(
        [sys.executable, "-c", code.group(1)], capture_output=True, text=True, check=True
    )
    claimed = re.search(r"This prints `([^`]*)`", text)
    assert claimed is not None
    assert out.stdout.strip() == claimed.group(1)


# -- the demo's output, as the README, docs/report.md and docs/claims.md show it --------------

DOCS = README.parent / "docs"


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """``hakaru demo``'s stdout (the full plan, deterministic), lines without trailing blanks."""
    store = tmp_path_factory.mktemp("demo") / "h.db"
    env = {k: v for k, v in os.environ.items() if k not in ("HAKARU_DEBUG", "HAKARU_HOME")}
    out = subprocess.run(
        [sys.executable, "-m", "hakaru.cli.main", "demo", "--no-html", "--store", str(store)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=600,
    )
    return [line.rstrip() for line in out.stdout.splitlines()]


def _block_after(text: str, marker: str) -> list[str]:
    words = r"\s+".join(map(re.escape, marker.split()))
    found = re.search(words + r"[^`]*```\n(.*?)```", text, re.S)
    assert found is not None, marker
    return found.group(1).splitlines()


def test_the_readme_shows_what_the_demo_prints(demo_output: list[str]) -> None:
    text = README.read_text(encoding="utf-8")
    shown = _block_after(text, "sets the measured improvement next to the paper's claim")
    assert shown[0].startswith("Improvement of the optimized design")
    assert [line for line in shown if line not in demo_output] == []
    sentence = EXACT_ON_SIM
    assert sentence in demo_output
    assert sentence in " ".join(text.replace("**", "").split())


def test_report_md_shows_what_the_demo_prints(demo_output: list[str]) -> None:
    shown = _block_after((DOCS / "report.md").read_text(encoding="utf-8"), "It prints:")
    timing, *body, html, ids = shown  # the wall time and the sweep ids differ from run to run
    assert html == "report: hakaru-report.html (open it in a browser)"  # not with --no-html
    assert timing.startswith("hakaru demo: 6 sweeps, 234 runs, 36,897 LLM calls")
    assert ids.startswith("sweeps stored in .hakaru/hakaru.db; re-render: hakaru report ")
    assert [line for line in body if line not in demo_output[1:-1]] == []


def test_claims_md_quotes_the_demos_fits(demo_output: list[str]) -> None:
    rows = [
        r
        for r in (DOCS / "claims.md").read_text(encoding="utf-8").splitlines()
        if r.startswith("| ") and "`hakaru demo`" in r
    ]
    assert len(rows) == 4
    printed = "\n".join(demo_output)
    quoted = [f for row in rows for f in re.findall(r"`([^`]*)`", row) if "·" in f]
    assert len(quoted) == 6 and [f for f in quoted if f not in printed] == []
