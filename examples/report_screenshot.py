"""A screenshot of an HTML report as headless Chromium draws it (how docs/report-dag.png is made).

Opens the report file in the system's Chromium (Debian's ``chromium`` package, driven by
Playwright for Python; Playwright's own browser download is never used), scrolls to the section
whose heading contains ``--section`` (default: the top of the page) and saves ``--height``
pixels of it, ``--width`` wide.

Run: ``python examples/report_screenshot.py REPORT.html OUT.png [--section "Call DAG"]
[--width 1280] [--height 1400]``. docs/report.md shows the call DAG of an 18-disk MAKER run::

    hakaru maker run --disks 18 --k 3 --json          # prints its run id
    hakaru report RUN --html maker18.html
    python examples/report_screenshot.py maker18.html docs/report-dag.png --section "Call DAG"
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

CHROMIUM = os.environ.get("HAKARU_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--section", default="", help="text of the heading to start at")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1400)
    args = parser.parse_args()
    if not args.report.is_file():
        raise SystemExit(f"No report at {args.report}. Write one with 'hakaru report RUN --html'.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(args.report.resolve().as_uri())
            page.wait_for_load_state("load")
            top = 0.0
            if args.section:
                heading = page.locator("h2", has_text=args.section).first
                if heading.count() == 0:
                    raise SystemExit(f"No section heading contains {args.section!r}.")
                box = heading.bounding_box()
                top = 0.0 if box is None else box["y"] - 8
            clip = {"x": 0, "y": top, "width": args.width, "height": args.height}
            page.screenshot(path=str(args.out), clip=clip, full_page=True)
        finally:
            browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
