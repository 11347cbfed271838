"""The profile report section: ``hakaru profile --html`` on a real program against the simulated
server, the same sections from ``hakaru report PROFILE --html``, and a profile that stopped early
(rebuilt from its stored executions), every text escaped."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hakaru.analysis.fit import fit_series
from hakaru.errors import ConfigError
from hakaru.proxy.profile import METRICS
from hakaru.report.html import render_html
from hakaru.report.profile_section import LABELS, load_profile, profile_sections
from hakaru.report.sections import ReportData
from hakaru.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def hakaru(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HAKARU_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "hakaru.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        env=env,
    )


def titles(page: str) -> list[str]:
    return re.findall(r"<h2>([^<]*)</h2>", page)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Path]:
    """``hakaru profile --sim --html`` of examples/openai_chain.py (n calls in a chain)."""
    pytest.importorskip("openai")
    tmp = tmp_path_factory.mktemp("profile")
    html = tmp / "profile.html"
    done = hakaru(
        "profile", "--sim", "--latency-scale", "0", "--sizes", "2,4,8,16,32", "--quiet",
        "--json", "--html", str(html), "--store", str(tmp / "h.db"), "--",
        sys.executable, "examples/openai_chain.py", "{n}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert f"hakaru profile: report written to {html}" in done.stderr
    return tmp / "h.db", out, html


def test_hakaru_profile_writes_the_report(chain: tuple[Path, dict[str, Any], Path]) -> None:
    _, out, html = chain
    assert out["html"] == str(html)
    page = html.read_text(encoding="utf-8")
    pid = out["profile"]
    command = f"{sys.executable} examples/openai_chain.py {{n}}"
    assert titles(page) == [f"Profile {pid}: {command}", f"Growth of profile {pid}"]
    assert page.count("<svg") == 1  # the small multiples
    # per-size totals: the chain makes n calls at depth n
    for row in out["per_size"]:
        n = row["n"]
        cells = f'<td class="num ">{n}</td><td class="num ">1</td><td class="num ">{n}</td>'
        assert cells in page
        assert row["calls"] == row["depth"] == n
    # the fit table shows the profile's fits: class, formula, constant, R², runner-up
    fits = out["fits"]
    calls = fits["calls"]
    row = (
        f'<td class=" ">calls</td><td class=" code">{calls["class"]}</td>'
        f'<td class=" ">{calls["formula"]}</td><td class="num ">1</td>'
    )
    assert row in page and calls["formula"] == "1·n"
    for metric in METRICS:
        assert f'<td class=" ">{LABELS[metric]}</td>' in page
    runner = fits["input_tokens"]["runner_up"]
    assert runner and f'<td class=" ">{runner}</td>' in page
    assert "Zero at every size (not plotted): failed calls, USD." in page


def test_the_figure_draws_the_stored_fits(chain: tuple[Path, dict[str, Any], Path]) -> None:
    # The plot refits each metric from the stored executions; it must find what was stored.
    _, out, _ = chain
    for metric in METRICS:
        xs = [float(p["n"]) for p in out["points"]]
        ys = [float(p["totals"][metric]) for p in out["points"]]
        if not any(ys):
            assert out["fits"][metric]["class"] == "1"
            continue
        fit = fit_series(xs, ys)
        assert fit.complexity == out["fits"][metric]["class"], metric
        assert fit.best.formula() == out["fits"][metric]["formula"], metric


def test_hakaru_report_of_a_profile(
    chain: tuple[Path, dict[str, Any], Path], tmp_path: Path
) -> None:
    db, out, first = chain
    html = tmp_path / "again.html"
    done = hakaru("report", out["profile"], "--store", str(db), "--html", str(html))
    assert done.returncode == 0, done.stderr
    page = html.read_text(encoding="utf-8")
    # the profile's own sections and nothing else: the profile run itself made no call, so it
    # has no ledger, DAG or calls of its own to show
    assert titles(page) == titles(first.read_text(encoding="utf-8"))
    with RunStore(db) as store:
        loaded = load_profile(store, out["profile"])
        assert {k: v for k, v in loaded.items() if k != "status"} == {
            k: v for k, v in out.items() if k != "html"
        }
        assert loaded["status"] == "done"
        with pytest.raises(ConfigError, match="not a profile"):
            load_profile(store, out["points"][0]["run_id"])


def test_hakaru_report_json_holds_the_profile(chain: tuple[Path, dict[str, Any], Path]) -> None:
    db, out, _ = chain
    done = hakaru("report", out["profile"], "--store", str(db), "--json")
    assert done.returncode == 0, done.stderr
    (profile,) = json.loads(done.stdout)["profiles"]
    assert profile["fits"] == out["fits"] and profile["status"] == "done"


def test_hakaru_report_in_the_terminal_shows_the_profile_fits(
    chain: tuple[Path, dict[str, Any], Path],
) -> None:
    db, out, _ = chain
    done = hakaru("report", out["profile"], "--store", str(db))
    assert done.returncode == 0, done.stderr
    table = done.stdout.split("Profiles: how each metric grows with n", 1)[1]
    calls = next(line for line in table.splitlines() if f" {LABELS['calls']} " in line)
    assert out["fits"]["calls"]["formula"] in calls  # the chain: 1·n calls


def test_a_stopped_profile_is_rebuilt_from_its_executions(tmp_path: Path) -> None:
    # One LLM call per size; the command fails at n = 16, after three sizes ran. Its
    # arguments carry markup, which the report must show as text.
    code = (
        "import sys, openai; n = int(sys.argv[1]); "
        "openai.OpenAI().chat.completions.create(model='sim', messages=[{'role': 'user', "
        "'content': str(n)}]); sys.exit(1 if n > 8 else 0)"
    )
    html = tmp_path / "p.html"
    done = hakaru(
        "profile", "--sim", "--latency-scale", "0", "--sizes", "2,4,8,16,32", "--quiet",
        "--html", str(html), "--store", str(tmp_path / "h.db"), "--",
        sys.executable, "-c", code, "{n}", HOSTILE,
    )  # fmt: skip
    assert done.returncode != 0 and "failed at n=16 (repeat 1), exit status 1" in done.stderr
    assert not html.exists()
    with RunStore(tmp_path / "h.db") as store:
        (info,) = store.runs(kind="profile")
        assert info.status == "failed" and info.summary is None
        profile = load_profile(store, info.id)
    assert profile["status"] == "failed"
    assert [row["n"] for row in profile["per_size"]] == [2, 4, 8]
    assert (profile["fits"]["calls"]["class"], profile["fits"]["calls"]["formula"]) == ("1", "1")
    sections = list(profile_sections(ReportData(extras={"profile": [profile]})))
    page = render_html(sections, title="t")
    assert "The profile did not finish (status failed)" in page
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
