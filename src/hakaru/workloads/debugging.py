"""debugging: iterative code debugging (paper §3.2) — role-play loop versus focused agents.

The code is n = k·l tokens: k functions of l tokens with b bugs, at most one per function (real
data, see :mod:`hakaru.workloads._kinds_debugging`). A QA engineer M_q (role ``qa``, size m_q)
finds bugs; a developer M_d (role ``developer``, size m_d) fixes them. ``correct`` says whether
the final code equals the bug-free code.

- ``roleplay`` — the anthropomorphic loop of AutoGen-style role-play:
  ``for i in 0…b−1: bug ← M_q(x); x ← M_d(bug, x)``. Both agents are fed the whole
  conversation — every earlier report and code version — so the i-th QA call reads about i·n
  tokens and writes a constant-size report, Θ(m_q·b²·n) in all (Eq. 4); the i-th developer call
  reads about i·n tokens and rewrites all n, Θ(m_d·i·n²) (Eq. 5), Θ(m_d·b²·n²) in all (Eq. 6).
  Sequential: depth 2b. Capabilities ``debug-find`` / ``debug-fix`` on the whole code.
- ``focused`` — ``for i in 0…k−1: bug ← M_q(x_i); if bug: x_i ← M_d(bug, x_i)``: QA reads one
  function at a time, Θ(m_q·k·l) (Eq. 8); the developer reads and rewrites only the buggy
  function, Θ(m_d·l²·b) (Eq. 9). Functions are independent (the paper's perfect specifications),
  so they run concurrently: depth 2 (1 with no bug). Capabilities ``debug-find:1`` /
  ``debug-fix:1``: one function per call, the smaller capability set of Def. 2.3.

Both variants use models of the same sizes, as the paper's comparison does ("even without using
smaller models"); the improvement for the developer is Θ(b·k²) (Eq. 11).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hakaru.backends.sim.models import SimModel
from hakaru.errors import ConfigError
from hakaru.patterns.redflag import sample_valid
from hakaru.tasks import task_kind
from hakaru.workloads._kinds_common import MAX_NAMES, Tally, TallyRoles, sim_model, total
from hakaru.workloads._kinds_debugging import (
    ASK_TOKENS,
    DEV_FIXED,
    FIND,
    FIX,
    NO_BUG,
    NO_BUG_TOKENS,
    QA_FIXED,
    REPORT_TOKENS,
    TURN_TOKENS,
    check_shape,
    make_code,
)
from hakaru.workloads.base import Models, Param, Params, Workload, WorkloadResult, register_workload

if TYPE_CHECKING:
    from hakaru.session import Session

__all__ = ["Debugging"]

# Errors grow (slowly) as a long conversation fills the context: the role-play loop's history
# makes its agents less reliable as well as more expensive.
_ERRORS: dict[str, Any] = {
    "base_error": 0.001,
    "max_error": 0.05,
    "error_growth": 2.0,
    "malformed_rate": 0.001,
}
_SLACK = 16  # output tokens allowed beyond the expected answer (red-flags rambling)


@register_workload
class Debugging(TallyRoles, Workload):
    name = "debugging"
    description = "Fix b bugs in k functions: a role-play loop with full history, or focused."
    variants = ("roleplay", "focused")
    roles = ("qa", "developer")
    optimistic, optimized = variants  # paper Table 1
    params = (
        Param("k", 4, "number of functions"),
        Param("l", 12, "tokens per function (def NAME + 3 spec words + body)", 6),
        Param("b", 2, "number of bugs, at most one per function (b <= k)", 0),
        Param("m_q", 1, "QA engineer size m_q"),
        Param("m_d", 1, "developer size m_d"),
    )

    def resolve(self, variant: str | None, values: Mapping[str, Any]) -> tuple[str, dict[str, int]]:
        variant, out = super().resolve(variant, values)
        if out["b"] > out["k"]:
            raise ConfigError(
                f"Parameter b of 'debugging' is {out['b']}; it must be at most k = {out['k']} "
                "(one bug per function at most)"
            )
        if out["k"] > MAX_NAMES:
            raise ConfigError(f"Parameter k of 'debugging' is {out['k']}; at most {MAX_NAMES}")
        return variant, out

    def sim_models(self, variant: str, params: Mapping[str, int]) -> list[SimModel]:
        bound = "" if variant == "roleplay" else ":1"
        suffix = "" if variant == "roleplay" else "-fn"
        return [
            sim_model(f"sim-qa{suffix}", params["m_q"], [FIND + bound], **_ERRORS),
            sim_model(f"sim-developer{suffix}", params["m_d"], [FIX + bound], **_ERRORS),
        ]

    def model_for(self, variant: str, params: Mapping[str, int], role: str) -> str:
        qa, developer = self.sim_models(variant, params)
        return qa.name if role == "qa" else developer.name

    @staticmethod
    def code(params: Mapping[str, int], seed: int) -> tuple[list[str], list[str]]:
        """(buggy code, correct code) of instance ``seed``: lists of k function lines."""
        return make_code(params["k"], params["l"], params["b"], random.Random(seed))

    async def run(
        self, session: Session, variant: str, params: Params, *, seed: int, models: Models = None
    ) -> WorkloadResult:
        k, l, b = params["k"], params["l"], params["b"]  # noqa: E741 (the paper's l)
        find, fix = task_kind(FIND), task_kind(FIX)
        qa = self.model("qa", variant, params, models)
        developer = self.model("developer", variant, params, models)
        buggy, truth = self.code(params, seed)

        async def report(payload: dict[str, Any]) -> str:
            request = find.request(qa, payload, role="qa", max_tokens=REPORT_TOKENS + _SLACK)
            return str((await sample_valid(session, request, find.parse)).parsed)

        async def rewrite(payload: dict[str, Any], names: list[str]) -> list[str]:
            out_tokens = len(names) * l
            request = fix.request(
                developer, payload, role="developer", max_tokens=out_tokens + _SLACK
            )
            response = await sample_valid(
                session, request, lambda text: check_shape(fix.parse(text), names, l)
            )
            return list(response.parsed)

        names = [f.split()[1] for f in buggy]
        if variant == "roleplay":
            turns: list[list[Any]] = []
            for _ in range(b):
                bug = await report({"code": buggy, "turns": turns})
                code = await rewrite({"code": buggy, "turns": turns, "report": bug}, names)
                turns = [*turns, [bug, code]]  # a new list: earlier payloads stay as sent
            final = list(turns[-1][1]) if turns else list(buggy)
        else:

            async def one(i: int) -> str:
                payload: dict[str, Any] = {"code": [buggy[i]], "turns": []}
                bug = await report(payload)
                if bug == NO_BUG:
                    return buggy[i]
                return (await rewrite({**payload, "report": bug}, [names[i]]))[0]

            final = await session.map(one, range(k))
        left = sum(f != t for f, t in zip(final, truth, strict=True))
        return WorkloadResult(left == 0, left, 0, details={"functions_wrong": left})

    def role_tallies(self, variant: str, params: Mapping[str, int]) -> dict[str, Tally]:
        """Predicted calls, tokens and AALP cost per role with no errors (exact).

        Role-play, iteration i = 1…b: the conversation holds i code versions (n = k·l tokens
        each) and i−1 earlier turns (report and labels, T tokens each). QA reads
        S_q + i·n + (i−1)·T and writes R report tokens; the developer reads S_d + i·n + (i−1)·T
        plus the new report and writes n. Summed: Σi = b(b+1)/2 and Σ(i−1) = b(b−1)/2 (the
        exact forms of Eqs. 4–6). Focused: k QA calls read S_q + l, b developer calls read
        S_d + l + report and write l (Eqs. 8–9).
        """
        k, l, b, m_q, m_d = (params[p] for p in ("k", "l", "b", "m_q", "m_d"))  # noqa: E741 (the paper's l)
        qa, developer = Tally(), Tally()
        if variant == "roleplay":
            n = k * l  # tokens of the code
            history = n * b * (b + 1) // 2 + TURN_TOKENS * b * (b - 1) // 2  # Σ over iterations
            qa.add_series(m_q, b * QA_FIXED + history, REPORT_TOKENS, times=b)
            developer.add_series(m_d, b * (DEV_FIXED + ASK_TOKENS) + history, n, times=b)
        else:
            qa.add(m_q, QA_FIXED + l, REPORT_TOKENS, times=b)
            qa.add(m_q, QA_FIXED + l, NO_BUG_TOKENS, times=k - b)
            developer.add(m_d, DEV_FIXED + l + ASK_TOKENS, l, times=b)
        return {"qa": qa, "developer": developer}

    def analytic(self, variant: str, params: Mapping[str, int]) -> dict[str, float]:
        """Exact figures with no errors, and ``paper_aalp``, the paper's sums (docs/papers.md, F10).

        ``paper_aalp`` drops prompt overheads: QA reads i·n and emits one token, the developer
        reads i·n and writes n (role-play: m_q·n·Σi + m_d·Σ(i·n² + n(n−1)/2), Eqs. 4–7);
        focused QA reads l and emits one token, the developer reads and writes l
        (m_q·k·l + m_d·b·(l² + l(l−1)/2), Eqs. 8–10). k = 10, l = 100, b = 5 gives
        17,512,500 vs 75,750.
        """
        k, l, b, m_q, m_d = (params[p] for p in ("k", "l", "b", "m_q", "m_d"))  # noqa: E741 (the paper's l)
        roles = self.role_tallies(variant, params)
        if variant == "roleplay":
            n = k * l
            tri = b * (b + 1) // 2
            figures = total(roles).figures(depth=2 * b)
            figures["paper_aalp"] = float(
                m_q * n * tri + m_d * (n * n * tri + b * n * (n - 1) // 2)
            )
        else:
            figures = total(roles).figures(depth=1 + (b > 0))
            figures["paper_aalp"] = float(m_q * k * l + m_d * b * (l * l + l * (l - 1) // 2))
        return figures
