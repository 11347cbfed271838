"""The frontier table and its SVG plot."""

from __future__ import annotations

import pytest

from hakaru.errors import ConfigError
from hakaru.gates import GateParams, frontier, frontier_report, optimize

MEAN = GateParams(r0=0.258, beta=3.16, alpha=0.30, c_rework=1.4)


def test_rows_follow_the_model_and_mark_both_optima() -> None:
    rows = frontier(MEAN, steps=11)
    assert len(rows) == 13
    assert [r.g for r in rows] == sorted(r.g for r in rows)
    grid = [r for r in rows if not r.label]
    assert [round(r.g, 10) for r in grid] == [i / 10 for i in range(11)]
    for r in grid:
        assert r.raw_completion == pytest.approx(1 - 0.3 * r.g)
        assert r.effective == pytest.approx(r.raw_completion * (1 - r.rework))
        assert r.net == pytest.approx(r.raw_completion * (1 - 2.4 * r.rework))
    marked = {r.label: r for r in rows if r.label}
    assert marked["g* effective"].g == optimize(MEAN, "effective").g_star
    assert marked["g* net"].g == optimize(MEAN, "net").g_star
    # no grid row beats the marked optimum
    assert max(r.effective for r in rows) == marked["g* effective"].effective
    assert max(r.net for r in rows) == marked["g* net"].net


def test_without_marks_and_bad_steps() -> None:
    assert len(frontier(MEAN, 3, mark_optima=False)) == 3
    with pytest.raises(
        ConfigError, match=r"steps must be a whole number >= 2, got 1\. Use e\.g\. 11"
    ):
        frontier(MEAN, 1)


def test_report_has_rows_and_an_svg_with_measured_points() -> None:
    report = frontier_report(MEAN, steps=5, measured=[(0.2, 0.8), (0.6, 0.79)])
    assert len(report.rows) == 7
    assert report.svg.lstrip().startswith("<?xml")
    assert "<svg" in report.svg and "</svg>" in report.svg
