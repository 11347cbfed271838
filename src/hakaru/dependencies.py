"""Dependencies inferred from timing alone, for calls seen on the wire or in imported traces.

(The session's :class:`hakaru.happens_before.HappensBefore` *knows* each call's dependencies,
from the results the code awaited; :class:`InferredDependencies` here can only infer them.)

A proxy sees requests, not the program's data flow. What timing does prove is the converse:
a call that was still running when another started cannot have fed that one. So the rule is:

    B may depend on A  ⇔  A finished before B started.

Recording every such pair would give each call all of its predecessors — O(n²) links, and a
sequential chain of n calls would list n−1 parents on its last call. The proxy records the
*transitive reduction* instead: B's parents are the calls that finished before B started and
are not already ancestors of another such call — the *frontier*. It is kept online: when a
call finishes it joins the frontier and its own parents leave it (they now have a finished
descendant). A new call takes the whole frontier as its parents. Every call that finished
before B started is then an ancestor of B through these links, and no link is implied by
others, so:

- calls that overlap in time are never linked: N concurrent calls are N siblings (a fan-out),
  and a call started after all of them finished has all N as parents (a join);
- a sequential chain of n calls has depth n, each call with one parent;
- work, span and depth of the ledger (:func:`hakaru.ledger.totals_of`) are those of the
  inferred DAG: the span is the longest chain the timing allows, an upper bound on the true
  critical path (an unrelated call that happened to finish earlier looks like a dependency;
  an overlapping one never does). A map capped at c concurrent calls therefore shows the
  depth of its schedule (about n/c), which is what it cost in wall time.

Ids are handed out at the start of each call, so a parent's id is always smaller than its
child's — the order in which :func:`~hakaru.ledger.totals_of` replays records.
"""

from __future__ import annotations

__all__ = ["InferredDependencies"]


class InferredDependencies:
    """Each call's possible dependencies, inferred from timing: the online frontier of finished
    calls (see the module docstring).

    >>> deps = InferredDependencies()
    >>> a, pa = deps.start()        # two calls in flight together
    >>> b, pb = deps.start()
    >>> deps.finish(a, pa); deps.finish(b, pb)
    >>> c, pc = deps.start()        # started after both finished: joins them
    >>> (pa, pb, pc)
    ((), (), (1, 2))
    >>> deps.finish(c, pc)
    >>> deps.start()[1]             # the next call follows c only (a and b are its ancestors)
    (3,)
    """

    def __init__(self) -> None:
        self._next = 0
        self._frontier: dict[int, None] = {}  # insertion-ordered set of call ids
        self.in_flight = 0
        self.peak_in_flight = 0  # most calls running at once

    def start(self) -> tuple[int, tuple[int, ...]]:
        """A new call begins now: its id and its parents."""
        self._next += 1
        self.in_flight += 1
        if self.in_flight > self.peak_in_flight:
            self.peak_in_flight = self.in_flight
        return self._next, tuple(self._frontier)

    def finish(self, call_id: int, parents: tuple[int, ...]) -> None:
        """Call ``call_id`` (started with ``parents``) has finished now."""
        self.in_flight -= 1
        frontier = self._frontier
        for p in parents:
            frontier.pop(p, None)
        frontier[call_id] = None

    @property
    def started(self) -> int:
        """Calls started so far."""
        return self._next
