"""First-to-ahead-by-k voting (MAKER, arXiv 2511.09030; docs/papers.md), through the session.

The rule, exactly as the paper's ``do_voting``: draw independent samples; a red-flagged sample is
discarded and redrawn (it never votes); each valid sample adds one vote to its candidate (compared
by equality); the step is decided as soon as the candidate just voted for has ``k`` more votes
than every other candidate — a lone candidate needs ``k`` votes.

Drawing in rounds. With margin m = (top count) − (second count), no candidate can be decided in
fewer than ``k − m`` further votes, and ``k − m`` votes decide only if all go to the leader. So
each round launches exactly ``k − m`` draws concurrently (``session.gather``; the first round is
the paper's k parallel samples) and tallies them in draw order. A decision can then only fall on
a round's last vote, so the outcome equals the sequential rule's sample for sample, and no vote
is ever drawn after the decision. When the backend answers at once (the simulator), a round's
draws run inline, one after another in the voting task, with the same happens-before
(``Session.gather(..., inline=True)``). Draw i uses temperature ``temperatures[min(i, len − 1)]``
(default: the first 0, the rest 0.1), counting flagged draws, so that a flagged greedy sample is
redrawn at 0.1 rather than repeated.

Every draw is one :class:`~hakaru.types.CallRecord` carrying the request's ``step``, its own
``vote`` (the draw index) and, when valid, its ``candidate``. Caps: ``max_samples`` draws and
``max_flagged`` flagged draws per vote; past either, :class:`~hakaru.errors.StepFailed`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from hakaru.errors import ConfigError, RedFlag, StepFailed
from hakaru.patterns.validators import flag_kind
from hakaru.types import Request, Response

if TYPE_CHECKING:
    from hakaru.session import Session

__all__ = ["DEFAULT_TEMPERATURES", "VoteResult", "decided", "margin", "tally", "vote"]

C = TypeVar("C", bound=Hashable)
_DRAW_FIELDS = ("temperature", "vote", "sample")
_KEPT = tuple(f.name for f in fields(Request) if f.name not in _DRAW_FIELDS)
_new = object.__new__
_set = object.__setattr__


def _draw_request(base: Request, temperature: float, vote: int, sample: int) -> Request:
    """``dataclasses.replace(base, temperature=…, vote=…, sample=…)`` at a third of the cost
    (it runs once per draw): the frozen request's fields are copied slot by slot."""
    request: Request = _new(Request)
    for name in _KEPT:
        _set(request, name, getattr(base, name))
    _set(request, "temperature", temperature)
    _set(request, "vote", vote)
    _set(request, "sample", sample)
    return request


DEFAULT_TEMPERATURES = (0.0, 0.1)  # the first draw greedy, the rest at 0.1 (MAKER's final run)


@dataclass(slots=True)
class VoteResult(Generic[C]):
    """The outcome of one first-to-ahead-by-k vote.

    ``sequence`` lists the valid candidates in draw order (the votes) with their ``tokens``
    (output tokens of each valid response); ``round_sizes`` the draws asked for per round.
    """

    winner: C
    k: int
    counts: dict[C, int]
    sequence: list[C]
    tokens: list[int]
    flagged: int = 0  # flagged draws (discarded)
    flag_kinds: dict[str, int] = field(default_factory=dict)
    flagged_tokens: list[int] = field(default_factory=list)
    rounds: int = 0
    response: Response | None = None  # one valid response for the winner

    @property
    def votes(self) -> int:
        """Valid votes drawn (the vote was decided at this one)."""
        return len(self.sequence)

    @property
    def samples(self) -> int:
        """All draws: votes plus flagged."""
        return len(self.sequence) + self.flagged

    @property
    def valid_fraction(self) -> float:
        """v of this vote: valid draws over all draws."""
        return len(self.sequence) / self.samples


def decided(counts: dict[Any, int], voted: Any, k: int) -> bool:
    """Whether ``voted`` (whose count just rose) is now ``k`` ahead of every other candidate.

    >>> decided({"A": 3}, "A", 3), decided({"A": 4, "B": 2}, "A", 3)
    (True, False)
    """
    mine = counts[voted]
    if len(counts) == 1:
        return mine >= k
    other = max(c for cand, c in counts.items() if cand != voted)
    return mine >= other + k


def tally(sequence: Sequence[C], k: int) -> tuple[C | None, int, dict[C, int]]:
    """Apply the rule to a sequence of valid votes: (winner or None, decisive vote, counts).

    The reference semantics of :func:`vote` (docs/papers.md, F9); votes after the decision
    are ignored.

    >>> tally("ABCAAA", 3)
    ('A', 6, {'A': 4, 'B': 1, 'C': 1})
    >>> tally("ABABAA", 3)
    (None, 6, {'A': 4, 'B': 2})
    """
    counts: dict[C, int] = {}
    for i, cand in enumerate(sequence, start=1):
        counts[cand] = counts.get(cand, 0) + 1
        if decided(counts, cand, k):
            return cand, i, counts
    return None, len(sequence), counts


def margin(counts: dict[Any, int]) -> int:
    """The leader's lead over the runner-up (a lone candidate's: its count); 0 with no votes.
    A round of draws asks for ``k − margin`` more (see the module docstring).

    >>> margin({"A": 3, "B": 1}), margin({"A": 2}), margin({})
    (2, 2, 0)
    """
    if not counts:
        return 0
    top = second = 0
    for c in counts.values():
        if c > top:
            top, second = c, top
        elif c > second:
            second = c
    return top - second


class _Draws:
    """Shared draw state of one vote: the counter of draws and the flag tallies."""

    __slots__ = (
        "drawn",
        "flag_kinds",
        "flagged",
        "flagged_tokens",
        "last_flag",
        "max_flagged",
        "max_samples",
        "next",
        "request",
        "seen",
        "session",
        "temperatures",
        "validate",
    )

    def __init__(
        self,
        session: Session,
        request: Request,
        validate: Callable[[Response], Any],
        temperatures: Sequence[float],
        max_samples: int,
        max_flagged: int,
    ) -> None:
        self.session = session
        self.request = request
        self.validate = validate
        self.temperatures = temperatures
        self.max_samples = max_samples
        self.max_flagged = max_flagged
        self.next = 0
        self.flagged = 0
        self.flag_kinds: dict[str, int] = {}
        self.flagged_tokens: list[int] = []
        self.last_flag = ""
        self.drawn: list[Any] = []  # every valid candidate drawn, tallied or not yet
        # Draws at one temperature are identical requests; the session numbers them (``sample``)
        # and rebuilds a request whose index differs, so give it the index it will compute.
        self.seen: dict[float, int] = {}

    async def valid(self) -> Response:
        """Draw until one response passes the validator (the caps permitting)."""
        temps = self.temperatures
        last = len(temps) - 1
        while True:
            i = self.next
            if i >= self.max_samples:
                raise _CapReached("samples")
            self.next = i + 1
            t = temps[i] if i < last else temps[last]
            occ = self.seen.get(t, 0)
            self.seen[t] = occ + 1
            try:
                response = await self.session.call(
                    _draw_request(self.request, t, i, occ),
                    validate=self.validate,
                )
                self.drawn.append(response.parsed)
                return response
            except RedFlag as flag:
                self.flagged += 1
                kind = flag_kind(flag)
                self.flag_kinds[kind] = self.flag_kinds.get(kind, 0) + 1
                self.flagged_tokens.append(getattr(flag, "output_tokens", 0))
                self.last_flag = flag.reason
                if self.flagged >= self.max_flagged:
                    raise _CapReached("flagged") from None


class _CapReached(Exception):
    def __init__(self, which: str) -> None:
        super().__init__(which)
        self.which = which


async def vote(
    session: Session,
    request: Request,
    validate: Callable[[Response], C],
    *,
    k: int,
    temperatures: Sequence[float] = DEFAULT_TEMPERATURES,
    max_samples: int = 100,
    max_flagged: int = 20,
) -> VoteResult[C]:
    """Vote on ``request`` until one candidate is ``k`` ahead; return the result.

    ``validate(response)`` returns the response's hashable candidate or raises
    :class:`~hakaru.errors.RedFlag` (see :mod:`hakaru.patterns.validators`). Raises
    :class:`~hakaru.errors.StepFailed` once ``max_samples`` draws or ``max_flagged`` flagged
    draws did not decide.

    >>> import asyncio, hakaru
    >>> from hakaru.tasks import task_kind
    >>> from hakaru.patterns.validators import strict
    >>> kind = task_kind("sum")
    >>> async def main():
    ...     async with hakaru.Session("sim") as s:
    ...         req = kind.request("sim-oracle", {"numbers": [1, 2]}, step=1)
    ...         return await vote(s, req, strict(kind.parse), k=2)
    >>> result = asyncio.run(main())
    >>> result.winner, result.votes, result.counts
    (3, 2, {3: 2})
    """
    if k < 1:
        raise ConfigError(f"The voting margin k is {k}. Use k >= 1 (k = 1: the first valid vote).")
    if not temperatures:
        raise ConfigError("The temperature schedule is empty. Give at least one temperature.")
    if max_samples < k:
        raise ConfigError(
            f"max_samples is {max_samples}, below k = {k}: no vote could ever be decided. "
            f"Allow at least {k} samples."
        )
    if max_flagged < 1:
        raise ConfigError(f"max_flagged is {max_flagged}. Allow at least 1 flagged sample.")
    draws = _Draws(session, request, validate, temperatures, max_samples, max_flagged)
    counts: dict[C, int] = {}
    sequence: list[C] = []
    tokens: list[int] = []
    rounds = 0
    need = k
    try:
        while True:
            rounds += 1
            if need == 1:
                responses = [await draws.valid()]
            else:
                responses = await session.gather(
                    *(draws.valid() for _ in range(need)), inline=session.answers_at_once
                )
            for response in responses:
                cand: C = response.parsed
                n = counts.get(cand, 0) + 1
                counts[cand] = n
                sequence.append(cand)
                tokens.append(response.usage.output_tokens)
                if decided(counts, cand, k):
                    return VoteResult(
                        winner=cand,
                        k=k,
                        counts=counts,
                        sequence=sequence,
                        tokens=tokens,
                        flagged=draws.flagged,
                        flag_kinds=draws.flag_kinds,
                        flagged_tokens=draws.flagged_tokens,
                        rounds=rounds,
                        response=response,
                    )
            need = k - margin(counts)
    except _CapReached as cap:
        raise _failure(request, k, cap.which, draws) from None


def _failure(request: Request, k: int, which: str, draws: _Draws) -> StepFailed:
    counts: dict[Any, int] = {}
    for cand in draws.drawn:
        counts[cand] = counts.get(cand, 0) + 1
    where = f"Step {request.step}" if request.step is not None else "A vote"
    shown = ", ".join(f"{c}×{_short(cand)}" for cand, c in sorted(counts.items(), key=_by_count))
    tally_text = f"valid votes {shown}" if counts else "no valid vote"
    if which == "flagged":
        return StepFailed(
            f"{where} (model '{request.model}') hit the cap of {draws.max_flagged} flagged "
            f"samples ({tally_text}; the last flag: {draws.last_flag}). Check the prompt and the "
            "parser, raise max_output_tokens or max_flagged, or use a more reliable model"
        )
    return StepFailed(
        f"{where} (model '{request.model}') was not decided within {draws.max_samples} samples: "
        f"no candidate got {k} votes ahead ({tally_text}; {draws.flagged} flagged). Raise "
        "max_samples, or use a more reliable model or a lower temperature"
    )


def _by_count(item: tuple[Any, int]) -> tuple[int, str]:
    return (-item[1], repr(item[0]))


def _short(cand: Any) -> str:
    text = repr(cand)
    return text if len(text) <= 60 else text[:57] + "..."
