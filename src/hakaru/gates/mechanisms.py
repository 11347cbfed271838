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
  (:class:`GateSumKind`), so a mod-m check misses it with probability 1/m, independently for
  coprime moduli (Chinese remainder theorem); n checks let ∏ 1/m_i through — rework falls
  geometrically in n, i.e. exponentially in g. Each check is one small-model call (linear
  overhead); a checker's own error flags a right answer now and then (a false alarm: a retry).
- **the verifier** scores with the distributions of :class:`VerdictKind` — our assumption, like
  a sim model's error rate: a wrong answer's score has an exponential tail (mean 15), so the
  fraction passing θ is e^(−θ/15) (exponential in g); a right answer scores 100, but 30 % of
  the time the verifier is unsure and scores it uniformly, so θ turns away 0.3·θ/101 of the
  right answers (retries: overhead linear in g). Its one call per attempt costs the same at
  every g > 0: that part of the overhead jumps at g = 0 instead of growing with g.
- **voting** removes errors fastest (a wrong answer must win k votes ahead) but each unit of
  margin costs about one more full sample: throughput falls as 1/k, far from the seed's linear
  overhead with α < 1. It pays only when rework is expensive (docs/gates.md).

Everything is measured on the simulated LLM (:mod:`hakaru.backends.sim`): the worker, checker
and verifier are :class:`~hakaru.backends.sim.SimModel` s with error rates, latencies and
prices (:data:`WORKER`, :data:`CHECKER`, :data:`VERIFIER`); rework is what ground truth finds
wrong after the gate (:mod:`hakaru.gates.sweep`).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from hakaru.backends.sim.models import SimModel
from hakaru.errors import ConfigError, RedFlag, StepFailed
from hakaru.patterns.redflag import sample_valid
from hakaru.patterns.validators import strict
from hakaru.patterns.vote import vote
from hakaru.tasks import SumKind, TaskKind, register_task_kind
from hakaru.types import Message

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


def uniform(*parts: Any) -> float:
    """A uniform number in [0, 1) that is a pure function of ``parts`` (BLAKE2b of their JSON).

    >>> uniform(1, "dither", [1, 2]) == uniform(1, "dither", [1, 2])
    True
    """
    blob = json.dumps(parts, separators=(",", ":"), default=str).encode()
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "little") / 2.0**64


# --- task kinds: the work, the red-flag check, the verifier's verdict ---------------------------


class GateSumKind(SumKind):
    """``gate-sum``: add integers, like ``sum``, but a wrong answer is off by a random amount.

    The slip δ is uniform on ±[1, 840] (840 = lcm(3, 4, 5, 7, 8)), so a mod-m check misses it
    with probability exactly 1/m for m = 3, 4, 5, 7, independently for coprime moduli — what
    makes red-flag checks a cascade of independent filters.

    >>> import random
    >>> kind = GateSumKind()
    >>> truth = kind.solve({"numbers": [500, 500]})
    >>> 1 <= abs(kind.wrong({}, truth, random.Random(0)) - truth) <= 840
    True
    """

    name = "gate-sum"

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> int:
        return int(answer) + rng.choice((-1, 1)) * rng.randint(1, 840)


_RESIDUE_SYSTEM = (
    "You check sums cheaply. Give the remainder of the sum of the integers divided by the "
    "modulus. End your reply with one line `residue = <integer>` and nothing after it."
)
_RESIDUE_LINE = re.compile(r"residue = (\d+)")


class ResidueKind(TaskKind):
    """``gate-residue``: the sum of ``numbers`` modulo ``modulus`` (a red-flag check).

    >>> ResidueKind().solve({"numbers": [7, 9], "modulus": 5})
    1
    """

    name = "gate-residue"

    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        listed = ", ".join(str(x) for x in payload["numbers"])
        user = f"Numbers: {listed}. Modulus: {payload['modulus']}."
        return (Message("system", _RESIDUE_SYSTEM), Message("user", user))

    def solve(self, payload: Mapping[str, Any]) -> int:
        return int(sum(payload["numbers"])) % int(payload["modulus"])

    def render(self, answer: Any) -> str:
        return f"residue = {answer}"

    def parse(self, text: str) -> int:
        match = _RESIDUE_LINE.fullmatch(text.strip())
        if match is None:
            raise RedFlag(f"malformed check answer {text[:40]!r}: expected 'residue = <integer>'")
        return int(match.group(1))

    def items(self, payload: Mapping[str, Any]) -> int:
        return len(payload["numbers"])

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> int:
        m = int(payload["modulus"])
        return (int(answer) + rng.randint(1, m - 1)) % m

    def malformed(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        return rng.choice((f"residue: {answer}", f"The remainder is {answer}.", "residue = ?"))


_VERDICT_SYSTEM = (
    "You review a proposed sum. Score from 0 (surely wrong) to 100 (surely right) how likely "
    "the proposed total is correct. End with one line `score = <integer>` and nothing after it."
)
_SCORE_LINE = re.compile(r"score = (\d{1,3})")


@dataclass(frozen=True)
class VerdictKind(TaskKind):
    """``gate-verdict``: a verifier's 0–100 score for a proposed sum (our score model).

    Payload ``{"numbers": [...], "candidate": int, "attempt": int}``. The "true" score — what a
    well-behaved verifier answers — is drawn from a digest of the payload (``attempt`` makes
    each review a fresh draw):

    - a **right** candidate scores 100 (sure), except with probability ``unsure`` (0.3), when its
      score is uniform on 0–100. A threshold θ therefore turns right answers away with
      probability unsure·θ/101 — linear in θ;
    - a **wrong** candidate scores ⌊Exp(wrong_mean)⌋ (clipped at 100; mean 15), so θ lets it
      through with probability e^(−⌈θ⌉/wrong_mean) — exponential in θ.

    The verifier model's own errors (its ``base_error``) replace the score by another one.

    >>> kind = VerdictKind()
    >>> kind.solve({"numbers": [1, 2], "candidate": 4, "attempt": 0}) < 100
    True
    """

    name = "gate-verdict"
    unsure: float = 0.3  # probability that a right answer gets a uniform score, not 100
    wrong_mean: float = 15.0  # mean score of a wrong answer, points

    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        listed = ", ".join(str(x) for x in payload["numbers"])
        user = f"Numbers: {listed}. Proposed sum: {payload['candidate']}."
        return (Message("system", _VERDICT_SYSTEM), Message("user", user))

    def solve(self, payload: Mapping[str, Any]) -> int:
        right = int(payload["candidate"]) == sum(payload["numbers"])
        u = uniform("verdict", payload)
        if right:
            if u >= self.unsure:
                return 100
            return min(100, math.floor(uniform("verdict-score", payload) * 101))
        return min(100, math.floor(-math.log(1.0 - u) * self.wrong_mean))

    def render(self, answer: Any) -> str:
        return f"score = {answer}"

    def parse(self, text: str) -> int:
        match = _SCORE_LINE.fullmatch(text.strip())
        if match is None or int(match.group(1)) > 100:
            raise RedFlag(f"malformed verdict {text[:40]!r}: expected 'score = <0..100>'")
        return int(match.group(1))

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> int:
        return (int(answer) + rng.randint(1, 100)) % 101

    def malformed(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        return rng.choice(("score: high", f"I would say {answer}.", "score = ?"))


GATE_SUM = register_task_kind(GateSumKind())
RESIDUE = register_task_kind(ResidueKind())
VERDICT = register_task_kind(VerdictKind())


# --- the simulated models ---------------------------------------------------------------------

#: The worker: a mid-size model that gets 6 % of its additions wrong (30 % of those the same
#: wrong answer on every sample); about 0.9 s per call (mostly time to first token).
WORKER = SimModel(
    "sim-gate-worker",
    size=70.0,
    context_window=32_768,
    price_in=0.9,  # USD per 1M tokens
    price_out=0.9,
    capabilities=frozenset({"*"}),
    base_error=0.06,
    rho=0.3,
    malformed_rate=0.01,
    ttft=0.8,  # seconds
    prefill_tps=4000,  # tokens per second
    decode_tps=40,
)

#: The red-flag checker: a tiny model, about 12× faster and 40× cheaper per call than the worker.
CHECKER = SimModel(
    "sim-gate-checker",
    size=1.0,
    context_window=8192,
    price_in=0.1,
    price_out=0.1,
    capabilities=frozenset({"*"}),
    base_error=0.01,
    rho=0.1,
    malformed_rate=0.002,
    ttft=0.1,
    prefill_tps=20_000,
    decode_tps=400,
)

#: The verifier: a small model that reads the numbers and the proposed sum and scores it.
VERIFIER = SimModel(
    "sim-gate-verifier",
    size=8.0,
    context_window=8192,
    price_in=0.1,
    price_out=0.2,
    capabilities=frozenset({"*"}),
    base_error=0.01,
    rho=0.1,
    malformed_rate=0.002,
    ttft=0.05,
    prefill_tps=15_000,
    decode_tps=300,
)


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
