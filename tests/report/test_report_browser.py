"""End to end: the HTML report rendered in headless Chromium (Debian's ``chromium`` package,
driven by Playwright for Python with the system binary — Playwright's own browser download is
never used). Plots and tables must be visible, markup from answers must show as text and never
run, and the page must fetch nothing.

Skipped when chromium or playwright is missing, unless HAKARU_REQUIRE_BROWSER=1 (CI), which
turns the skip into a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakaru.report.html import report_data, write_report
from hakaru.store import RunStore

CHROMIUM = os.environ.get("HAKARU_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
INSTALL = (
    "apt-get update && apt-get install -y chromium chromium-driver, and "
    "pip install playwright (never 'playwright install': the system chromium is used)"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_browser() -> None:
    missing = []
    if not Path(CHROMIUM).is_file():
        missing.append(f"no chromium at {CHROMIUM}")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the Python package playwright is not installed")
    if missing:
        reason = "; ".join(missing) + f". Install: {INSTALL}"
        if os.environ.get("HAKARU_REQUIRE_BROWSER") == "1":
            pytest.fail(f"HAKARU_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    """A fresh Chromium page (new profile directory, no network features)."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def test_report_renders_in_chromium(
    page: Any, report_store: tuple[Path, str, str], payload: str, tmp_path: Path
) -> None:
    path, run_id, sweep_id = report_store
    with RunStore(path) as store:
        out = write_report(tmp_path / "report.html", report_data(store, [sweep_id, run_id]))
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(out.resolve().as_uri())
    page.wait_for_load_state("load")

    assert requests == [out.resolve().as_uri()]  # the file itself, nothing else
    assert errors == []  # no script ran, and nothing the CSP had to block

    svgs = page.locator("main svg")
    assert svgs.count() == 10  # the run's share per model: one model, no chart
    for i in range(svgs.count()):
        box = svgs.nth(i).bounding_box()
        assert svgs.nth(i).is_visible() and box["width"] > 100 and box["height"] > 50, box
    tables = page.locator("main table")
    assert tables.count() >= 10
    for i in range(tables.count()):
        box = tables.nth(i).bounding_box()
        assert tables.nth(i).is_visible() and box["width"] > 0 and box["height"] > 0
    for name in ("Measured vs claimed improvement", "Comparison and extrapolation"):
        assert page.get_by_role("heading", name=name).is_visible()
    verdict = page.locator("td.good", has_text="agrees").first
    assert verdict.is_visible()

    # The hostile answer is on the page as text, and nothing in it ran.
    assert payload in page.inner_text("body")
    cell = page.locator("td", has_text="answer 0: <script>").first
    assert cell.is_visible() and cell.inner_text() == "answer 0: " + payload
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("document.images.length") == 0


@pytest.fixture(scope="module")
def big_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """(run id, report) of a MAKER run above the DAG cap: 11 disks (about 6,000 calls), or
    ``HAKARU_BROWSER_DISKS`` (``make browser-18``: the 18-disk run, about 800,000 calls)."""
    disks = int(os.environ.get("HAKARU_BROWSER_DISKS", "11"))
    limit = 300 if disks <= 12 else 3600
    folder = tmp_path_factory.mktemp("big")
    db = folder / "h.db"
    hakaru = [sys.executable, "-m", "hakaru.cli.main"]
    made = subprocess.run(
        [*hakaru, "maker", "run", "--disks", str(disks), "--k", "3", "--store", str(db),
         "--json"],
        capture_output=True, text=True, check=True, timeout=limit,
    )  # fmt: skip
    run_id = json.loads(made.stdout)["run_id"]
    out = folder / "big.html"
    subprocess.run(
        [*hakaru, "report", run_id, "--store", str(db), "--html", str(out)],
        capture_output=True, text=True, check=True, timeout=limit,
    )  # fmt: skip
    return run_id, out


def test_a_big_runs_report_shows_every_section_and_figure(
    big_report: tuple[str, Path], page: Any
) -> None:
    """A MAKER run above the DAG cap: the DAG drawn by its first and last levels, levels in
    bins, the critical path by role — every section, figure and table on screen."""
    from hakaru.report.dag_summary import DRAW_CAP

    run_id, out = big_report
    page.goto(out.resolve().as_uri())
    page.wait_for_load_state("load")

    headings = page.locator("main h2")
    names = [headings.nth(i).inner_text() for i in range(headings.count())]
    assert f"Call DAG of run {run_id}" in names and any(n.startswith("MAKER run") for n in names)
    for i in range(headings.count()):
        assert headings.nth(i).is_visible(), names[i]
    svgs = page.locator("main svg")
    # undecided, length; DAG, levels, time — one role and one model: no share charts, and no
    # chart of the critical path by role (its table says it)
    assert svgs.count() == 2 + 3
    for i in range(svgs.count()):
        svgs.nth(i).scroll_into_view_if_needed()
        box = svgs.nth(i).bounding_box()
        assert svgs.nth(i).is_visible() and box["width"] > 100 and box["height"] > 50, (i, box)
    tables = page.locator("main table")
    for i in range(tables.count()):
        assert tables.nth(i).is_visible()
    text = page.inner_text("main")
    assert f"more than the {DRAW_CAP:,} drawn whole" in text
    assert "critical path by role" in text.lower()
    dag = page.locator("main svg", has_text="the first levels, 1–")
    assert dag.count() == 1 and "the last levels" in (dag.text_content() or "")


# Per chart axis: the tick labels, for the axes whose labels are words (categories: roles,
# models, bins of draws), not numbers.
_CATEGORY_AXES = """() => [...document.querySelectorAll('main svg')].flatMap((svg, i) =>
  [...svg.querySelectorAll('g[id^="matplotlib.axis"]')].map(axis => ({
    chart: i,
    title: [...svg.querySelectorAll('text')].map(t => t.textContent).join(' | ').slice(0, 2000),
    labels: [...axis.querySelectorAll('g[id^="xtick_"], g[id^="ytick_"]')]
      .map(tick => tick.textContent.trim()).filter(text => text.length > 0),
  })).filter(axis => axis.labels.some(text => /[A-Za-z]{2,}/.test(text))))"""


@pytest.fixture(scope="module")
def maker_and_proxy_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A MAKER run with a single role (and a few long draws), and a proxied run."""
    import json
    import subprocess
    import sys

    db = tmp_path_factory.mktemp("browser") / "h.db"
    root = Path(__file__).resolve().parents[2]

    def hakaru(*args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "hakaru.cli.main", args[0], args[1], "--json", "--store",
             str(db), *args[2:]],
            capture_output=True, text=True, timeout=240, cwd=root, check=True,
        )  # fmt: skip
        return json.loads(done.stdout)

    maker = hakaru("maker", "run", "--task", "hanoi", "--disks", "8", "--k", "2")
    profile = hakaru(
        "profile", "--sim", "--capture", "proxy", "--sizes", "2,4,8", "--",
        "python", "examples/openai_chain.py", "{n}",
    )  # fmt: skip
    return db, maker["run_id"], profile["points"][-1]["run_id"]


def test_charts_have_categories_and_bins_show_their_counts(
    page: Any, maker_and_proxy_store: tuple[Path, str, str], tmp_path: Path
) -> None:
    """No chart of a single category (a share of 100 % says nothing); the error rate against
    response length shows each bin's draws, bins too small to estimate merged; a proxied run
    says its dependencies were inferred from timing, and why the critical path and the depth
    differ."""
    import re

    from hakaru.report.maker_plots import MIN_DRAWS

    path, maker_id, proxy_id = maker_and_proxy_store
    from hakaru.report import maker_section

    with RunStore(path) as store:
        data = report_data(store, [maker_id, proxy_id])
        maker_section.add_maker_reports(store, data)  # as hakaru report does
        out = write_report(tmp_path / "report.html", data)
    page.goto(out.resolve().as_uri())
    page.wait_for_load_state("load")
    axes = page.evaluate(_CATEGORY_AXES)
    assert axes, "no chart with categories at all: the check below would be empty"
    for axis in axes:
        assert len(axis["labels"]) >= 2, f"a chart of one category: {axis}"
    (bins,) = [a["labels"] for a in axes if "error rate against response length" in a["title"]]
    for label in bins:
        match = re.search(r"([\d,]+) draws?$", label)
        assert match, f"a bin without its count of draws: {label!r}"
        assert int(match.group(1).replace(",", "")) >= MIN_DRAWS, label
    body = page.inner_text("body")
    assert "Dependencies were inferred from timing by the recording proxy" in body
    dag = page.locator("section", has_text=f"Call DAG of run {proxy_id}").first
    assert "tracked by the session" not in dag.inner_text()
    assert "The depth counts the calls of the longest chain; the critical path" in body
    assert "95 % Wilson intervals" in body
