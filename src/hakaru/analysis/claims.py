"""Measured growth next to a claimed improvement: does the ratio's fitted class agree?

A claim is an asymptotic expression such as the paper's (Meyerson & Qiu, Table 1) improvements
of the optimized design over the optimistic one: Θ(k) for k-task routing, Θ(b·k²) for iterative
debugging, Θ(2^k·k) for evolutionary optimization. A sweep varies one parameter (the
``variable``), so the claim is first reduced to that variable — b·k² is ``n²`` in k (b held
fixed) and ``n`` in b — and then mapped onto the eight classes hakaru fits. Polynomial factors on
top of an exponential are below the class set's resolution: 2^k·k maps to ``2ⁿ``, and a row says
so. A claim outside the class set (k^1.5, log² k) cannot be checked and is reported as such.

Verdicts: ``agrees`` (the ratio's class is the claimed one), ``consistent`` (the fit is ambiguous
and the claimed class is its runner-up), ``disagrees``, ``not comparable``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

from hakaru.analysis.classes import CLASSES, class_terms
from hakaru.analysis.result import FitResult
from hakaru.errors import ConfigError

__all__ = [
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
    """A claimed improvement (optimistic cost / optimized cost) and the variable it grows in."""

    workload: str
    claim: str  # as the paper writes it, without Θ
    variable: str  # the parameter a sweep varies to check it
    source: str


#: The paper's claimed improvements (Meyerson & Qiu, ICML 2025, Table 1).
PAPER_CLAIMS: Final[dict[str, PaperClaim]] = {
    "routing": PaperClaim("routing", "k", "k", "Table 1, k-task routing"),
    "debugging": PaperClaim("debugging", "b·k²", "k", "Table 1, iterative debugging"),
    "evolution": PaperClaim("evolution", "2^k·k", "k", "Table 1, evolutionary optimization"),
}

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
    r2: float | None
    verdict: Verdict
    note: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def check_claim(
    claim: str, ratio_fit: FitResult, *, variable: str = "n", label: str = ""
) -> ClaimCheck:
    """Whether a measured ratio's class agrees with a claimed improvement.

    >>> from hakaru.analysis import fit_series
    >>> k = [2, 4, 8, 16, 32, 64]
    >>> check_claim("k", fit_series(k, [3.5 * v for v in k]), variable="k").verdict
    'agrees'
    """
    expected, note = claimed_class(claim, variable)
    runner = ratio_fit.runner_up.complexity if ratio_fit.runner_up else None
    verdict: Verdict
    if expected is None:
        verdict = "not comparable"
    elif ratio_fit.complexity == expected:
        verdict = "agrees"
    elif ratio_fit.ambiguous and runner == expected:
        verdict = "consistent"
        note = (note + "; " if note else "") + (
            f"measured {ratio_fit.complexity}, but {expected} fits nearly as well"
        )
    else:
        verdict = "disagrees"
    if verdict == "agrees" and ratio_fit.ambiguous:
        note = (note + "; " if note else "") + f"ambiguous with {runner}"
    return ClaimCheck(
        label=label,
        claim=claim,
        variable=variable,
        expected=expected,
        measured=ratio_fit.complexity,
        runner_up=runner,
        ambiguous=ratio_fit.ambiguous,
        r2=ratio_fit.r2,
        verdict=verdict,
        note=note,
    )


def claim_table(measured: Iterable[tuple[str, FitResult]]) -> list[ClaimCheck]:
    """Check each workload's measured ratio against :data:`PAPER_CLAIMS`.

    ``measured`` pairs a workload name (``routing``, ``debugging``, ``evolution``) with the fit
    of its optimistic/optimized cost ratio swept over the claim's variable.
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
