"""sort: sort n items with an LLM that handles at most ``chunk`` items per call (paper §3.4).

The paper suggests sorting large documents as an exercise and gives no analysis; this workload
is that exercise, designed so its counts have closed forms.

- ``single`` — one call with all n items on a large generalist (size 70): its error rate grows
  as the items fill its context, and it fails like a real API (``ContextOverflow``) once they
  overflow it (16,384 tokens: about 8,000 items).
- ``merge`` — merge sort on a small model (size 1) whose capability set is ``sort:chunk`` and
  ``merge:chunk`` (Def. 2.3). The items are cut into p = ⌈n/h⌉ blocks of h = ⌊chunk/2⌋; one
  call (role ``sorter``) sorts each block; then Batcher's odd–even merge sort runs over the
  blocks, each comparator a *merge-split* call (role ``merger``): merge two sorted blocks
  (2h ≤ chunk items) and give the lower h to the first. A merge-split network sorts whenever
  the comparator network does (Knuth, TAOCP 3, §5.3.4; Baudet & Stevenson 1978), and its shape
  does not depend on the data — hence closed forms. For p = 2^t blocks:

      calls = 2^t + (t² − t + 4)·2^(t−2) − 1        depth = 1 + t(t+1)/2

  i.e. Θ((n/h)·log²(n/h)) calls of Θ(h) tokens each. For other p the network is that of the
  next power of two with the comparators that touch an empty block dropped (counted by
  :func:`plan`). Every call depends only on the calls that produced its two blocks, so the
  recorded DAG is the network itself.

Items are distinct four-letter keys (one token each); the final order is checked against the
truth, so ``correct`` reports whether the LLM's merges were all right.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hakaru.backends.sim.models import SimModel
from hakaru.patterns.redflag import sample_valid
from hakaru.tasks import task_kind
from hakaru.types import Response
from hakaru.workloads._kinds_common import Tally, TallyRoles, sim_model, total
from hakaru.workloads._kinds_sort import (
    MERGE,
    MERGE_FIXED,
    SORT,
    SORT_FIXED,
    SORTED_FIXED,
    check_permutation,
    keys,
)
from hakaru.workloads.base import Models, Param, Params, Workload, WorkloadResult, register_workload

if TYPE_CHECKING:
    from hakaru.session import Session

__all__ = ["Sort", "SortPlan", "batcher_layers", "sort_plan"]

GENERALIST_SIZE = 70.0
SORTER_SIZE = 1.0
_SLACK = 16  # output tokens allowed beyond the expected answer


def batcher_layers(wires: int) -> list[list[tuple[int, int]]]:
    """Layers of Batcher's odd–even merge sort on ``wires`` wires (comparator pairs i < j).

    The network is built for P = 2^⌈log₂ wires⌉; comparators touching a wire ≥ ``wires`` are
    dropped (those wires hold +∞, so the comparators would do nothing).

    >>> batcher_layers(4)
    [[(0, 1), (2, 3)], [(0, 2), (1, 3)], [(1, 2)]]
    >>> sum(map(len, batcher_layers(8)))   # (t² − t + 4)·2^(t−2) − 1 with t = 3
    19
    """
    size = 1
    while size < wires:
        size *= 2
    layers = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            layer = [
                (i + j, i + j + k)
                for j in range(k % p, size - k, 2 * k)
                for i in range(min(k, size - j - k))
                if (i + j) // (2 * p) == (i + j + k) // (2 * p) and i + j + k < wires
            ]
            if layer:
                layers.append(layer)
            k //= 2
        p *= 2
    return layers


@dataclass(slots=True)
class SortPlan:
    """The calls of the merge variant: block sizes, merge-split pairs, and the depth."""

    blocks: list[int] = field(default_factory=list)  # items per block
    layers: list[list[tuple[int, int]]] = field(default_factory=list)
    depth: int = 0


def sort_plan(n: int, chunk: int) -> SortPlan:
    """The merge variant's calls for n items and a merger of at most ``chunk`` items.

    >>> p = sort_plan(16, 4)            # 8 blocks of 2: 8 sorts + 19 merge-splits, depth 1 + 6
    >>> len(p.blocks), sum(map(len, p.layers)), p.depth
    (8, 19, 7)
    """
    h = chunk // 2
    blocks = [min(h, n - i) for i in range(0, n, h)]
    layers = batcher_layers(len(blocks))
    depth = [1 if size >= 2 else 0 for size in blocks]  # a one-item block needs no sort call
    for layer in layers:
        for i, j in layer:
            depth[i] = depth[j] = max(depth[i], depth[j]) + 1
    return SortPlan(blocks, layers, max(depth, default=0))


@register_workload
class Sort(TallyRoles, Workload):
    name = "sort"
    description = "Sort n items: merge sort with at most `chunk` items per call, or one call."
    variants = ("merge", "single")
    roles = ("sorter", "merger", "generalist")
    optimized, optimistic = variants  # the decomposition first, as in tree-sum
    params = (
        Param("n", 16, "how many items to sort"),
        Param("chunk", 4, "most items one merge variant call may handle", 2),
    )

    def sim_models(self, variant: str, params: Mapping[str, int]) -> list[SimModel]:
        if variant == "single":
            return [
                sim_model(
                    "sim-sort-generalist",
                    GENERALIST_SIZE,
                    ["*"],
                    context_window=16_384,
                    base_error=0.001,
                    max_error=0.6,
                    error_growth=1.0,
                    rho=0.5,
                    malformed_rate=0.001,
                )
            ]
        chunk = params["chunk"]
        return [
            sim_model(
                f"sim-sorter-{chunk}",
                SORTER_SIZE,
                [f"{SORT}:{chunk}", f"{MERGE}:{chunk}"],
                context_window=max(2048, 4 * chunk + 512),
                base_error=0.001,
                max_error=0.01,
                malformed_rate=0.001,
            )
        ]

    def model_for(self, variant: str, params: Mapping[str, int], role: str) -> str:
        return self.sim_models(variant, params)[0].name

    @staticmethod
    def items(n: int, seed: int) -> list[str]:
        """The n keys of instance ``seed``, unsorted."""
        return keys(n, random.Random(seed))

    async def run(
        self, session: Session, variant: str, params: Params, *, seed: int, models: Models = None
    ) -> WorkloadResult:
        n, chunk = params["n"], params["chunk"]
        items = self.items(n, seed)
        sort, merge = task_kind(SORT), task_kind(MERGE)

        async def sorted_by(model: str, role: str, block: list[str]) -> Response:
            request = sort.request(
                model,
                {"items": block},
                role=role,
                max_tokens=SORTED_FIXED + len(block) + _SLACK,
            )
            return await sample_valid(
                session, request, lambda text: check_permutation(sort.parse(text), block)
            )

        if variant == "single":
            model = self.model("generalist", variant, params, models)
            answer = list((await sorted_by(model, "generalist", items)).parsed) if n > 1 else items
        else:
            model = self.model("sorter", variant, params, models)
            merger = self.model("merger", variant, params, models)  # on sim: the sorter's model
            shape = sort_plan(n, chunk)
            h = chunk // 2
            blocks = [items[i : i + h] for i in range(0, n, h)]
            last: list[Response | None] = [None] * len(blocks)  # the call that made each block

            async def sort_block(i: int) -> None:
                last[i] = response = await sorted_by(model, "sorter", blocks[i])
                blocks[i] = list(response.parsed)

            async def merge_split(i: int, j: int) -> None:
                # Depend on exactly the calls that produced the two blocks (the network's DAG).
                session.after(*(r for r in (last[i], last[j]) if r is not None))
                lists = [blocks[i], blocks[j]]
                given = [*blocks[i], *blocks[j]]
                request = merge.request(
                    merger,
                    {"lists": lists},
                    role="merger",
                    max_tokens=SORTED_FIXED + len(given) + _SLACK,
                )
                response = await sample_valid(
                    session, request, lambda text: check_permutation(merge.parse(text), given)
                )
                merged = list(response.parsed)
                cut = len(blocks[i])
                blocks[i], blocks[j] = merged[:cut], merged[cut:]
                last[i] = last[j] = response

            await session.gather(*(sort_block(i) for i, b in enumerate(blocks) if len(b) > 1))
            for layer in shape.layers:
                await session.gather(*(merge_split(i, j) for i, j in layer))
            answer = [x for b in blocks for x in b]
        truth = sorted(items)
        misplaced = sum(a != t for a, t in zip(answer, truth, strict=True))
        return WorkloadResult(misplaced == 0, misplaced, 0, details={"misplaced": misplaced})

    def role_tallies(self, variant: str, params: Mapping[str, int]) -> dict[str, Tally]:
        """Predicted calls, tokens and AALP cost per role with no errors (exact).

        A sort call on s items reads S_sort + s tokens and writes F + s (``sorted:`` and the
        items); a merge-split of blocks of a and b items reads S_merge + a + b and writes
        F + a + b.
        """
        n = params["n"]
        if variant == "single":
            generalist = Tally()
            if n > 1:
                generalist.add(GENERALIST_SIZE, SORT_FIXED + n, SORTED_FIXED + n)
            return {"generalist": generalist}
        shape = sort_plan(n, params["chunk"])
        sorter, merger = Tally(), Tally()
        for size in shape.blocks:
            if size > 1:
                sorter.add(SORTER_SIZE, SORT_FIXED + size, SORTED_FIXED + size)
        for layer in shape.layers:
            for i, j in layer:
                both = shape.blocks[i] + shape.blocks[j]
                merger.add(SORTER_SIZE, MERGE_FIXED + both, SORTED_FIXED + both)
        return {"sorter": sorter, "merger": merger}

    def analytic(self, variant: str, params: Mapping[str, int]) -> dict[str, float]:
        """Exact figures with no errors (see the module docstring for the closed forms)."""
        roles = self.role_tallies(variant, params)
        if variant == "single":
            return total(roles).figures(depth=float(params["n"] > 1))
        return total(roles).figures(depth=sort_plan(params["n"], params["chunk"]).depth)
