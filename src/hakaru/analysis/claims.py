"""Measured growth next to a claimed improvement: does the ratio's fitted class agree?

A claim is an asymptotic expression such as the paper's (Meyerson & Qiu, "Position: Scaling
LLM Agents Requires Asymptotic Analysis with LLM Primitives", ICML 2025, arXiv 2502.04358,
Table 1) improvements of the optimized design over the optimistic one: Θ(k) for k-task routing,
Θ(b·k²) for iterative debugging, Θ(2^k·k) for evolutionary optimization. A sweep varies one
parameter (the ``variable``), so the claim is first reduced to that variable — b·k² is ``n²`` in
k (b held fixed) and ``n`` in b — and then mapped onto the eight classes hakaru fits. Polynomial
factors on top of an exponential are below the class set's resolution: 2^k·k maps to ``2ⁿ``, and
a row says so. A claim outside the class set (k^1.5, log² k) cannot be checked and is reported as
such.

The measured side is normally a :class:`~hakaru.analysis.ratio.RatioClass`, the ratio's class
derived from the two designs' fitted curves (:func:`hakaru.analysis.compare.compare`); a
:class:`~hakaru.analysis.FitResult` of a ratio series measured directly works too.

Verdicts: ``agrees`` (the ratio's class is the claimed one), ``consistent`` (the class is
ambiguous and the claimed one is among the close alternatives), ``disagrees``, ``not
comparable``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

from hakaru.analysis.classes import CLASSES, class_terms
from hakaru.analysis.ratio import RatioClass
from hakaru.analysis.result import FitResult
from hakaru.errors import ConfigError

__all__ = [
    "EXACT_ON_SIM",
    "PAPER_CLAIMS",
    "ClaimCheck",
    "PaperClaim",
    "check_claim",
    "claim_table",
    "claimed_class",
]

Verdict = Literal["agrees", "consistent", "disagrees", "not comparable"]


@dataclass(frozen=True)
class PaperClaim:
    """A claimed improvement (optimistic cost / optimized cost) and the variable it grows in.

    ``role``: the role whose share the claim is about, when it is not the whole system's (a
    report then checks both, each with its own verdict); ``system_note``: why the whole
    system's ratio need not follow the claim.
    """

    workload: str
    claim: str  # as the paper writes it, without Θ
    variable: str  # the parameter a sweep varies to check it
    source: str
    role: str | None = None
    system_note: str = ""


#: The paper's claimed improvements (Meyerson & Qiu, ICML 2025, Table 1). Debugging's Θ(b·k²)
#: is the developer's improvement, "the dominant one" (Eq. 11); the focused design's QA cost is
#: Θ(m_q·k·l) (Eqs. 8 and 10) — intrinsic: QA reads every function once —, so by Eqs. 7 and 10
#: the whole system's ratio grows as k in k, not as k².
PAPER_CLAIMS: Final[dict[str, PaperClaim]] = {
    "routing": PaperClaim("routing", "k", "k", "Table 1, k-task routing"),
    "debugging": PaperClaim(
        "debugging",
        "b·k²",
        "k",
        "Table 1, iterative debugging; Eq. 11",
        role="developer",
        system_note="Table 1's Θ(b·k²) is the developer's share (Eq. 11); the focused QA engineer "
        "reads all k functions, Θ(m_q·k·l) (Eqs. 8, 10), so the whole system's ratio grows only "
        "as k in k (Eqs. 7, 10)",
    ),
    "evolution": PaperClaim("evolution", "2^k·k", "k", "Table 1, evolutionary optimization"),
}

#: What a verdict means on the simulated LLM, in one plain sentence (README, demo, report).
EXACT_ON_SIM: Final[str] = (
    'On the simulated LLM every "agrees" is exact by construction — the simulated counts equal '
    "the paper's cost models, m_g = k·m_s is a parameter and a mutation succeeds with "
    "probability 1/2 by definition — so these rows check hakaru's implementation and fitter "
    "against the paper's algebra; they are not an empirical test of LLMs."
)

_FACTOR = re.compile(
    r"(?P<base>\d+(?:\.\d+)?)\^(?P<expvar>[a-z]\w*)"  # 2^k
    r"|log(?P<logvar>[a-z]\w*)(?:\^(?P<logpow>\d+))?"  # log k, log k^2 (of log)
    r"|(?P<var>[a-z]\w*)(?:\^(?P<pow>\d+(?:\.\d+)?))?"  # k, k^2
    r"|(?P<num>\d+(?:\.\d+)?)"  # constants
)


def _normalize(expr: str) -> str:
    s = expr.strip().lower().replace("θ", "").replace("theta", "")
    if re.fullmatch(r"o?\(.*\)", s):
        s = s[s.index("(") + 1 : -1]
    for sup, plain in (("²", "^2"), ("³", "^3"), ("ⁿ", "^n"), ("ᵏ", "^k"), ("**", "^")):
        s = s.replace(sup, plain)
    s = re.sub(r"log\s*\(\s*(\w+)\s*\)", r"log\1", s)
    s = re.sub(r"\blog\s+", "log", s)
    s = re.sub(r"\s*\^\s*", "^", s)
    return s


def claimed_class(claim: str, variable: str = "n") -> tuple[str | None, str]:
    """The class a claim predicts in ``variable``, and a note on the mapping.

    Other variables are held fixed. Returns ``(None, why)`` for a claim outside the class set.

    >>> claimed_class("Θ(b·k²)", "k")
    ('n²', '')
    >>> claimed_class("2^k·k", "k")[0]
    '2ⁿ'
    """
    power = 0.0
    log_power = 0
    exponential = False
    text = _normalize(claim)
    for factor in re.split(r"[·*×⋅\s]+", text):
        if not factor:
            continue
        m = _FACTOR.fullmatch(factor)
        if m is None:
            raise ConfigError(
                f"cannot read the claim {claim!r} (at {factor!r}). Write factors separated by "
                "'·' or '*', e.g. 'b·k^2', '2^k·k', 'k log k'"
            )
        if m["expvar"] == variable:
            exponential = True
        elif m["logvar"] == variable:
            log_power += int(m["logpow"] or 1)
        elif m["var"] == variable:
            power += float(m["pow"] or 1)
    if exponential:
        note = ""
        if power or log_power:
            note = f"{claim} is reported as 2ⁿ: polynomial factors on top of 2ⁿ are not resolved"
        return "2ⁿ", note
    for name in CLASSES:
        p, lp, exp = class_terms(name)
        if not exp and p == power and lp == log_power:
            return name, ""
    return None, f"{claim} in {variable} is not one of the classes {', '.join(CLASSES)}"


@dataclass(frozen=True)
class ClaimCheck:
    """One row of the claims table: the claim, its class, the measured ratio class, the verdict."""

    label: str
    claim: str
    variable: str
    expected: str | None  # the claim's class in ``variable``; None if outside the class set
    measured: str
    runner_up: str | None
    ambiguous: bool
    r2: float | None  # of a fitted ratio series; None for a ratio derived from two fits
    verdict: Verdict
    note: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def check_claim(
    claim: str, ratio: RatioClass | FitResult, *, variable: str = "n", label: str = ""
) -> ClaimCheck:
    """Whether a measured ratio's class agrees with a claimed improvement.

    >>> from hakaru.analysis import fit_series
    >>> from hakaru.analysis.ratio import ratio_class
    >>> k = [2, 4, 8, 16, 32, 64]
    >>> check_claim("k", fit_series(k, [3.5 * v for v in k]), variable="k").verdict
    'agrees'
    >>> derived = ratio_class(fit_series(k, [v**3 for v in k]), fit_series(k, [9 * v for v in k]))
    >>> check_claim("b·k²", derived, variable="k").verdict
    'agrees'
    """
    expected, note = claimed_class(claim, variable)
    if isinstance(ratio, RatioClass):
        measured, alternatives = ratio.complexity, ratio.alternatives
        runner, r2 = ratio.runner_up, None
        if not (expected == measured == "2ⁿ"):  # else the claim's own note says the same
            note = _join(note, *ratio.notes)
        determined = ratio.determined
    else:
        measured = ratio.complexity
        runner = ratio.runner_up.complexity if ratio.runner_up else None
        alternatives = (measured, runner) if ratio.ambiguous and runner else (measured,)
        r2, determined = ratio.r2, True
    verdict: Verdict
    if expected is None or not determined:
        verdict = "not comparable"
    elif measured == expected:
        verdict = "agrees"
    elif expected in alternatives:
        verdict = "consistent"
        note = _join(note, f"measured {measured}, but {expected} fits nearly as well")
    else:
        verdict = "disagrees"
    if verdict == "agrees" and len(alternatives) > 1:
        note = _join(note, f"ambiguous with {runner}")
    return ClaimCheck(
        label=label,
        claim=claim,
        variable=variable,
        expected=expected,
        measured=measured,
        runner_up=runner,
        ambiguous=len(alternatives) > 1,
        r2=r2,
        verdict=verdict,
        note=note,
    )


def claim_table(measured: Iterable[tuple[str, RatioClass | FitResult]]) -> list[ClaimCheck]:
    """Check each workload's measured ratio against :data:`PAPER_CLAIMS`.

    ``measured`` pairs a workload name (``routing``, ``debugging``, ``evolution``) with the
    class of its optimistic/optimized cost ratio over the claim's variable (a
    :class:`~hakaru.analysis.ratio.RatioClass` from ``compare``, or a fit of the ratio series).
    """
    rows = []
    for workload, fit in measured:
        paper = PAPER_CLAIMS.get(workload)
        if paper is None:
            raise ConfigError(
                f"no claim is recorded for workload {workload!r}. Known: {', '.join(PAPER_CLAIMS)}"
            )
        rows.append(check_claim(paper.claim, fit, variable=paper.variable, label=workload))
    return rows
