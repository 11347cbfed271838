"""What budgets did in past calls: tokens spent and correctness per difficulty bucket and budget.

The difficulty-aware policy learns from the ledger. A :class:`~hakaru.types.CallRecord` holds
the budget of the call and the tokens it spent; the caller adds what the record cannot know —
the task's estimated difficulty and whether the answer was right — as ``outcomes`` keyed by
call id (:meth:`BudgetStats.from_records`). Difficulties in [0, 1] fall into ``buckets`` equal
bins. Estimates are smoothed so that a cell seen once does not decide an allocation: accuracy
is Laplace's (correct + 1) / (calls + 2); an unseen cell costs its whole output cap.

>>> s = BudgetStats(buckets=2)
>>> s.observe(0.1, 256, tokens=200, correct=True)
>>> s.observe(0.1, 256, tokens=300, correct=False)
>>> s.accuracy(0, 256), s.mean_tokens(0, 256), s.bucket(0.9)
(0.5, 250.0, 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hakaru.errors import ConfigError
from hakaru.types import CallRecord

__all__ = ["BucketTally", "BudgetStats"]


@dataclass
class BucketTally:
    """Calls made at one (bucket, budget), the output tokens they spent, how many were right."""

    calls: int = 0
    tokens: int = 0  # output tokens, reasoning included
    correct: int = 0


class BudgetStats:
    """Per (difficulty bucket, budget) counts; ``budget`` ``None`` means "no budget given"."""

    def __init__(self, buckets: int = 5) -> None:
        if buckets < 1:
            raise ConfigError(f"buckets is {buckets}. Give at least 1 difficulty bucket.")
        self.buckets = buckets
        self.cells: dict[tuple[int, int | None], BucketTally] = {}

    def bucket(self, difficulty: float) -> int:
        """The bucket of an estimated difficulty in [0, 1]."""
        if not 0.0 <= difficulty <= 1.0:
            raise ConfigError(f"difficulty is {difficulty}. Give an estimate in [0, 1].")
        return min(self.buckets - 1, int(difficulty * self.buckets))

    def observe(self, difficulty: float, budget: int | None, *, tokens: int, correct: bool) -> None:
        """Add one call."""
        cell = self.cells.setdefault((self.bucket(difficulty), budget), BucketTally())
        cell.calls += 1
        cell.tokens += tokens
        cell.correct += bool(correct)

    @classmethod
    def from_records(
        cls,
        records: Iterable[CallRecord],
        outcomes: Mapping[int, tuple[float, bool]],
        buckets: int = 5,
    ) -> BudgetStats:
        """Learn from ledger records; ``outcomes[call_id] = (difficulty, correct)``.

        Records without an outcome, and attempts that did not run (errors, cache hits), are
        skipped: a cached answer spent no tokens and says nothing about the budget.
        """
        stats = cls(buckets)
        for rec in records:
            if rec.id not in outcomes or rec.status not in ("ok", "flagged"):
                continue
            difficulty, correct = outcomes[rec.id]
            stats.observe(
                difficulty, rec.reasoning_budget, tokens=rec.output_tokens, correct=correct
            )
        return stats

    def calls(self, bucket: int, budget: int | None) -> int:
        cell = self.cells.get((bucket, budget))
        return 0 if cell is None else cell.calls

    def accuracy(self, bucket: int, budget: int | None) -> float:
        """Smoothed accuracy (correct + 1) / (calls + 2)."""
        cell = self.cells.get((bucket, budget)) or BucketTally()
        return (cell.correct + 1) / (cell.calls + 2)

    def mean_tokens(self, bucket: int, budget: int | None, unseen: float | None = None) -> float:
        """Mean output tokens per call; ``unseen`` (default: the budget) if never observed."""
        cell = self.cells.get((bucket, budget))
        if cell is None or cell.calls == 0:
            if unseen is not None:
                return unseen
            if budget is None:
                raise ConfigError(
                    f"No calls without a budget in difficulty bucket {bucket}. "
                    "Record some before allocating."
                )
            return float(budget)
        return cell.tokens / cell.calls

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; :meth:`from_dict` reads it back."""
        return {
            "buckets": self.buckets,
            "cells": [
                {
                    "bucket": b,
                    "budget": budget,
                    "calls": c.calls,
                    "tokens": c.tokens,
                    "correct": c.correct,
                }
                for (b, budget), c in sorted(
                    self.cells.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)
                )
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BudgetStats:
        stats = cls(int(data["buckets"]))
        for row in data["cells"]:
            stats.cells[(int(row["bucket"]), row["budget"])] = BucketTally(
                int(row["calls"]), int(row["tokens"]), int(row["correct"])
            )
        return stats
