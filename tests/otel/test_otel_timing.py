"""Dependencies of imported calls inferred from their times: the importer's one-pass version
gives the parents :class:`~hakaru.dependencies.InferredDependencies` gives, replayed event by
event, and a call that takes no time follows the calls that ended before it like any other."""

from __future__ import annotations

import random

import pytest

from hakaru.dependencies import InferredDependencies
from hakaru.otel.importer import _by_timing


def _replayed(times: list[tuple[int, int]], first_id: int) -> list[tuple[int, ...]]:
    """InferredDependencies fed the start and finish events in time order, a finish before a
    start at the same instant (calls of positive duration only)."""
    events = sorted(
        [(start, 1, i) for i, (start, _) in enumerate(times)]
        + [(end, 0, i) for i, (_, end) in enumerate(times)]
    )
    deps = InferredDependencies()
    local = [0] * len(times)
    parents: list[tuple[int, ...]] = [()] * len(times)
    for _, is_start, i in events:
        if is_start:
            local[i], parents[i] = deps.start()
        else:
            deps.finish(local[i], parents[i])
    return [tuple(p + first_id - 1 for p in ps) for ps in parents]


@pytest.mark.parametrize("seed", range(20))
def test_parents_from_timing_match_inferred_dependencies(seed: int) -> None:
    rng = random.Random(seed)
    times = []
    for _ in range(rng.randrange(1, 60)):
        start = rng.randrange(0, 200)
        times.append((start, start + rng.randrange(1, 40)))
    times.sort()
    first = rng.randrange(1, 1000)
    assert _by_timing(times, first) == _replayed(times, first)


def test_a_call_that_takes_no_time_is_linked_in_the_chain() -> None:
    # a, then b and c of no duration at a's end, then d: one chain, every parent in the trace
    assert _by_timing([(0, 10), (10, 10), (10, 10), (20, 30)], 5) == [(), (5,), (6,), (7,)]
