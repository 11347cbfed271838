"""The simulated work the gate mechanisms are measured on: three task kinds and three models.

:mod:`hakaru.gates.mechanisms` gates one step of work — adding integers — and the gates call
models of their own. Both run on the simulated LLM (:mod:`hakaru.backends.sim`), so what they
do is fixed here:

- **task kinds** (registered on import, like every :func:`~hakaru.tasks.register_task_kind`):
  ``gate-sum`` (:class:`GateSumKind`: the work; a wrong answer is off by a random amount, so
  residue checks catch it independently), ``gate-residue`` (:class:`ResidueKind`: one red-flag
  check, the sum modulo m) and ``gate-verdict`` (:class:`VerdictKind`: a verifier's 0–100
  score, drawn from our score model);
- **models** (:class:`~hakaru.backends.sim.SimModel` s with error rates, latencies and prices):
  the worker (:data:`WORKER`), the red-flag checker (:data:`CHECKER`) and the verifier
  (:data:`VERIFIER`);
- :func:`uniform`, the reproducible draw behind the verdict scores (and a sweep's dithering).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hakaru.backends.sim.models import SimModel
from hakaru.errors import RedFlag
from hakaru.tasks import SumKind, TaskKind, register_task_kind
from hakaru.types import Message

__all__ = [
    "CHECKER",
    "GATE_SUM",
    "RESIDUE",
    "VERDICT",
    "VERIFIER",
    "WORKER",
    "GateSumKind",
    "ResidueKind",
    "VerdictKind",
    "uniform",
]


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
