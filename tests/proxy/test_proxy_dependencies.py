"""Happens-before from timing: the online frontier is the transitive reduction of the interval
order "A finished before B started", and its work/span/depth are those of the schedule."""

from __future__ import annotations

import random

from hakaru.dependencies import InferredDependencies
from hakaru.ledger import work_span
from hakaru.types import CallRecord


def replay(intervals: list[tuple[float, float]]) -> dict[int, tuple[int, ...]]:
    """Feed start/finish events in time order; return each call's parents (ids from 1)."""
    events = []
    for i, (s, e) in enumerate(intervals):
        events.append((s, 1, i))
        events.append((e, 0, i))  # at equal times a finish is not "before" a start: see below
    events.sort(key=lambda ev: (ev[0], -ev[1]))  # starts first at ties: strict "before"
    hb = InferredDependencies()
    ids: dict[int, tuple[int, tuple[int, ...]]] = {}
    for _, is_start, i in events:
        if is_start:
            ids[i] = hb.start()
        else:
            hb.finish(*ids[i])
    return {ids[i][0]: ids[i][1] for i in range(len(intervals))}


def test_chain_fan_out_and_join() -> None:
    chain = replay([(0, 1), (2, 3), (4, 5)])
    assert chain == {1: (), 2: (1,), 3: (2,)}
    fan = replay([(0, 5), (0.1, 4), (0.2, 6), (7, 8)])  # three overlapping, then a join
    assert fan == {1: (), 2: (), 3: (), 4: (2, 1, 3)}
    assert InferredDependencies().peak_in_flight == 0


def test_frontier_is_the_transitive_reduction_of_the_interval_order() -> None:
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randrange(1, 14)
        intervals = []
        for _ in range(n):
            s = rng.uniform(0, 10)
            intervals.append((s, s + rng.uniform(0.01, 3)))
        intervals.sort()  # ids are handed out in start order
        parents = replay(intervals)
        before = {
            b + 1: {a + 1 for a in range(n) if intervals[a][1] < intervals[b][0]} for b in range(n)
        }

        def ancestors(x: int, links: dict[int, tuple[int, ...]]) -> set[int]:
            seen: set[int] = set()
            todo = list(links[x])
            while todo:
                p = todo.pop()
                if p not in seen:
                    seen.add(p)
                    todo.extend(links[p])
            return seen

        for b in range(1, n + 1):
            assert ancestors(b, parents) == before[b]  # all predecessors reachable, no more
            for p in parents[b]:  # and no link is implied by the others
                others = set()
                for q in parents[b]:
                    if q != p:
                        others |= ancestors(q, parents) | {q}
                assert p not in others


def test_depth_and_span_follow_the_schedule() -> None:
    # four calls at a time (a capped map of 8), then one reduce
    intervals = [(0, 1)] * 4 + [(1.5, 2.5)] * 4 + [(3, 4)]
    parents = replay(intervals)
    records = [CallRecord(i, parents[i], "r", "m", output_tokens=10) for i in parents]
    ws = work_span(records, "forward_passes")
    assert (ws.work, ws.span, ws.depth) == (90.0, 30.0, 3)
