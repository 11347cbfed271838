"""Shared pieces of the paper's workloads: one-token words, names, sim models and cost tallies.

Every word the routing, debugging, evolution and sort task kinds put in a prompt or an answer is
exactly one token of :mod:`hakaru.tokenizer` (a run of at most four letters). An instance of
size n therefore reads and writes exactly n content tokens, and each analytic token count is a
closed form: constant prompt overheads (counted once from the templates) plus multiples of the
parameters. That is what lets the tests demand *equality* between measured and predicted counts.

:class:`Tally` adds up predicted calls with the same per-call formulas as the ledger
(:func:`hakaru.costs.aalp_cost`), so a workload's ``analytic`` states each variant as a sum of
call shapes (size, tokens in, tokens out, how many).
"""

from __future__ import annotations

import hashlib
import random
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hakaru.backends.sim.models import SimModel
from hakaru.costs import aalp_cost
from hakaru.errors import ConfigError
from hakaru.tokenizer import count_tokens

__all__ = [
    "MAX_NAMES",
    "VOCAB",
    "Tally",
    "TallyRoles",
    "digest_rng",
    "name_of",
    "other_word",
    "sim_model",
    "tag_of",
    "tokens",
    "total",
    "words",
]

# Lowercase words of 2 to 4 letters: one token each. None of them is a keyword of an answer
# format ("no", "bug", "in", "def", "none", "task", "sort"), so parsers never confuse the two.
_VOCAB_TEXT = """
    able acid aged also area army away baby back ball band bank base bath bear beat bell belt
    best bird blow blue boat body bone book boot born boss both bowl burn bush busy cake call
    calm camp card care cart case cash cast cell chat chip city clay club coal coat cold cook
    cool copy corn cost crew crop dark data date dawn deal dear debt deep desk diet dish disk
    dock door dose down draw drop drum duck dust duty earn ease east easy edge else even ever
    face fact fail fair fall farm fast fear feed feel file fill film fine fire firm fish five
    flag flat flow folk food foot fork form fort four free frog fuel full fund gain game gate
    gear gift girl give glad goal gold golf good grab gray grid grow hair half hall hand hang
    hard harm hate have head heat help here hero high hill hire hold hole home hook hope horn
    host hour huge hunt idea inch iron item jazz join joke jump jury just keen keep kick kind
    king kiss knee knot know lack lady lake lamp land lane last late lawn lead leaf lean left
    lend lens life lift like lime line link lion list live load loan lock logo long look loop
    lord loss love luck lung mail main make male mall many mark mask mass meal meat meet melt
    menu mild milk mill mind mine miss mode mood moon more most move much must myth nail name
    navy near neck need nest news next nice node noon norm nose note okay once only open oven
    pace pack page pain pair palm park part pass past path peak pick pile pine pink pipe plan
    play plot plug plus poem poet pole pond pool port pose post pour pray pull pump pure push
    quiz race rack rail rain rank rare rate read real rear rely rent rest rice rich ride ring
    rise risk road rock role roof room root rope rose rule rush safe sail salt sand save seat
    seed seek self sell send ship shoe shop shot show sick side sign silk sing sink site size
    skin slip slow snow soap sock soft soil song soul soup spot star stay step stop suit sure
    swim tail take tale talk tall tank tape team tear tell tent term test text then thin tide
    tile time tiny tone tool tour town tree trip true tube tune turn twin type unit upon user
    vast verb view vote wage wait wake walk wall want warm wash wave weak wear week well west
    wide wife wild will wind wine wing wire wise wish wood wool word work yard year zero zone
"""
VOCAB: tuple[str, ...] = tuple(_VOCAB_TEXT.split())

#: How many distinct one-token names :func:`name_of` can make (1 to 4 letters).
MAX_NAMES = 26 + 26**2 + 26**3 + 26**4


def name_of(i: int) -> str:
    """The i-th lowercase name in bijective base 26: a, b, …, z, aa, ab, … (one token).

    >>> name_of(0), name_of(25), name_of(26), name_of(MAX_NAMES - 1)
    ('a', 'z', 'aa', 'zzzz')
    """
    if not 0 <= i < MAX_NAMES:
        raise ConfigError(f"Name index {i} is out of range: at most {MAX_NAMES} one-token names")
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(97 + r) + out
    return out


def tag_of(i: int) -> str:
    """The i-th uppercase tag (A, B, …, Z, AA, …): a task's name in routing metadata.

    >>> tag_of(0), tag_of(27)
    ('A', 'AB')
    """
    return name_of(i).upper()


def tokens(text: str) -> int:
    """Tokens of a template piece (hakaru's tokenizer), for the analytic formulas."""
    return count_tokens(text)


def words(rng: random.Random, count: int) -> list[str]:
    """``count`` words drawn from :data:`VOCAB` (exactly ``count`` tokens)."""
    return rng.choices(VOCAB, k=count)


def other_word(rng: random.Random, avoid: str) -> str:
    """A vocabulary word different from ``avoid``."""
    while True:
        w = rng.choice(VOCAB)
        if w != avoid:
            return w


def digest_rng(*parts: Any) -> random.Random:
    """A generator seeded from a BLAKE2b digest of ``parts`` (their ``repr``): same parts,
    same draws, in any process."""
    blob = "\x00".join(repr(p) for p in parts).encode()
    return random.Random(int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "little"))


def sim_model(
    name: str,
    size: float,
    capabilities: Iterable[str],
    *,
    context_window: int = 1 << 20,
    **errors: Any,
) -> SimModel:
    """A simulated model whose prices and speeds follow its size m.

    Prices scale linearly with m (USD per 1M tokens: 0.05·m in, 0.20·m out), as the paper's
    Def. 2.2 cost m·n does; speeds fall as m grows. ``errors`` are :class:`SimModel` error knobs.
    """
    slow = 1.0 + size / 8.0
    return SimModel(
        name,
        size=float(size),
        context_window=context_window,
        price_in=0.05 * size,
        price_out=0.20 * size,
        capabilities=frozenset(capabilities),
        ttft=0.02 + 0.005 * size,  # seconds
        prefill_tps=50_000 / slow,  # tokens per second
        decode_tps=400 / slow,  # tokens per second
        **errors,
    )


@dataclass(slots=True)
class Tally:
    """Predicted totals of a set of calls, added up call shape by call shape.

    >>> t = Tally()
    >>> t.add(2.0, n_in=10, n_out=3, times=4)   # 4 calls: 2·(10 + 11 + 12) each
    >>> t.calls, t.aalp_cost
    (4.0, 264.0)
    """

    calls: float = 0.0
    input_tokens: float = 0.0  # tokens
    output_tokens: float = 0.0  # tokens
    aalp_cost: float = 0.0  # m · forward-pass context tokens (paper Def. 2.2)

    def add(self, size: float, n_in: float, n_out: float, times: float = 1.0) -> None:
        """Add ``times`` calls of a model of size m reading ``n_in`` and writing ``n_out``."""
        self.calls += times
        self.input_tokens += times * n_in
        self.output_tokens += times * n_out
        self.aalp_cost += times * aalp_cost(size, int(n_in), int(n_out))

    def add_series(self, size: float, sum_in: float, n_out: float, times: float) -> None:
        """Add ``times`` calls that each write ``n_out`` tokens and together read ``sum_in``.

        Exact because a call's AALP cost is linear in its input: Σ m·(o·nᵢ + o(o−1)/2)
        = m·(o·Σnᵢ + times·o(o−1)/2).
        """
        self.calls += times
        self.input_tokens += sum_in
        self.output_tokens += times * n_out
        self.aalp_cost += size * (n_out * sum_in + times * n_out * (n_out - 1) / 2)

    def __iadd__(self, other: Tally) -> Tally:
        self.calls += other.calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.aalp_cost += other.aalp_cost
        return self

    def as_dict(self) -> dict[str, float]:
        """Calls, tokens, forward passes (= output tokens, paper §2) and AALP cost."""
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "forward_passes": self.output_tokens,
            "aalp_cost": self.aalp_cost,
        }

    def figures(self, depth: float) -> dict[str, float]:
        """The analytic keys every workload reports: :meth:`as_dict` plus the depth."""
        return {"calls": self.calls, "depth": float(depth), **self.as_dict()}


class TallyRoles(ABC):
    """Mixin for workloads whose ``role_tallies`` predicts each role's calls exactly: it
    provides ``Workload.analytic_roles`` from them."""

    @abstractmethod
    def role_tallies(self, variant: str, params: Mapping[str, int]) -> dict[str, Tally]:
        """Predicted calls, tokens and AALP cost per role, with no errors."""

    def analytic_roles(
        self, variant: str, params: Mapping[str, int]
    ) -> dict[str, dict[str, float]]:
        return {role: t.as_dict() for role, t in self.role_tallies(variant, params).items()}


def total(roles: Mapping[str, Tally]) -> Tally:
    """The sum of per-role tallies."""
    out = Tally()
    for t in roles.values():
        out += t
    return out
