"""tree-sum: add n numbers with an LLM whose skill is adding at most f numbers per call.

Variants:

- ``tree`` — a reduction tree of fan-in f on a tiny adder (capability ``sum:f``, paper Def. 2.3):
  ⌈n/f⌉ + ⌈n/f²⌉ + … calls in ⌈log_f n⌉ levels (n = 64, f = 4: 21 calls, depth 3);
- ``single`` — one call with all n numbers on a large generalist: one call whose error rate grows
  as the numbers fill its context, and which fails like a real API once they overflow it.

Numbers (the leaves) are drawn uniformly from 0..``leaf_max`` (default 999) with the run's seed.
A malformed answer is red-flagged and resampled (``hakaru.patterns.sample_valid``); a wrong
partial sum propagates, so ``correct`` reports whether the final answer equals the true sum.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from hakaru.backends.sim.models import SimModel
from hakaru.patterns.redflag import sample_valid
from hakaru.patterns.tree_reduce import tree_reduce, tree_shape
from hakaru.tasks import task_kind
from hakaru.workloads.base import Models, Param, Params, Workload, WorkloadResult, register_workload

if TYPE_CHECKING:
    from hakaru.session import Session

__all__ = ["TreeSum"]

#: The large generalist of the ``single`` variant (its context holds about 8,000 numbers).
GENERALIST = SimModel(
    "sim-sum-generalist",
    size=70.0,
    context_window=16_384,
    price_in=0.9,
    price_out=0.9,
    capabilities=frozenset({"*"}),
    base_error=0.001,
    max_error=0.6,
    error_growth=1.0,
    rho=0.5,
    malformed_rate=0.001,
    ttft=0.4,
    prefill_tps=4000,
    decode_tps=40,
)


def adder(fan_in: int) -> SimModel:
    """The tiny specialist of the ``tree`` variant: it adds at most ``fan_in`` numbers."""
    return SimModel(
        f"sim-adder-{fan_in}",
        size=0.5,
        context_window=2048,
        price_in=0.02,
        price_out=0.04,
        capabilities=frozenset({f"sum:{fan_in}"}),
        base_error=0.001,
        max_error=0.05,
        rho=0.1,
        malformed_rate=0.002,
        ttft=0.02,
        prefill_tps=50_000,
        decode_tps=400,
    )


@register_workload
class TreeSum(Workload):
    name = "tree-sum"
    description = "Add n numbers: a reduction tree of fan-in f, or one call with everything."
    variants = ("tree", "single")
    roles = ("adder", "generalist")
    optimistic = "single"
    optimized = "tree"
    params = (
        Param("n", 64, "how many numbers to add"),
        Param("fan_in", 4, "numbers per call in the tree variant (the adder's skill f)", 2),
        Param("leaf_max", 999, "the numbers (leaves) are drawn from 0..leaf_max", optional=True),
    )

    def sim_models(self, variant: str, params: Mapping[str, int]) -> list[SimModel]:
        return [adder(params["fan_in"])] if variant == "tree" else [GENERALIST]

    def model_for(self, variant: str, params: Mapping[str, int], role: str) -> str:
        return self.sim_models(variant, params)[0].name

    @staticmethod
    def numbers(n: int, seed: int, leaf_max: int = 999) -> list[int]:
        rng = random.Random(seed)
        return [rng.randrange(leaf_max + 1) for _ in range(n)]

    async def run(
        self, session: Session, variant: str, params: Params, *, seed: int, models: Models = None
    ) -> WorkloadResult:
        n, fan_in = params["n"], params["fan_in"]
        numbers = self.numbers(n, seed, params.get("leaf_max", 999))
        kind = task_kind("sum")
        role = "adder" if variant == "tree" else "generalist"
        model = self.model(role, variant, params, models)

        async def add(group: Sequence[int]) -> int:
            request = kind.request(model, {"numbers": list(group)}, role=role, max_tokens=64)
            response = await sample_valid(session, request, kind.parse)
            return int(response.parsed)

        if variant == "tree":
            total = await tree_reduce(session, numbers, add, fan_in=fan_in)
        else:
            total = numbers[0] if n == 1 else await add(numbers)
        expected = sum(numbers)
        return WorkloadResult(total == expected, total, expected)

    def analytic(self, variant: str, params: Mapping[str, int]) -> dict[str, float]:
        """Calls and depth with no flagged responses: the tree's shape, or one call."""
        n, fan_in = params["n"], params["fan_in"]
        if variant == "tree":
            levels = tree_shape(n, fan_in)
            return {"calls": float(sum(levels)), "depth": float(len(levels))}
        return {"calls": float(n > 1), "depth": float(n > 1)}
