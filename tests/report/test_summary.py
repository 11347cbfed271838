"""What a report says about the demo's sweeps: ratio classes from the two fitted curves, both
of debugging's rows, and the sentence that every verdict on the simulator is exact.

The sweeps are the demo's own (``hakaru.demo.PLAN``: tree-sum and sort over n = 8…1024,
debugging over k and over b), run once on the simulated LLM.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace

import pytest
from rich.console import Console

from hakaru.analysis.claims import EXACT_ON_SIM
from hakaru.demo import run_demo
from hakaru.report.summary import StudyResult, exactness
from hakaru.report.terminal import print_report
from hakaru.store import RunStore


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, str], StudyResult]:
    """(workload, x, cost) → the demo's study of it."""
    path = tmp_path_factory.mktemp("summary") / "h.db"
    with RunStore(path) as store:
        result = asyncio.run(run_demo(store, only=("tree-sum", "sort", "debugging"), at=[1e9]))
    return {(r.workload, r.x, r.cost_label): r for r in result.studies}


def test_tree_sum_ratio_is_a_constant_with_its_limit(
    studies: dict[tuple[str, str, str], StudyResult],
) -> None:
    r = studies[("tree-sum", "n", "system")]
    c = r.comparison
    assert c is not None
    assert (c.a.complexity, c.b.complexity) == ("n", "n")  # single 560·n + 1.61e4, tree 44.39·n
    assert c.ratio_of == ("single", "tree") == r.labels  # original/optimized, not flipped
    assert (c.ratio.complexity, c.ratio.direction) == ("1", 0)
    limit = c.a.constant / c.b.constant
    assert c.ratio.limit == pytest.approx(limit) and 12 < limit < 13
    assert c.ratio.label == f"1, → {limit:.3g}"
    (p,) = c.predictions  # at n = 10⁹: the quotient of the two fits, not a fit of the ratios
    assert p.ratio.value == pytest.approx(p.a.value / p.b.value) == pytest.approx(limit, rel=1e-3)
    assert r.to_dict()["direction"].startswith("tree is cheaper by a factor that tends to 12.")


def test_sort_ratio_is_n_over_log_n(studies: dict[tuple[str, str, str], StudyResult]) -> None:
    c = studies[("sort", "n", "system")].comparison
    assert c is not None
    assert (c.a.complexity, c.b.complexity) == ("n²", "n log n")
    assert (c.ratio.complexity, c.ratio_of) == ("n/log n", ("single", "merge"))
    assert c.ratio.direction == 1


def test_debugging_is_checked_on_the_whole_system_and_on_the_developer_share(
    studies: dict[tuple[str, str, str], StudyResult],
) -> None:
    rows = {key[1:]: r for key, r in studies.items() if key[0] == "debugging"}
    assert set(rows) == {("k", "system"), ("k", "developer"), ("b", "system"), ("b", "developer")}
    system, developer = rows[("k", "system")], rows[("k", "developer")]
    assert system.study.role is None and developer.study.role == "developer"
    assert system.claim is not None and developer.claim is not None
    # The paper's Θ(b·k²) is the developer's (Eq. 11): n² in k. On the whole system the focused
    # QA engineer's Θ(m_q·k·l) (Eqs. 8, 10) leaves a ratio linear in k, so that row disagrees.
    assert (developer.claim.measured, developer.claim.verdict) == ("n²", "agrees")
    assert (system.claim.expected, system.claim.measured) == ("n²", "n")
    assert system.claim.verdict == "disagrees"
    assert "Θ(m_q·k·l) (Eqs. 8, 10)" in system.claim.note
    assert "(Eqs. 7, 10)" in system.claim.note
    assert rows[("b", "developer")].claim.verdict == "agrees"  # type: ignore[union-attr]


def test_the_terminal_says_every_verdict_on_the_simulator_is_exact(
    studies: dict[tuple[str, str, str], StudyResult],
) -> None:
    shown = list(studies.values())
    assert exactness(shown) == EXACT_ON_SIM
    assert "not an empirical test of LLMs" in EXACT_ON_SIM
    out = io.StringIO()
    print_report(Console(file=out, width=200, highlight=False), shown)
    text = out.getvalue()
    assert EXACT_ON_SIM in text
    assert "disagrees¹" in text  # the whole-system debugging row, with its footnote
    assert "1. Table 1's Θ(b·k²) is the developer's share (Eq. 11)" in text


def test_not_on_the_simulator_no_such_sentence(
    studies: dict[tuple[str, str, str], StudyResult],
) -> None:
    elsewhere = [replace(r, backend="openai") for r in studies.values()]
    assert exactness(elsewhere) is None
