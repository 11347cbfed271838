"""Gate strength g ∈ [0, 1] as the gates hakaru really has: a vote, a verifier, red-flag checks.

The model of :mod:`hakaru.gates.model` speaks of an abstract strength g. Here each mechanism
turns g into its own knob, by an explicit linear map, and runs the gate through the
:class:`~hakaru.session.Session` so that every call it costs is counted:

==========  ========================================  =========================================
mechanism   g ↦ knob (``GateConfig`` defaults)         what the gate does to one step
==========  ========================================  =========================================
``vote``    margin k = 1 + (k_max − 1)·g, k_max = 5    first-to-ahead-by-k voting on the worker's
                                                       samples (:func:`~hakaru.patterns.vote.vote`);
                                                       k = 1 is a single sample: no gate
``verifier`` threshold θ = θ_max·g, θ_max = 100        a verifier call scores the answer 0–100;
                                                       the answer ships when score ≥ θ, else the
                                                       worker resamples; at g = 0 no call is made
``redflag`` checks n = N·g, N = len(moduli) = 4        n cheap check calls each compute the sum
                                                       modulo m_i (m = 3, 4, 5, 7, in this order);
                                                       a residue that disagrees with the answer's
                                                       is a red flag (``DomainFlag``): the answer
                                                       is discarded and the worker resamples
==========  ========================================  =========================================

A fractional k or n (g between grid points) is *dithered*: a step uses ⌊x⌋ or ⌈x⌉, the latter
with probability x − ⌊x⌋, drawn from a uniform the caller derives from the step (so a sweep is
reproducible and the mean knob is exactly x). The verifier and red-flag gates give up after
``max_attempts`` worker answers and raise :class:`~hakaru.errors.StepFailed`; the vote after
its own caps.

Why these mechanisms behave like the model (seed §3–§4), and where they do not:

- **red flags** are the seed's "cascade of filters": a wrong answer is off by a random amount
  (:class:`~hakaru.gates.simulated.GateSumKind`), so a mod-m check misses it with probability
  1/m, independently for coprime moduli (Chinese remainder theorem); n checks let ∏ 1/m_i
  through — rework falls geometrically in n, i.e. exponentially in g. Each check is one
  small-model call (linear overhead); a checker's own error flags a right answer now and then
  (a false alarm: a retry).
- **the verifier** scores with the distributions of
  :class:`~hakaru.gates.simulated.VerdictKind` — our assumption, like a sim model's error rate:
  a wrong answer's score has an exponential tail (mean 15), so the fraction passing θ is
  e^(−θ/15) (exponential in g); a right answer scores 100, but 30 % of the time the verifier is
  unsure and scores it uniformly, so θ turns away 0.3·θ/101 of the right answers (retries:
  overhead linear in g). Its one call per attempt costs the same at every g > 0: that part of
  the overhead jumps at g = 0 instead of growing with g.
- **voting** removes errors fastest (a wrong answer must win k votes ahead) but each unit of
  margin costs about one more full sample: throughput falls as 1/k, far from the seed's linear
  overhead with α < 1. It pays only when rework is expensive (docs/gates.md).

Everything is measured on the simulated LLM (:mod:`hakaru.backends.sim`): the worker, checker
and verifier are :class:`~hakaru.backends.sim.SimModel` s with error rates, latencies and
prices, defined with the task kinds in :mod:`hakaru.gates.simulated` (re-exported here); rework
is what ground truth finds wrong after the gate (:mod:`hakaru.gates.sweep`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from hakaru.backends.sim.models import SimModel
from hakaru.errors import ConfigError, RedFlag, StepFailed

# Importing it registers the gate-sum, gate-residue and gate-verdict task kinds.
from hakaru.gates.simulated import (
    CHECKER,
    GATE_SUM,
    RESIDUE,
    VERDICT,
    VERIFIER,
    WORKER,
    GateSumKind,
    ResidueKind,
    VerdictKind,
    uniform,
)
from hakaru.patterns.redflag import sample_valid
from hakaru.patterns.validators import strict
from hakaru.patterns.vote import vote

if TYPE_CHECKING:
    from hakaru.session import Session

__all__ = [
    "CHECKER",
    "MECHANISMS",
    "VERIFIER",
    "WORKER",
    "GateConfig",
    "GateSetting",
    "GateSumKind",
    "Mechanism",
    "ResidueKind",
    "VerdictKind",
    "dither",
    "gate_setting",
    "gated_sum",
    "redflag_checks",
    "uniform",
    "verifier_threshold",
    "vote_margin",
]

Mechanism = Literal["vote", "verifier", "redflag"]
MECHANISMS: tuple[Mechanism, ...] = ("vote", "verifier", "redflag")


# --- the three maps -------------------------------------------------------------------------


def _check_g(g: float) -> float:
    if not (isinstance(g, int | float) and 0.0 <= g <= 1.0):
        raise ConfigError(f"gate strength g must be in [0, 1], got {g!r}")
    return float(g)


def vote_margin(g: float, k_max: int = 5) -> float:
    """The vote margin at strength g: k = 1 + (k_max − 1)·g (k = 1: one sample, no vote).

    >>> vote_margin(0.0), vote_margin(0.5), vote_margin(1.0)
    (1.0, 3.0, 5.0)
    """
    return 1.0 + (k_max - 1) * _check_g(g)


def verifier_threshold(g: float, threshold_max: float = 100.0) -> float:
    """The verifier's pass threshold at strength g, in score points: θ = θ_max·g.

    >>> verifier_threshold(0.25), verifier_threshold(1.0)
    (25.0, 100.0)
    """
    return threshold_max * _check_g(g)


def redflag_checks(g: float, n_max: int = 4) -> float:
    """How many red-flag checks run at strength g: n = n_max·g (dithered when fractional).

    >>> redflag_checks(0.5), redflag_checks(0.6)
    (2.0, 2.4)
    """
    return n_max * _check_g(g)


def dither(level: float, u: float) -> int:
    """⌊level⌋, or ⌈level⌉ when ``u`` (uniform in [0, 1)) falls below its fractional part.

    >>> dither(2.0, 0.9), dither(2.4, 0.3), dither(2.4, 0.5)
    (2, 3, 2)
    """
    whole = math.floor(level)
    return whole + (1 if u < level - whole else 0)


@dataclass(frozen=True)
class GateConfig:
    """How strength maps onto each mechanism, and the simulated models that do the work.

    >>> GateConfig().setting("redflag", 0.5).describe()
    '2 checks (mod 3, 4)'
    """

    k_max: int = 5  # vote margin at g = 1 (k = 1, a single sample, at g = 0)
    threshold_max: float = 100.0  # verifier pass threshold at g = 1, score points of 100
    moduli: tuple[int, ...] = (3, 4, 5, 7)  # red-flag residue checks, added in this order
    max_attempts: int = 8  # worker answers per step before a verifier/red-flag gate gives up
    worker: SimModel = WORKER
    checker: SimModel = CHECKER
    verifier: SimModel = VERIFIER

    def __post_init__(self) -> None:
        if self.k_max < 1:
            raise ConfigError(f"k_max is {self.k_max}. Use a vote margin of at least 1")
        if not 0.0 < self.threshold_max <= 100.0:
            raise ConfigError(f"threshold_max is {self.threshold_max:g}. Give a score in (0, 100]")
        if not self.moduli or any(m < 2 for m in self.moduli):
            raise ConfigError(f"moduli {self.moduli} are invalid. Give at least one modulus >= 2")
        if self.max_attempts < 1:
            raise ConfigError(f"max_attempts is {self.max_attempts}. Allow at least 1")

    def models(self) -> list[SimModel]:
        """The simulated models a gate sweep adds to the sim backend."""
        return [self.worker, self.checker, self.verifier]

    def with_worker_error(self, rate: float) -> GateConfig:
        """This config with the worker's wrong-answer rate set to ``rate`` (per call)."""
        if not 0.0 <= rate < 1.0:
            raise ConfigError(f"the worker's error rate is {rate:g}. Give a probability in [0, 1)")
        return replace(self, worker=replace(self.worker, base_error=rate, max_error=rate))

    def setting(self, mechanism: str, g: float) -> GateSetting:
        """The concrete gate for ``mechanism`` at strength ``g`` (see the module table)."""
        if mechanism == "vote":
            level = vote_margin(g, self.k_max)
        elif mechanism == "verifier":
            level = verifier_threshold(g, self.threshold_max)
        elif mechanism == "redflag":
            level = redflag_checks(g, len(self.moduli))
        else:
            raise ConfigError(
                f"Unknown gate mechanism '{mechanism}'. Choose one of: {', '.join(MECHANISMS)}"
            )
        return GateSetting(mechanism, float(g), level, self)  # type: ignore[arg-type]


def gate_setting(mechanism: str, g: float, config: GateConfig | None = None) -> GateSetting:
    """``(config or GateConfig()).setting(mechanism, g)``.

    >>> gate_setting("vote", 0.25).describe()
    'k = 2'
    """
    return (config or GateConfig()).setting(mechanism, g)


@dataclass(frozen=True)
class GateSetting:
    """One mechanism at one strength: ``level`` is k (vote), θ (verifier) or n (red flags)."""

    mechanism: Mechanism
    g: float
    level: float
    config: GateConfig

    def describe(self) -> str:
        """The knob in words, e.g. ``'k = 3'``, ``'θ = 40'``, ``'2 checks (mod 3, 4)'``."""
        x = self.level
        if self.mechanism == "vote":
            return f"k = {x:g}" if x == int(x) else f"k = {x:.3g} (dithered)"
        if self.mechanism == "verifier":
            return "no verifier" if x <= 0.0 else f"θ = {x:.3g}"
        if x <= 0.0:
            return "no checks"
        whole = math.ceil(x)
        mods = ", ".join(str(m) for m in self.config.moduli[:whole])
        count = f"{x:g} check{'s' if x != 1 else ''}" if x == whole else f"{x:.3g} checks"
        return f"{count} (mod {mods})" + ("" if x == whole else ", dithered")


# --- running one gated step -------------------------------------------------------------------


async def gated_sum(
    session: Session, numbers: Sequence[int], setting: GateSetting, *, u: float
) -> int:
    """Add ``numbers`` with the worker, through the gate ``setting``; return the shipped sum.

    ``u`` (uniform in [0, 1)) dithers a fractional k or n. Malformed worker answers are always
    red-flagged and resampled (that is parsing, not the gate). Raises
    :class:`~hakaru.errors.StepFailed` when the gate rejects ``max_attempts`` answers (or a vote
    hits its caps). Calls are made with roles ``worker``, ``checker`` and ``verifier``.

    >>> import asyncio, hakaru
    >>> from hakaru.backends.sim import SimBackend
    >>> config = GateConfig()
    >>> async def main():
    ...     async with hakaru.Session(SimBackend(models=config.models())) as s:
    ...         total = await gated_sum(s, [1, 2, 3], config.setting("redflag", 0.5), u=0.0)
    ...         return total, s.totals()["calls"]
    >>> asyncio.run(main())
    (6, 3)
    """
    config = setting.config
    request = GATE_SUM.request(
        config.worker.name, {"numbers": list(numbers)}, role="worker", max_tokens=64
    )
    if setting.mechanism == "vote":
        result = await vote(session, request, strict(GATE_SUM.parse), k=dither(setting.level, u))
        return int(result.winner)
    checks = dither(setting.level, u) if setting.mechanism == "redflag" else 0
    last = ""
    for attempt in range(config.max_attempts):
        # The first answer is greedy (T = 0); a retry at T = 0 would repeat it, so resample.
        temperatures = (0.0, 0.1) if attempt == 0 else (0.1,)
        answer = await sample_valid(session, request, GATE_SUM.parse, temperatures=temperatures)
        candidate = int(answer.parsed)
        if setting.mechanism == "verifier":
            reason = await _verify(session, numbers, candidate, attempt, setting)
        else:
            reason = await _red_flags(session, numbers, candidate, checks, attempt, config)
        if reason is None:
            return candidate
        last = reason
    raise StepFailed(
        f"The {setting.mechanism} gate ({setting.describe()}) rejected {config.max_attempts} "
        f"answers in a row for one step (the last: {last}). Lower the gate strength, raise "
        "max_attempts, or use a more reliable worker"
    )


async def _verify(
    session: Session, numbers: Sequence[int], candidate: int, attempt: int, setting: GateSetting
) -> str | None:
    """None when the verifier's score reaches the threshold (or there is no verifier)."""
    threshold = setting.level
    if threshold <= 0.0:
        return None  # g = 0: no gate, no call
    payload = {"numbers": list(numbers), "candidate": candidate, "attempt": attempt}
    request = VERDICT.request(setting.config.verifier.name, payload, role="verifier")
    try:
        score = await session.call(request, validate=strict(VERDICT.parse))
    except RedFlag as flag:  # no readable verdict: the answer is not approved
        return f"unreadable verdict ({flag.reason})"
    if int(score.parsed) >= threshold:
        return None
    return f"verifier score {score.parsed} < threshold {threshold:g}"


async def _red_flags(
    session: Session,
    numbers: Sequence[int],
    candidate: int,
    checks: int,
    attempt: int,
    config: GateConfig,
) -> str | None:
    """None when all ``checks`` residue checks agree with ``candidate``; else the first flag.

    Checks run one after another and stop at the first flag (a cascade). A check does not see
    the candidate, so at T = 0 it would repeat a false alarm on every retry: retries recheck
    at T = 0.1 (fresh samples), like the worker.
    """
    temperature = 0.0 if attempt == 0 else 0.1
    for modulus in config.moduli[:checks]:
        expected = candidate % modulus

        def same(residue: int, modulus: int = modulus, expected: int = expected) -> str | None:
            if residue == expected:
                return None
            return f"sum mod {modulus} is {residue}, the answer's residue is {expected}"

        request = RESIDUE.request(
            config.checker.name,
            {"numbers": list(numbers), "modulus": modulus},
            role="checker",
            temperature=temperature,
        )
        try:
            await session.call(request, validate=strict(RESIDUE.parse, checks=[same]))
        except RedFlag as flag:  # a disagreeing or unreadable check: the answer is discarded
            return flag.reason
    return None


# The task kinds and ``uniform`` live in hakaru.gates.simulated; their docstring examples still
# run with this module's (``doctest.testmod(hakaru.gates.mechanisms)``).
__test__ = {
    "GateSumKind": GateSumKind,
    "ResidueKind": ResidueKind,
    "VerdictKind": VerdictKind,
    "uniform": uniform,
}
