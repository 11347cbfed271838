"""Reports that scale: a run's report, streamed in bounded memory, says what the records say.

The reference figures are computed here from every record held in memory — the ledger's online
sums, :func:`hakaru.ledger.work_span` per cost model, and the critical path by the plain method
(every call's finish in one dict) — and the streamed report must equal them, also when its DAG
replay spills old calls to its temporary file (a window of a few calls). Beyond the DAG cap the
report draws the first and last levels and bins the levels, and no section lists one row per
call.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hakaru.cli.main import cli
from hakaru.costs import COST_MODELS
from hakaru.dag import DagReplay
from hakaru.ledger import Ledger, work_span
from hakaru.report.dag_summary import DRAW_CAP, LEVELS_LISTED
from hakaru.report.html import report_data, write_report
from hakaru.report.run_summary import load_run
from hakaru.runner import run_workload
from hakaru.store import RunStore
from hakaru.types import CallRecord


def maker(db: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["maker", "run", "--store", str(db), "--json", *args])
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["run_id"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A noisy MAKER run (retries, flags, a deep chain) and a wide tree-sum run."""
    db = tmp_path_factory.mktemp("scale") / "h.db"
    noisy = maker(
        db, "--disks", "6", "--k", "3", "--model", "sim-hanoi-nano", "--sim-error", "0.15"
    )
    with RunStore(db) as store:
        tree = asyncio.run(
            run_workload("tree-sum", params={"n": 300, "fan_in": 3}, store=store, seed=3)
        ).run_id
    return db, {"maker": noisy, "tree": tree}


def reference(records: list[CallRecord]) -> dict[str, Any]:
    """The figures by the plain method, from every record in memory."""
    ledger = Ledger()
    for rec in records:
        ledger.add(rec)  # no starts given: its sums are exact, its spans are not used
    totals = {k: v for k, v in ledger.totals().items() if not k.startswith("span_")}
    for k in ("depth", "sim_seconds", "parallelism"):
        totals.pop(k, None)
    finish: dict[int, tuple[float, int]] = {}  # latency finish, level
    best: dict[int, int] = {}
    children: set[int] = set()
    for rec in records:
        depth, pick = 0, -1
        for p in rec.parents:
            if p in finish:
                if pick < 0 or finish[p][0] > finish[pick][0]:
                    pick = p  # the first parent that finishes last
                depth = max(depth, finish[p][1])
                children.add(p)
        start = finish[pick][0] if pick >= 0 else 0.0
        latency = 0.0 if rec.status == "cached" else rec.latency
        finish[rec.id] = (start + latency, depth + 1)
        if pick >= 0:
            best[rec.id] = pick
    node = max(finish, key=lambda i: (finish[i][0], -i))
    length = 1
    while node in best:
        node, length = best[node], length + 1
    levels: dict[int, int] = {}
    for _, lv in finish.values():
        levels[lv] = levels.get(lv, 0) + 1
    return {
        "totals": totals,
        "work_span": {name: work_span(records, name) for name in COST_MODELS},
        "depth": work_span(records).depth,
        "path_length": length,
        "levels": [levels[i] for i in range(1, max(levels) + 1)],
        "leaves": len(finish) - len(children),
    }


@pytest.mark.parametrize("kind", ["maker", "tree"])
@pytest.mark.parametrize("window", [None, 5])
def test_streamed_report_equals_the_figures_of_every_record(
    runs: tuple[Path, dict[str, str]], kind: str, window: int | None, monkeypatch: Any
) -> None:
    db, ids = runs
    if window is not None:
        monkeypatch.setattr(DagReplay, "WINDOW", window)  # spill all but the last few calls
    with RunStore(db, readonly=True) as store:
        records = list(store.calls(ids[kind]))
        run = load_run(store, ids[kind])
    ref = reference(records)
    assert {k: run.totals[k] for k in ref["totals"]} == ref["totals"]
    for name, work, span in run.costs:
        ws = ref["work_span"][name]
        assert work == pytest.approx(ws.work, rel=1e-9, abs=1e-9), name
        assert span == pytest.approx(ws.span, rel=1e-9), name
        if name != "calls":
            assert run.totals[f"span_{name}"] == pytest.approx(ws.span, rel=1e-9)
    assert run.totals["depth"] == ref["depth"]
    d = run.dag
    assert d.path_length == ref["path_length"] > 5
    assert list(d.levels) == ref["levels"]
    assert (d.calls, d.leaves) == (len(records), ref["leaves"])
    assert sum(r.calls for r in d.path_roles) == d.path_length
    assert sum(r.seconds for r in d.path_roles) == pytest.approx(d.path_seconds)
    assert d.path_seconds == pytest.approx(ref["work_span"]["latency"].span)


def test_a_run_above_the_dag_cap_is_drawn_by_its_first_and_last_levels(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    run_id = maker(db, "--disks", "11", "--k", "3")  # 2,047 steps, about 6,000 calls
    with RunStore(db, readonly=True) as store:
        run = load_run(store, run_id)
        out = write_report(tmp_path / "r.html", report_data(store, [run_id]))
    d = run.dag
    assert d.calls > DRAW_CAP
    assert [g.what for g in d.drawings] == ["first", "last"]
    first, last = d.drawings
    assert first.first_level == 1 and last.last_level == d.depth
    assert all(len(g.calls) <= 300 for g in d.drawings)
    assert len(d.level_bins) <= 200 and d.depth > LEVELS_LISTED and not d.levels  # binned
    assert sum(b.calls for b in d.level_bins) == d.calls
    assert len(d.critical_path) == 60 < d.path_length
    page = out.read_text(encoding="utf-8")
    assert f"more than the {DRAW_CAP:,} drawn whole" in page
    assert "the first levels, 1–" in page and f"–{d.depth:,}:" in page
    assert page.count("<tr>") < 400  # no table lists a row per call
    assert len(page) < 1_500_000


def _peak(store: RunStore, run_id: str) -> tuple[int, int]:
    """(peak bytes allocated while loading the run's report, bytes its records take held)."""
    load_run(store, run_id)  # imports and caches out of the measurement
    tracemalloc.start()
    records = list(store.calls(run_id))
    held = tracemalloc.get_traced_memory()[1]
    del records
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    load_run(store, run_id)
    streamed = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return streamed, held


def test_the_report_is_streamed(tmp_path: Path, monkeypatch: Any) -> None:
    db = tmp_path / "h.db"
    small = maker(db, "--disks", "10", "--k", "2", "--seed", "0")
    big = maker(db, "--disks", "12", "--k", "2", "--seed", "0")  # four times the calls
    monkeypatch.setattr(DagReplay, "WINDOW", 512)  # both spill
    with RunStore(db, readonly=True) as store:
        small_peak, small_held = _peak(store, small)
        big_peak, held = _peak(store, big)
    # Each extra record held costs far more than it adds to the streamed peak (whose fixed part,
    # about 2 MB of caches and buffers, would make a plain peak/held ratio hang on the machine).
    assert big_peak - small_peak < (held - small_held) / 4, (big_peak, small_peak, held)
    assert big_peak < held / 2, (big_peak, held)
    assert big_peak < 1.5 * small_peak, (big_peak, small_peak)  # flat, not 4×


@pytest.mark.parametrize("mean", [1e-6, 0.04, 0.7, 3.0, 25.0, 400.0])
def test_poisson_tail_equals_scipy(mean: float) -> None:
    from scipy.stats import poisson

    from hakaru.report.maker_section import _poisson_tail

    for observed in (0, 1, 2, 5, 30, int(mean), int(mean) + 1, int(2 * mean) + 3):
        want = float(poisson.sf(observed - 1, mean))
        assert _poisson_tail(observed, mean) == pytest.approx(want, rel=1e-9, abs=1e-15)
    assert _poisson_tail(3, 0.0) is None


def test_a_profile_with_many_sizes_lists_and_draws_a_bounded_number() -> None:
    from hakaru.proxy.profile import ProfilePoint, ProfileResult, fit_metrics
    from hakaru.report.profile_section import profile_sections
    from hakaru.report.sections import ReportData

    sizes = list(range(2, 402, 2))  # 200 sizes, 4 executions each
    result = ProfileResult("p1", ["prog", "{n}"], sizes, 4, "sim")
    for n in sizes:
        for repeat in range(4):
            totals = {"calls": n, "depth": n, "input_tokens": 10 * n + repeat, "dollars": 0.0}
            result.points.append(ProfilePoint(n, repeat, f"r{n}-{repeat}", 0, 0.1, totals))
    result.fits = fit_metrics(result)
    profile = {**result.as_dict(), "status": "done"}
    overview, growth = profile_sections(ReportData(extras={"profile": [profile]}))
    per_size = overview.tables[0]
    assert len(per_size.rows) == 60 and per_size.rows[0][0] == "2" and per_size.rows[-1][0] == "400"
    assert "The first and last 30 of 200 sizes are listed." in overview.notes
    assert "(200 sizes)" in overview.paragraphs[0]
    (figure,) = growth.figures
    svg = str(figure.svg)
    panels = svg.count('<g id="axes_')
    assert "the mean per size is drawn" in svg
    # the means drawn twice (faint and solid) and the ticks, not 800 executions per panel
    assert svg.count("<use ") <= panels * (2 * len(sizes) + 50)
