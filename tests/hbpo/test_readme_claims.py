"""experiments/hbpo/README.md says what the paper and the committed results say.

The paper's abstract (Lyu et al., arXiv 2507.15844): HBPO "reduces average token usage by up
to 60.6% while improving accuracy by 3.14%". The configuration and figures are those of
``experiments/hbpo/results/``, written by ``make hbpo-repro``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HBPO = Path(__file__).parents[2] / "experiments" / "hbpo"
README = " ".join((HBPO / "README.md").read_text(encoding="utf-8").split())


def test_the_papers_headline_figures_are_quoted_as_its_abstract_gives_them() -> None:
    assert "reduces average token usage by **up to 60.6%** while improving accuracy by" in README
    assert "**3.14%** across four reasoning benchmarks" in README
    assert "−60.6 %" not in README and "+3.14 points" not in README


def test_the_stated_intra_weight_is_the_one_the_run_used() -> None:
    config = json.loads((HBPO / "results" / "config.json").read_text(encoding="utf-8"))
    stated = re.findall(r"`intra_weight=(\d+(?:\.\d+)?)` \(`results/config\.json`\)", README)
    assert stated and all(float(w) == config["intra_weight"] for w in stated)


def test_the_readme_says_where_hbpo_writes_past_its_announced_budget() -> None:
    results = json.loads((HBPO / "results" / "results.json").read_text(encoding="utf-8"))
    hbpo = results["models"]["hbpo"]
    (announced,) = (int(b) for b in hbpo["overall"]["budget"])  # one budget for every problem
    per_k = {int(k): v["mean_tokens"] for k, v in hbpo["per_k"].items()}
    over = sorted(k for k, tokens in per_k.items() if tokens > announced)
    assert over == list(range(over[0], max(per_k) + 1))  # from some k on, for every k
    assert f"announces `<b{announced}>`" in README
    assert f"for every k ≥ {over[0]} it writes more than the {announced} tokens it announced" in (
        README
    )
    first, last = per_k[over[0]], per_k[max(per_k)]
    assert f"({first:.0f} at k = {over[0]}, {last:.0f} at k = {max(per_k)})" in README
