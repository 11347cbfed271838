"""What ``hakaru import`` reports: the runs it made (:class:`ImportedRun`) and what it read,
made and skipped (:class:`ImportReport`, printed by the command and returned by
:func:`hakaru.otel.importer.import_traces`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ImportReport", "ImportedRun"]


@dataclass(frozen=True)
class ImportedRun:
    """One run made by an import: its id, problem size, traces and totals."""

    run_id: str
    size: float | None
    traces: int
    totals: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "size": self.size,
            "traces": self.traces,
            "totals": self.totals,
        }


@dataclass
class ImportReport:
    """What an import read, made and skipped."""

    files: list[str]
    spans: int = 0
    calls: int = 0
    structure: Counter[str] = field(default_factory=Counter)  # non-LLM spans by kind
    estimated: int = 0  # calls whose tokens were estimated from text
    unpriced: int = 0  # executed calls without known dollars
    no_usage: int = 0  # calls with neither token counts nor text to estimate from
    skipped: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    runs: list[ImportedRun] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "spans": self.spans,
            "calls": self.calls,
            "structure": dict(self.structure),
            "estimated_calls": self.estimated,
            "unpriced_calls": self.unpriced,
            "calls_without_usage": self.no_usage,
            "skipped": dict(self.skipped),
            "skip_examples": self.examples,
            "runs": [r.as_dict() for r in self.runs],
        }
