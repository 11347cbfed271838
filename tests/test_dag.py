"""DagReplay: the streamed DAG figures equal a direct computation over every record held in
memory, also when the replay spills old calls to its temporary database (a window of 3 calls)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hakaru.dag import DagReplay

Dag = list[tuple[int, tuple[int, ...], float, str]]  # (call, parents, cost, role)


@st.composite
def dags(draw: st.DrawFn) -> Dag:
    n = draw(st.integers(1, 60))
    out: Dag = []
    for i in range(1, n + 1):
        # parents among any earlier call (old ones too, so spilled calls are looked up), and
        # now and then a parent that was never added
        parents = draw(st.lists(st.integers(1, i + 2), max_size=4, unique=True))
        parents = [p for p in parents if p != i]
        cost = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.25]))
        out.append((i * 2, tuple(p * 2 for p in parents), cost, draw(st.sampled_from("ab"))))
    return out


def direct(dag: Dag) -> dict[str, object]:
    """The figures by the plain method: every call's finish and level in one dict."""
    finish: dict[int, tuple[float, int]] = {}
    best: dict[int, int] = {}
    children: dict[int, int] = {}
    for call, parents, cost, _ in dag:
        start, depth, pick, pick_t = 0.0, 0, -1, -1.0
        for p in parents:
            if p not in finish:
                continue
            start = max(start, finish[p][0])
            depth = max(depth, finish[p][1])
            if finish[p][0] > pick_t:
                pick, pick_t = p, finish[p][0]
            children[p] = children.get(p, 0) + 1
        finish[call] = (start + cost, depth + 1)
        if pick >= 0:
            best[call] = pick
    levels: dict[int, int] = {}
    for _, lv in finish.values():
        levels[lv] = levels.get(lv, 0) + 1
    node = max(finish, key=lambda i: (finish[i][0], -i))
    path = [node]
    while path[-1] in best:
        path.append(best[path[-1]])
    return {
        "span": max(f for f, _ in finish.values()),
        "levels": [levels.get(i, 0) for i in range(1, max(levels) + 1)],
        "leaves": sum(1 for i in finish if i not in children),
        "fan_out": max(children.values(), default=0),
        "roots": sum(1 for _, lv in finish.values() if lv == 1),
        "path": path,
    }


def replay(dag: Dag, window: int) -> dict[str, object]:
    with DagReplay(2, window=window) as d:
        span = 0.0
        for call, parents, cost, role in dag:
            start, level, best = d.starts(parents)
            finish = [start[0] + cost, start[1] + 1.0]
            span = max(span, finish[0])
            d.put(call, finish, level, best, role)
        path = list(d.path())
        roles = {call: role for call, _, _, role in dag}
        assert [r for _, _, r, _ in path] == [roles[c] for c, *_ in path]
        assert sum(own for _, own, _, _ in path) == pytest.approx(path and span)
        return {
            "span": span,
            "levels": d.levels(),
            "leaves": d.leaves(),
            "fan_out": d.max_fan_out(),
            "roots": d.roots,
            "path": [c for c, *_ in path],
        }


@given(dags(), st.sampled_from([3, 1000]))
@settings(max_examples=150, deadline=None)
def test_replay_equals_the_direct_figures(dag: Dag, window: int) -> None:
    assert replay(dag, window) == direct(dag)


def test_records_out_of_order_are_refused() -> None:
    with DagReplay(1) as d:
        d.put(5, [1.0], 1, -1, "r")
        with pytest.raises(ValueError, match="call-id order"):
            d.put(3, [1.0], 1, -1, "r")
