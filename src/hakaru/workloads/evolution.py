"""evolution: LLM-driven evolutionary optimization of ONEMAX (paper §3.3), global or local.

A solution is k blocks of l tokens (n = k·l); its fitness f(x) is the number of correct blocks,
at most k. The search starts from a solution with every block incorrect and is greedy — a
mutant replaces x only if f(x') > f(x) (a (1+1)-EA) — until f(x) = k. The mutator M_u (role
``mutator``, size m_u) is an LLM call (:mod:`hakaru.workloads._kinds_evolution`): every block
it rewrites comes out correct with probability 1/2.

- ``global`` — ``x' ← M_u(x)``: each application reads and rewrites all n tokens, Θ(m_u·n²), and
  succeeds only when all k blocks come out correct at once, so the number of applications is
  geometric with mean 2^k; Θ(m_u·2^k·k²·l²) in all (Eq. 12). Capability ``mutate`` (any number
  of blocks).
- ``local`` — the block boundaries are an oracle decomposition (Def. 2.4) and M_u rewrites one
  block of l tokens per call, Θ(m_u·l²), capability ``mutate:1``; Θ(m_u·k·l²) in all (Eq. 13).

**The loop of the local variant.** Table 1 prints ``i ← i+1`` on every pass, which would leave a
block behind after one failed try; the Θ(m_u·k·l²) analysis needs each block retried until it
is correct. hakaru reads it that way: *stay on block i until it is correct, then advance* —
a geometric number of calls with mean 2 per initially incorrect block, 2k in expectation
(variance 2k). Reading it as "block i mod k" would give the same order, Θ(k), with a
messier constant.

Both loops are sequential (each application depends on the last), so depth = calls. The counts
are random: ``analytic`` gives expected values and their standard deviation (``calls_sd``);
``max_calls`` stops a run that would not finish (``correct`` is then false).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hakaru.backends.sim.models import SimModel
from hakaru.patterns.redflag import sample_valid
from hakaru.tasks import task_kind
from hakaru.workloads._kinds_common import Tally, TallyRoles, sim_model, words
from hakaru.workloads._kinds_evolution import (
    MUTATE,
    MUTATE_FIXED,
    check_blocks,
    incorrect_block,
)
from hakaru.workloads.base import Models, Param, Params, Workload, WorkloadResult, register_workload

if TYPE_CHECKING:
    from hakaru.session import Session

__all__ = ["Evolution"]

_ERRORS: dict[str, Any] = {"base_error": 0.001, "malformed_rate": 0.001}
_SLACK = 16  # output tokens allowed beyond the expected answer


@register_workload
class Evolution(TallyRoles, Workload):
    name = "evolution"
    description = "ONEMAX over k blocks: global mutation (2^k tries) or per-block mutation."
    variants = ("global", "local")
    roles = ("mutator",)
    optimistic, optimized = variants  # paper Table 1
    params = (
        Param("k", 4, "number of blocks"),
        Param("l", 8, "tokens per block"),
        Param("m_u", 1, "mutator size m_u"),
        Param("max_calls", 100_000, "stop after this many mutations (the run is then wrong)"),
    )

    def sim_models(self, variant: str, params: Mapping[str, int]) -> list[SimModel]:
        if variant == "global":
            return [sim_model("sim-mutator", params["m_u"], [MUTATE], **_ERRORS)]
        return [sim_model("sim-block-mutator", params["m_u"], [MUTATE + ":1"], **_ERRORS)]

    def model_for(self, variant: str, params: Mapping[str, int], role: str) -> str:
        return self.sim_models(variant, params)[0].name

    @staticmethod
    def instance(params: Mapping[str, int], seed: int) -> tuple[list[str], list[str]]:
        """(start, targets): k target blocks of l words and a start with every block wrong."""
        rng = random.Random(seed)
        targets = [" ".join(words(rng, params["l"])) for _ in range(params["k"])]
        return [incorrect_block(t, rng) for t in targets], targets

    async def run(
        self, session: Session, variant: str, params: Params, *, seed: int, models: Models = None
    ) -> WorkloadResult:
        k, l, cap = params["k"], params["l"], params["max_calls"]  # noqa: E741 (the paper's l)
        kind = task_kind(MUTATE)
        model = self.model("mutator", variant, params, models)
        x, targets = self.instance(params, seed)

        def fitness(blocks: Sequence[str]) -> int:  # f: the number of correct blocks
            return sum(b == t for b, t in zip(blocks, targets, strict=True))

        async def mutate(blocks: list[str], goals: list[str], nonce: str) -> list[str]:
            payload = {"blocks": blocks, "targets": goals, "nonce": nonce}
            request = kind.request(
                model, payload, role="mutator", max_tokens=len(blocks) * l + _SLACK
            )
            response = await sample_valid(
                session, request, lambda text: check_blocks(kind.parse(text), len(blocks), l)
            )
            return list(response.parsed)

        tries = 0  # applications of M_u
        if variant == "global":
            while fitness(x) < k and tries < cap:
                mutant = await mutate(x, targets, f"{seed}:{tries}")
                if fitness(mutant) > fitness(x):
                    x = mutant
                tries += 1
        else:
            for i in range(k):  # stay on block i until it is correct, then advance
                while x[i] != targets[i] and tries < cap:
                    block = await mutate([x[i]], [targets[i]], f"{seed}:{i}:{tries}")
                    mutant = [*x[:i], *block, *x[i + 1 :]]
                    if fitness(mutant) > fitness(x):
                        x = mutant
                    tries += 1
        f = fitness(x)
        return WorkloadResult(f == k, f, k, details={"mutations": tries})

    def role_tallies(self, variant: str, params: Mapping[str, int]) -> dict[str, Tally]:
        """Expected calls, tokens and AALP cost of the mutator with no errors.

        Global: 2^k applications (geometric, success probability 2^−k per try), each reading
        S + n and writing n tokens. Local: 2k applications (k geometric counts of mean 2), each
        reading S + l and writing l. Every application costs the same, so expected costs are
        the expected count times one call's cost.
        """
        k, l, m_u = params["k"], params["l"], params["m_u"]  # noqa: E741 (the paper's l)
        mutator = Tally()
        if variant == "global":
            mutator.add(m_u, MUTATE_FIXED + k * l, k * l, times=2.0**k)
        else:
            mutator.add(m_u, MUTATE_FIXED + l, l, times=2.0 * k)
        return {"mutator": mutator}

    def analytic(self, variant: str, params: Mapping[str, int]) -> dict[str, float]:
        """Expected figures with no errors, ``calls_sd`` and the paper's ``paper_aalp``.

        ``paper_aalp`` drops the prompt: global 2^k·m_u·(n² + n(n−1)/2) (Eq. 12), local
        2k·m_u·(l² + l(l−1)/2) (Eq. 13) — docs/papers.md, F10: k = 5, l = 20 gives 478,400 vs
        5,900.
        ``calls_sd`` is the standard deviation of the number of calls: √(1−2^−k)·2^k for a
        geometric count, √(2k) for a sum of k geometric counts of mean 2.
        """
        k, l, m_u = params["k"], params["l"], params["m_u"]  # noqa: E741 (the paper's l)
        mutator = self.role_tallies(variant, params)["mutator"]
        figures = mutator.figures(depth=mutator.calls)
        if variant == "global":
            n = k * l
            figures["calls_sd"] = math.sqrt(1.0 - 2.0**-k) * 2.0**k
            figures["paper_aalp"] = 2.0**k * m_u * (n * n + n * (n - 1) / 2)
        else:
            figures["calls_sd"] = math.sqrt(2.0 * k)
            figures["paper_aalp"] = 2.0 * k * m_u * (l * l + l * (l - 1) / 2)
        return figures
