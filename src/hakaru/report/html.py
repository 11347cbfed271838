"""The HTML report: one self-contained file (inline CSS and SVG, no script, no fetch).

Design choice: :func:`render_html` is jinja2 with autoescape always on, over a list of
:class:`~hakaru.report.sections.Section` records; the only markup that reaches the page
unescaped is the SVG that :func:`hakaru.report.plots.svg_of` made. The page declares a Content
Security Policy that forbids scripts and every network fetch, so even a bug in escaping could
not run code or call home, and the file opens the same offline as online.

:func:`report_data` turns run-store references into the report's input — a sweep becomes its
studies (:func:`hakaru.report.summary.default_studies`), a run its summary — and
:func:`write_report` renders and writes it.

>>> from hakaru.report.sections import Section, Table
>>> page = render_html([Section("Hello", tables=(Table(("a",), [("<b>",)]),))], title="t")
>>> "&lt;b&gt;" in page and "<b>" not in page
True
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import hakaru
from hakaru.errors import ConfigError
from hakaru.report.sections import ReportData, Section, build_sections

if TYPE_CHECKING:
    from hakaru.store import RunStore

__all__ = ["check_writable", "render_html", "report_data", "write_report"]


def render_html(
    sections: Sequence[Section],
    *,
    title: str = "hakaru report",
    subtitle: str = "",
    generated: _dt.datetime | None = None,
) -> str:
    """The report page for ``sections`` as one HTML string (every text escaped)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hakaru.report", "templates"),
        autoescape=True,  # always: the template's name does not end in .html
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    when = (generated or _dt.datetime.now(_dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    return env.get_template("report.html.j2").render(
        title=title,
        subtitle=subtitle,
        sections=list(sections),
        generated=when,
        version=hakaru.__version__,
    )


def report_data(
    store: RunStore,
    refs: Iterable[str],
    *,
    at: Sequence[float] = (),
    level: float = 0.9,
    title: str = "",
) -> ReportData:
    """The input of a report of stored sweeps and runs (ids or unique prefixes).

    Each sweep contributes its default studies, predicted at ``at`` (default: 10× the largest
    measured size); each other run its summary.
    """
    from hakaru.report.run_summary import find_reports, load_run
    from hakaru.report.summary import analyze, default_studies
    from hakaru.sweeps import load_sweep

    data = ReportData(level=level)
    names = []
    for kind, info in find_reports(store, refs):
        if kind == "sweep":
            sweep = load_sweep(store, info.id)
            data.sweeps.append(sweep)
            data.studies.extend(
                analyze(sweep, study, at=at, level=level) for study in default_studies(sweep)
            )
            names.append(f"sweep of {sweep.spec.workload}")
        else:
            run = load_run(store, info.id)
            data.runs.append(run)
            names.append(f"{info.kind} {info.name}".strip())
    data.title = title or "hakaru report: " + ", ".join(dict.fromkeys(names))
    data.subtitle = f"run store {store.path}"
    return data


def check_writable(path: str | os.PathLike[str]) -> Path:
    """``path`` as a :class:`Path`, if a report can be written there: its folder must exist
    (a mistyped folder is an error, not a new tree of folders) and the path not be a folder."""
    out = Path(path)
    if out.is_dir():
        raise ConfigError(f"Cannot write the report to {out}: it is a folder. Give a file name")
    if not out.parent.exists():
        raise ConfigError(
            f"Cannot write the report to {out}: the folder {out.parent} does not exist. Create "
            "it first, or choose another path"
        )
    if not out.parent.is_dir():
        raise ConfigError(
            f"Cannot write the report to {out}: {out.parent} is a file, not a folder. Choose "
            "another path"
        )
    return out


def write_report(path: str | os.PathLike[str], data: ReportData) -> Path:
    """Render every registered section for ``data`` and write the page to ``path`` (whose
    folder must exist: :func:`check_writable`)."""
    out = check_writable(path)
    page = render_html(build_sections(data), title=data.title, subtitle=data.subtitle)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(out)  # a reader never sees half a report
    except OSError as exc:
        raise ConfigError(
            f"Cannot write the report to {out}: {exc.strerror or exc}. Choose a writable path"
        ) from None
    return out
