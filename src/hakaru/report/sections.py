"""A report is a list of sections; each has a title, paragraphs, figures (SVG) and tables.

Design choice: the HTML template knows nothing about workloads, fits or ledgers. It lays out
:class:`Section` records in order — title, paragraphs, figures, tables, notes — and every piece
of text in them is plain text that the template escapes (jinja2 autoescape). Only
:class:`Figure` carries markup, and only as :class:`markupsafe.Markup` made by
:func:`hakaru.report.plots.svg_of` from a matplotlib figure. So a section cannot inject markup by
accident, whatever a prompt, a response or a role name contains.

Sections come from *builders*: functions of the report's input (:class:`ReportData`) that return
zero or more sections. The built-in ones cover sweeps (:mod:`hakaru.report.sweep_sections`:
claims, comparison, growth, work and span, cost per role) and single runs
(:mod:`hakaru.report.run_sections`: ledger, work and span, call DAG, calls). Another capability
adds its own with :func:`register_section`:

.. code-block:: python

    from hakaru.report.plots import new_figure, svg_of
    from hakaru.report.sections import Figure, ReportData, Section, Table, register_section

    @register_section("gate-frontier", order=70)
    def gate_frontier(data: ReportData) -> list[Section]:
        frontier = data.extras.get("gate_frontier")  # put there by the command that reports
        if frontier is None:
            return []
        fig, ax = new_figure(6, 3)
        ax.plot(frontier["g"], frontier["T"])
        rows = [(f"{g:.2f}", f"{t:.3g}") for g, t in zip(frontier["g"], frontier["T"])]
        return [Section("Quality-gate frontier", figures=(Figure(svg_of(fig), "T(g)"),),
                        tables=(Table(("g", "T"), rows),))]

A builder returns nothing when the data has nothing for it, so every builder runs for every
report. :func:`hakaru.report.html.render_html` also renders any list of sections directly, for
a command that builds a report of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from markupsafe import Markup

if TYPE_CHECKING:
    from hakaru.report.run_summary import RunSummary
    from hakaru.report.summary import StudyResult
    from hakaru.sweeps import SweepResult

__all__ = [
    "Cell",
    "Figure",
    "ReportData",
    "Section",
    "SectionBuilder",
    "Table",
    "build_sections",
    "register_section",
    "section_builders",
    "unregister_section",
]

Tone = Literal["", "good", "bad", "warn", "code"]


@dataclass(frozen=True)
class Cell:
    """A table cell and its tone: ``good`` (green), ``bad`` (red), ``warn``, ``code`` (mono)."""

    text: str
    tone: Tone = ""


@dataclass(frozen=True)
class Figure:
    """An inline SVG figure (from :func:`hakaru.report.plots.svg_of`) and its caption."""

    svg: Markup
    caption: str = ""
    wide: bool = True  # a full-width figure; narrow ones sit side by side


@dataclass(frozen=True)
class Table:
    """A table of plain-text cells. Columns whose cells all look numeric are right-aligned."""

    columns: Sequence[str]
    rows: Sequence[Sequence[str | Cell]]
    caption: str = ""

    def cells(self) -> list[list[Cell]]:
        """Every row as :class:`Cell` objects."""
        return [[c if isinstance(c, Cell) else Cell(str(c)) for c in row] for row in self.rows]

    def numeric(self) -> list[bool]:
        """Per column: whether its cells read as numbers (then they are right-aligned)."""
        rows = self.cells()
        return [
            bool(rows) and all(_NUMBER.fullmatch(r[i].text) for r in rows if i < len(r))
            for i in range(len(self.columns))
        ]


_NUMBER = re.compile(r"[–-]|[$≈~]?[-+]?[\d.,]+(?:e[-+]?\d+)?(?:\s?[%s×])?|10\^[\d.,]+|∞")


@dataclass(frozen=True)
class Section:
    """One part of a report. ``paragraphs`` and ``notes`` are plain text (escaped)."""

    title: str
    paragraphs: Sequence[str] = ()
    figures: Sequence[Figure] = ()
    tables: Sequence[Table] = ()
    notes: Sequence[str] = ()
    key: str = ""  # the anchor; derived from the title when empty

    @property
    def anchor(self) -> str:
        return self.key or re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "section"


@dataclass
class ReportData:
    """What a report is built from; builders read what they need and ignore the rest.

    ``extras`` carries data for sections added by other capabilities (a command puts its
    results under a key its builder knows).
    """

    title: str = "hakaru report"
    studies: list[StudyResult] = field(default_factory=list)
    sweeps: list[SweepResult] = field(default_factory=list)
    runs: list[RunSummary] = field(default_factory=list)
    level: float = 0.9
    subtitle: str = ""
    extras: dict[str, Any] = field(default_factory=dict)


SectionBuilder = Callable[[ReportData], Iterable[Section]]
_BUILDERS: dict[str, tuple[float, SectionBuilder]] = {}


def register_section(
    name: str, *, order: float = 100.0
) -> Callable[[SectionBuilder], SectionBuilder]:
    """Decorator: add a section builder to every report, placed by ``order`` (ascending).

    Built-in orders: sweeps 10–60 (overview, claims, comparison, growth, work/span, roles),
    runs 110–150. Registering a name again replaces its builder.
    """

    def decorate(fn: SectionBuilder) -> SectionBuilder:
        _BUILDERS[name] = (order, fn)
        return fn

    return decorate


def unregister_section(name: str) -> None:
    """Remove a builder, built-in or added with :func:`register_section` (none: no error)."""
    _load_builtins()
    _BUILDERS.pop(name, None)


def section_builders() -> list[tuple[str, SectionBuilder]]:
    """The registered builders, in report order (the built-in ones included)."""
    _load_builtins()
    return [(name, fn) for name, (_, fn) in sorted(_BUILDERS.items(), key=lambda kv: kv[1][0])]


def build_sections(data: ReportData) -> list[Section]:
    """Every registered builder's sections for ``data``, in order."""
    return [s for _, fn in section_builders() for s in fn(data)]


def _load_builtins() -> None:
    # The built-in builders register themselves when imported; importing them here (and not at
    # the top) keeps this module free of plotting and analysis imports, and of import cycles.
    import hakaru.report.gates_section
    import hakaru.report.maker_section
    import hakaru.report.profile_section
    import hakaru.report.run_sections
    import hakaru.report.sweep_sections  # noqa: F401
