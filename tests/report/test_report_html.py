"""The HTML report: escaping of every text, self-containment, the sections of a sweep and of a
run, exact figures against the workload's analytic model, and the section registry."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest
from markupsafe import escape

from hakaru.analysis.claims import EXACT_ON_SIM
from hakaru.errors import ConfigError
from hakaru.report.html import render_html, report_data, write_report
from hakaru.report.plots import new_figure, svg_of
from hakaru.report.run_summary import find_reports
from hakaru.report.sections import (
    Cell,
    Figure,
    ReportData,
    Section,
    Table,
    build_sections,
    register_section,
    unregister_section,
)
from hakaru.report.summary import Study, analyze, format_value
from hakaru.store import RunNotFound, RunStore
from hakaru.sweeps import run_sweep
from hakaru.workloads.base import get_workload

Store = tuple[Path, str, str]


def page_of(path: Path, refs: list[str], **kwargs: object) -> tuple[ReportData, str]:
    with RunStore(path) as store:
        data = report_data(store, refs, **kwargs)  # type: ignore[arg-type]
    return data, render_html(build_sections(data), title=data.title, subtitle=data.subtitle)


def test_answers_errors_and_names_render_as_text(report_store: Store) -> None:
    path, run_id, _ = report_store
    _, page = page_of(path, [run_id])
    assert "<script" not in page.lower() and "<img" not in page.lower()
    escaped = "&lt;script&gt;window.__pwned = 1&lt;/script&gt;&lt;img src=x onerror="
    assert page.count(escaped) >= 3  # the accepted answer, the flagged answer, the run's params
    assert "&lt;i&gt;writer&lt;/i&gt;" in page  # a role name
    assert "markup &lt;b&gt;test&lt;/b&gt;" in page  # the run's name, in the title and a heading
    assert "malformed answer &#39;answer 2: &lt;script&gt;" in page  # a validator's error


def test_run_summary(report_store: Store, payload: str) -> None:
    path, run_id, _ = report_store
    data, _ = page_of(path, [run_id])
    (run,) = data.runs
    assert (run.totals["calls"], run.totals["flagged_calls"]) == (3, 1)
    assert set(run.by_role) == {"<i>writer</i>", "checker"}
    assert run.by_role["checker"]["attempts"] == 2
    assert [c.status for c in run.sample] == ["ok", "ok", "flagged"]
    assert run.sample[0].answer == "answer 0: " + payload
    assert [c.status for c in run.problems] == ["flagged"]
    d = run.dag
    assert (d.calls, d.roots, d.levels, d.path_length) == (3, 1, (1, 1, 1), 3)
    assert [c.id for c in d.critical_path] == [1, 2, 3]
    assert dict((name, work) for name, work, _ in run.costs)["calls"] == 3


def test_the_page_fetches_nothing_and_runs_nothing(report_store: Store, tmp_path: Path) -> None:
    path, run_id, sweep_id = report_store
    with RunStore(path) as store:
        out = write_report(tmp_path / "r.html", report_data(store, [run_id, sweep_id]))
    page = out.read_text(encoding="utf-8")
    assert "default-src 'none'" in page  # CSP: no script, no fetch, even if escaping failed
    assert not re.search(
        r"<script|<link|<iframe|<object|@import|url\((?!#)|<[a-z][^<>]*\ssrc=", page, re.I
    )
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs and all(h.startswith("#") for h in hrefs)  # in-page links only
    # the sweep: claims, ratio, growth, work/span, roles; the run: roles, models, the DAG
    # drawn, levels, the critical path by role, timeline
    assert page.count("<svg") == 10  # no one-model share chart


def test_sweep_report_answers_the_routing_study(report_store: Store) -> None:
    path, _, sweep_id = report_store
    data, page = page_of(path, [sweep_id], at=[1e6])
    (r,) = data.studies
    assert r.title == "routing over k (n=256, q=1, m_d=1)"
    assert {v: r.primary[v].fit.complexity for v in r.labels} == {  # type: ignore[union-attr]
        "generalist": "n",
        "delegated": "1",
    }
    c = r.comparison
    assert c is not None and c.ratio is not None
    assert (c.ratio_of, c.ratio.complexity) == (("generalist", "delegated"), "n")
    assert r.claim is not None and (r.claim.expected, r.claim.verdict) == ("n", "agrees")
    assert [p.n for p in c.predictions] == [1e6]
    # The role figures are the measured ledger; on sim_error=0 they equal the analytic model.
    wl = get_workload("routing")
    _, params = wl.resolve("delegated", {"k": 16, "n": 256, "q": 1, "m_d": 1})
    expected = wl.analytic_roles("delegated", params)
    assert r.role_size == 16
    for role, figures in expected.items():
        assert r.roles["delegated"][role]["aalp"] == figures["aalp_cost"]
        assert r.roles["delegated"][role]["calls"] == figures["calls"]
    titles = [s.title for s in build_sections(data)]
    assert titles == [
        "Sweeps",
        "Measured vs claimed improvement",
        "Comparison and extrapolation",
        "Growth: routing over k (n=256, q=1, m_d=1)",
        "Work and span",
        "Cost per role",
    ]
    assert "k = 10⁶" in page and "agrees" in page
    # the verdicts were measured on the simulator: the page says they are exact by construction
    assert str(escape(EXACT_ON_SIM)) in page


def test_a_prefix_of_a_sweep_and_its_points_names_the_sweep(tmp_path: Path) -> None:
    with RunStore(tmp_path / "h.db") as store:
        sweep = asyncio.run(run_sweep("tree-sum", {"n": [8, 16]}, store=store, sim_error=0))
        point = sweep.points[0].run_id
        common = next(i for i in range(12) if sweep.sweep_id[i] != point[i])
        assert common > 0  # ids are milliseconds since 2020: created together, they share one
        found = find_reports(store, [sweep.sweep_id[:common], point])
        assert [(k, i.id) for k, i in found] == [("sweep", sweep.sweep_id), ("run", point)]
        with pytest.raises(RunNotFound, match=r"^No run 'nope' in .*h\.db\. List runs"):
            report_data(store, ["nope"])


def test_a_study_must_fix_the_other_swept_parameters() -> None:
    sweep = asyncio.run(run_sweep("debugging", {"k": [2, 4], "b": [1, 2]}, sim_error=0))
    with pytest.raises(ConfigError, match=r"^Parameter b varies in sweep .*where=\{'b': 1\}"):
        analyze(sweep, Study("k"))


def test_registered_sections_render_in_order_and_escaped() -> None:
    fig, ax = new_figure(3, 2)
    ax.plot([1, 2], [3, 4], label="$not math$ <b>")

    @register_section("test-extra", order=25)
    def extra(data: ReportData) -> list[Section]:
        table = Table(("name", "value"), [("<b>bold</b>", "1,234"), (Cell("x", "bad"), "–")])
        return [Section("Extra <section>", ("a <p>aragraph",), (Figure(svg_of(fig)),), (table,))]

    try:
        data = ReportData(title="t")
        sections = build_sections(data)
        assert [s.title for s in sections] == ["Extra <section>"]
        page = render_html(sections, title="<t>")
    finally:
        unregister_section("test-extra")
    assert "<title>&lt;t&gt;</title>" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "a &lt;p&gt;aragraph" in page
    assert 'id="extra-section"' in page and page.count("<svg") == 1
    assert '<td class="num ">1,234</td>' in page and '<td class=" bad">x</td>' in page
    assert build_sections(ReportData()) == []


def test_format_value() -> None:
    assert [format_value(v) for v in (0, 12, 1234.0, 0.5, 3.2e9, 1e-5, None)] == [
        "0",
        "12",
        "1,234",
        "0.5",
        "3.2e+09",
        "1e-05",
        "–",
    ]
    assert format_value(float("inf"), 301029.99) == "10^301,030"


def test_the_report_modules_import_nothing_heavy() -> None:
    code = (
        "import sys, hakaru.report.html, hakaru.report.sections, hakaru.report.summary, "
        "hakaru.report.run_summary, hakaru.demo, hakaru.cli.report, hakaru.cli.demo; "
        "print(sorted(m for m in ('matplotlib', 'scipy', 'jinja2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
