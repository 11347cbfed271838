"""Reports that scale: a MAKER run's report against the run itself, side by side.

For each size in ``--disks``, one ``hakaru maker run --disks N --k 3`` (2^N − 1 steps of Towers
of Hanoi on the simulated ``sim-hanoi-mini``) into a fresh run store, then three reports of that
run: the terminal one (``hakaru report RUN``), ``--json`` and ``--html FILE``. Every command runs
in its own subprocess; its wall time and its peak memory (the child's own ``ru_maxrss``, from
``os.wait4``) are measured, so the run and its reports are compared on the same machine in one
go. The targets (issue 21): a report's peak memory ≤ 300 MB at every size (flat: not growing
with the calls), its time ≤ the run's, the HTML file ≤ 5 MB.

Run: ``python benchmarks/report_scale.py [--disks 14,16,18] [--json] [--keep DIR]``. The default
sizes (8, 10) take seconds; ``--disks 14,16,18`` is the full benchmark (minutes), ``20`` the
paper's million-step task. ``--keep DIR`` leaves the stores and reports in DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HAKARU = [sys.executable, "-m", "hakaru.cli.main"]
PEAK_MB = 300.0
HTML_MB = 5.0


def measured(args: list[str], env: dict[str, str]) -> tuple[dict[str, float], str]:
    """Run ``hakaru ARGS`` in a subprocess: its wall seconds, CPU seconds (user + system) and
    peak memory in MB (that process's own, from ``os.wait4``), and its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([*HAKARU, *args], stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, problem = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"hakaru {' '.join(args)} failed ({proc.returncode}):\n{problem[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return {"seconds": seconds, "cpu_s": cpu, "peak_mb": usage.ru_maxrss / 1024}, text  # KiB


def one_size(disks: int, k: int, folder: Path) -> dict[str, Any]:
    store = folder / f"disks{disks}.db"
    env = {**os.environ, "HAKARU_HOME": str(folder)}
    base = ["--store", str(store)]
    run_cost, text = measured(
        ["maker", "run", "--disks", str(disks), "--k", str(k), "--json", *base], env
    )
    run = json.loads(text)
    run_id = run["run_id"]
    html = folder / f"disks{disks}.html"
    reports = {}
    for kind, extra in (("terminal", []), ("json", ["--json"]), ("html", ["--html", str(html)])):
        reports[kind], _ = measured(["report", run_id, *base, *extra], env)
    html_mb = html.stat().st_size / 1e6
    return {
        "disks": disks,
        "run_id": run_id,
        "calls": run["calls"],
        "run": run_cost,
        "reports": reports,
        "html_mb": html_mb,
        "met": {
            "peak": all(r["peak_mb"] <= PEAK_MB for r in reports.values()),
            "time": all(r["seconds"] <= run_cost["seconds"] for r in reports.values()),
            "cpu": all(r["cpu_s"] <= run_cost["cpu_s"] for r in reports.values()),
            "html": html_mb <= HTML_MB,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--disks", default="8,10", help="comma-separated sizes [8,10]")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", type=Path, default=None, help="keep stores and reports here")
    args = parser.parse_args()
    sizes = [int(d) for d in args.disks.split(",") if d.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="hakaru-report-scale-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for disks in sizes:
            rows.append(one_size(disks, args.k, folder))
            if not args.json:
                print_row(rows[-1], header=len(rows) == 1)
    out = {
        "targets": {"peak_mb": PEAK_MB, "html_mb": HTML_MB, "time": "report ≤ run (wall, CPU)"},
        "sizes": rows,
        "met": all(all(r["met"].values()) for r in rows),
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(
            f"targets: report peak ≤ {PEAK_MB:.0f} MB, report time ≤ run time, HTML ≤ "
            f"{HTML_MB:.0f} MB — "
            + ("all met" if out["met"] else "NOT all met: ")
            + "; ".join(
                f"{r['disks']} disks: {', '.join(k for k, ok in r['met'].items() if not ok)}"
                for r in rows
                if not all(r["met"].values())
            )
        )


def print_row(r: dict[str, Any], header: bool) -> None:
    """One line per size: wall s / CPU s / peak MB of the run and of each report."""
    if header:
        print(
            "wall s / CPU s / peak MB of each command; HTML file size; the slowest report's "
            "wall and CPU time over the run's"
        )
        print(
            f"{'disks':>5} {'calls':>9} | {'run':>18} | {'terminal':>18} | {'--json':>18} | "
            f"{'--html':>18} | {'HTML MB':>7} | {'wall':>5} {'CPU':>5}"
        )
    run, rep = r["run"], r["reports"]
    wall = max(v["seconds"] for v in rep.values()) / run["seconds"]
    cpu = max(v["cpu_s"] for v in rep.values()) / run["cpu_s"]
    cells = [_cell(run), *(_cell(v) for v in rep.values())]
    print(
        f"{r['disks']:>5} {r['calls']:>9,} | " + " | ".join(cells)
        + f" | {r['html_mb']:>7.2f} | {wall:>5.2f} {cpu:>5.2f}",
        flush=True,
    )  # fmt: skip


def _cell(cost: dict[str, float]) -> str:
    return f"{cost['seconds']:>6.1f} {cost['cpu_s']:>5.1f} {cost['peak_mb']:>5.0f}"


if __name__ == "__main__":
    main()
