"""routing: k-task routing (paper §3.1) — one generalist, or a delegator and k specialists.

A stream of q queries arrives; each belongs to one of k tasks, is tagged by c metadata tokens and
carries n input tokens (the task kinds are in :mod:`hakaru.workloads._kinds_routing`).

- ``generalist`` — every query goes to one generalist M_g whose capability set holds all k task
  kinds; its size follows the paper's scaling assumption m_g = k·m_s (Eq. 3). Cost per query
  Θ(m_g·n) (Eq. 1).
- ``delegated`` — a delegator M_d (role ``delegator``) reads only the c metadata tokens and names
  the task; the specialist M_s^i of size m_s (role ``specialist``), whose capability set is that
  one task, reads the query and answers. Cost per query Θ(m_d) + Θ(m_s·n) (Eq. 2).

The AALP ratio generalist/delegated is k·m_s·n / (m_d·c + m_s·n) up to prompt overheads: Θ(k)
as n grows, or whenever m_d stays fixed (paper: put R&D into shrinking the specialists, not the
delegator). ``m_d = 0`` (the default) makes the delegator as large as the generalist, the safe
bound m_d ≤ m_g of §3.1. Queries run concurrently: depth 1 for the generalist, 2 delegated.
A delegator answer that names no existing task is red-flagged and resampled.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hakaru.backends.sim.models import SimModel
from hakaru.errors import ConfigError, RedFlag
from hakaru.patterns.redflag import sample_valid
from hakaru.tasks import task_kind
from hakaru.workloads._kinds_common import (
    MAX_NAMES,
    Tally,
    TallyRoles,
    sim_model,
    tag_of,
    total,
    words,
)
from hakaru.workloads._kinds_routing import (
    ANSWER_TOKENS,
    IDENTIFY,
    IDENTIFY_FIXED,
    SOLVE_FIXED,
    TASK_TOKENS,
    ensure_solve_kinds,
    solve_kind,
)
from hakaru.workloads.base import Models, Param, Params, Workload, WorkloadResult, register_workload

if TYPE_CHECKING:
    from hakaru.session import Session

__all__ = ["Query", "Routing"]

_ERRORS: dict[str, Any] = {"base_error": 0.001, "malformed_rate": 0.001}
_MAX_TOKENS = 16  # output cap of every call: answers are 2 to 4 tokens


@dataclass(frozen=True, slots=True)
class Query:
    """One query: its task, metadata (c words), input text (n words) and the right answer."""

    task: int
    meta: list[str]
    text: list[str]
    answer: str


@register_workload
class Routing(TallyRoles, Workload):
    name = "routing"
    description = "k-task routing: one generalist of size k·m_s, or a delegator + specialists."
    variants = ("generalist", "delegated")
    roles = ("generalist", "delegator", "specialist")
    optimistic, optimized = variants  # paper Table 1
    params = (
        Param("k", 4, "number of distinct tasks"),
        Param("n", 256, "input tokens per query", 2),
        Param("c", 4, "metadata tokens per query (what the delegator reads)"),
        Param("q", 8, "queries in the stream"),
        Param("m_s", 1, "specialist size m_s (the generalist has m_g = k·m_s)"),
        Param("m_d", 0, "delegator size m_d (0: as large as the generalist, k·m_s)", 0),
    )

    def resolve(self, variant: str | None, values: Mapping[str, Any]) -> tuple[str, dict[str, int]]:
        variant, out = super().resolve(variant, values)
        if out["k"] > MAX_NAMES:
            raise ConfigError(f"Parameter k of 'routing' is {out['k']}; at most {MAX_NAMES}")
        return variant, out

    @staticmethod
    def sizes(params: Mapping[str, int]) -> tuple[int, int, int]:
        """(m_g, m_d, m_s): the generalist's size is k·m_s (paper Eq. 3)."""
        m_g = params["k"] * params["m_s"]
        return m_g, params["m_d"] or m_g, params["m_s"]

    def sim_models(self, variant: str, params: Mapping[str, int]) -> list[SimModel]:
        k = params["k"]
        m_g, m_d, m_s = self.sizes(params)
        if variant == "generalist":
            caps = [solve_kind(i) for i in range(k)]
            return [sim_model("sim-route-generalist", m_g, caps, **_ERRORS)]
        return [
            sim_model("sim-route-delegator", m_d, [IDENTIFY], **_ERRORS),
            *(
                sim_model(f"sim-route-specialist-{i}", m_s, [solve_kind(i)], **_ERRORS)
                for i in range(k)
            ),
        ]

    def model_for(self, variant: str, params: Mapping[str, int], role: str) -> str:
        """The model of ``role``; ``specialist`` means specialist 0 (each task has its own)."""
        if role == "generalist":
            return "sim-route-generalist"
        return "sim-route-delegator" if role == "delegator" else "sim-route-specialist-0"

    @staticmethod
    def queries(params: Mapping[str, int], seed: int) -> list[Query]:
        """The stream of q queries of instance ``seed``.

        Each text holds its task's tag at an even position (a word follows it) and the tags of
        up to two other tasks, so that solving the wrong task gives a wrong answer.
        """
        k, n, c = params["k"], params["n"], params["c"]
        rng = random.Random(seed)
        out = []
        for _ in range(params["q"]):
            task = rng.randrange(k)
            meta = [tag_of(task), *words(rng, c - 1)]
            text = words(rng, n)
            slots = range(0, n - 1, 2)
            d = min(k - 1, 2, len(slots) - 1)
            places = rng.sample(slots, 1 + d)
            others = [x + (x >= task) for x in rng.sample(range(k - 1), d)]
            for place, t in zip(places, [task, *others], strict=True):
                text[place] = tag_of(t)
            out.append(Query(task, meta, text, text[places[0] + 1]))
        return out

    async def run(
        self, session: Session, variant: str, params: Params, *, seed: int, models: Models = None
    ) -> WorkloadResult:
        k = params["k"]
        ensure_solve_kinds(k)
        identify = task_kind(IDENTIFY)
        tags = {tag_of(i): i for i in range(k)}

        def known_task(text: str) -> int:
            tag = identify.parse(text)
            if tag not in tags:
                raise RedFlag(f"task {tag} is not one of the {k} tasks")
            return tags[tag]

        async def solve(model: str, role: str, task: int, query: Query) -> str:
            kind = task_kind(solve_kind(task))
            payload = {"meta": query.meta, "text": query.text}
            request = kind.request(model, payload, role=role, max_tokens=_MAX_TOKENS)
            response = await sample_valid(session, request, kind.parse)
            return str(response.parsed)

        async def answer(query: Query) -> str:
            if variant == "generalist":
                model = self.model("generalist", variant, params, models)
                return await solve(model, "generalist", query.task, query)
            payload = {"meta": query.meta, "tasks": k}
            delegator = self.model("delegator", variant, params, models)
            request = identify.request(delegator, payload, role="delegator", max_tokens=_MAX_TOKENS)
            task = int((await sample_valid(session, request, known_task)).parsed)
            specialist = self.model(
                "specialist", variant, params, models, default=f"sim-route-specialist-{task}"
            )
            return await solve(specialist, "specialist", task, query)

        queries = self.queries(params, seed)
        answers = await session.map(answer, queries)
        right = sum(a == qu.answer for a, qu in zip(answers, queries, strict=True))
        return WorkloadResult(
            right == len(queries),
            right,
            len(queries),
            details={"answers": answers, "tasks": [qu.task for qu in queries]},
        )

    def role_tallies(self, variant: str, params: Mapping[str, int]) -> dict[str, Tally]:
        """Predicted calls, tokens and AALP cost per role, with no errors (exact).

        Per query the generalist reads S + c + n tokens and writes ``answer: WORD``; the
        delegator reads S' + c and writes ``task TAG``; the specialist reads what the
        generalist reads (S, S' are the fixed prompt tokens).
        """
        n, c, q = params["n"], params["c"], params["q"]
        m_g, m_d, m_s = self.sizes(params)
        solver_in = SOLVE_FIXED + c + n  # tokens
        if variant == "generalist":
            generalist = Tally()
            generalist.add(m_g, solver_in, ANSWER_TOKENS, times=q)
            return {"generalist": generalist}
        delegator, specialist = Tally(), Tally()
        delegator.add(m_d, IDENTIFY_FIXED + c, TASK_TOKENS, times=q)
        specialist.add(m_s, solver_in, ANSWER_TOKENS, times=q)
        return {"delegator": delegator, "specialist": specialist}

    def analytic(self, variant: str, params: Mapping[str, int]) -> dict[str, float]:
        """Exact figures with no errors, and ``paper_aalp``: the paper's own cost of the stream.

        ``paper_aalp`` counts one forward pass over the n input tokens per query and no prompt
        overhead: q·m_g·n = q·k·m_s·n for the generalist (Eqs. 1, 3) and q·(m_d·c + m_s·n) for
        the delegated design (Eq. 2) — docs/papers.md, F10: k = 10, m_s = 1, m_d = 10,
        n = 10⁴, c = 4 gives 100,000 vs 10,040 per query.
        """
        n, c, q = params["n"], params["c"], params["q"]
        m_g, m_d, m_s = self.sizes(params)
        figures = total(self.role_tallies(variant, params)).figures(
            depth=1 if variant == "generalist" else 2
        )
        if variant == "generalist":
            figures["paper_aalp"] = float(q * m_g * n)
        else:
            figures["paper_aalp"] = float(q * (m_d * c + m_s * n))
        return figures
