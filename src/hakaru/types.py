"""The data that flows through hakaru: models, requests, responses, usage and call records.

These are plain slotted dataclasses rather than pydantic models because millions of them are made
in one MDAP run; validation happens where users supply values (``ModelSpec.__post_init__``, the
CLI, config loaders). Token counts are integers, times are seconds, prices are USD per 1M tokens.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, Literal

from hakaru.errors import ConfigError
from hakaru.pricing.prices import Prices

__all__ = [
    "RECORD_FIELDS",
    "CallRecord",
    "CallStatus",
    "Message",
    "ModelSpec",
    "RecordRow",
    "Request",
    "Response",
    "Task",
    "Usage",
    "UsageSource",
    "legacy_dollars",
    "record_of",
    "record_row",
]

UsageSource = Literal["reported", "estimated"]
CallStatus = Literal["ok", "error", "cached", "flagged"]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What hakaru needs to know about a model to count and price its calls.

    ``size`` is the paper's m (Def. 2.2): parameters in billions, or any relative weight — only
    ratios matter for the AALP cost. ``capabilities`` is the paper's capability set C_M (Def. 2.3):
    task kinds the model performs reliably, optionally bounded as ``"kind:limit"`` (for example
    ``"sum:4"`` — it adds at most 4 numbers per call). A bare ``"*"`` means any task.

    >>> tiny = ModelSpec("tiny", size=1.0, capabilities=frozenset({"sum:4"}))
    >>> tiny.can("sum", 3), tiny.can("sum", 5)
    (True, False)
    """

    name: str
    size: float = 1.0  # relative model size m (e.g. billions of parameters)
    context_window: int = 8192  # tokens
    price_in: float | None = None  # USD per 1M uncached input tokens; None: not stated here
    price_out: float | None = None  # USD per 1M output tokens
    capabilities: frozenset[str] = frozenset({"*"})
    price_cache_read: float | None = None  # USD per 1M; None: price_in
    price_cache_write: float | None = None  # USD per 1M (5-minute writes); None: price_in
    price_reasoning: float | None = None  # USD per 1M; None: price_out

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("A model needs a name. Give ModelSpec a non-empty name.")
        if not self.size > 0:
            raise ConfigError(
                f"Model '{self.name}' has size {self.size}. Give a positive size (the paper's m)."
            )
        if self.context_window <= 0:
            raise ConfigError(
                f"Model '{self.name}' has context window {self.context_window}. "
                "Give a positive number of tokens."
            )
        rates = (
            self.price_in,
            self.price_out,
            self.price_cache_read,
            self.price_cache_write,
            self.price_reasoning,
        )
        if any(r is not None and not r >= 0 for r in rates):
            raise ConfigError(
                f"Model '{self.name}' has a negative price. Prices are USD per 1M tokens, >= 0."
            )
        if (self.price_in is None) != (self.price_out is None) or (
            self.price_in is None and any(r is not None for r in rates)
        ):
            raise ConfigError(
                f"Model '{self.name}' states some prices but not both price_in and price_out. "
                "Give both (USD per 1M tokens), or none to have hakaru look the model up."
            )
        if not isinstance(self.capabilities, frozenset):
            object.__setattr__(self, "capabilities", frozenset(self.capabilities))

    @property
    def prices(self) -> Prices | None:
        """The prices this spec states (``None``: it states none; see :mod:`hakaru.pricing`).

        >>> ModelSpec("m", price_in=0.4, price_out=1.6, price_cache_read=0.1).prices.rates
        (0.4, 0.1, 0.4, 1.6, 1.6)
        """
        if self.price_in is None or self.price_out is None:
            return None
        return Prices.of(
            self.price_in,
            self.price_out,
            cache_read=self.price_cache_read,
            cache_write=self.price_cache_write,
            reasoning=self.price_reasoning,
            source="model spec",
        )

    def capability_limit(self, kind: str) -> int | None:
        """The most items of ``kind`` the model handles per call; ``None`` for no bound.

        Raises ``KeyError`` when the model lacks the capability altogether.
        """
        best: int | None = -1
        for cap in self.capabilities:
            name, _, limit = cap.partition(":")
            if name in (kind, "*"):
                if not limit:
                    return None
                value = int(limit)
                best = value if best is None or best < 0 else max(best, value)
        if best == -1:
            raise KeyError(kind)
        return best

    def can(self, kind: str, items: int | None = None) -> bool:
        """Whether the model may perform ``kind`` on ``items`` items in one call."""
        try:
            limit = self.capability_limit(kind)
        except KeyError:
            return False
        return limit is None or items is None or items <= limit

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelSpec:
        """Build from a mapping (a config file); unknown keys are an error, not ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"Unknown model key(s): {', '.join(unknown)}. "
                f"Known keys: {', '.join(sorted(known))}."
            )
        values = dict(data)
        if "capabilities" in values:
            values["capabilities"] = frozenset(values["capabilities"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message, as in the OpenAI API."""

    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True, slots=True)
class Task:
    """A structured description of what a call must do.

    The simulated backend answers from it (it knows the ground truth of each kind); parsers and
    capability checks use ``kind`` and ``items``. Real backends ignore it and read the messages.
    ``payload`` must be JSON-serialisable.
    """

    kind: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    items: int | None = None  # how many items the call handles (checked against capabilities)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """One LLM call as the caller asks for it.

    ``reasoning_budget`` is how many tokens the model may think (see :mod:`hakaru.reasoning`; a
    spending cap is a :class:`~hakaru.budget.Budget` on the session); ``max_tokens`` caps the
    output; ``sample`` is set by the session: the occurrence index of an identical request, so that
    repeated samples (votes) are distinct cache and replay keys.
    """

    model: str
    messages: tuple[Message, ...]
    task: Task | None = None
    role: str = "default"  # which agent makes the call (for cost per role)
    reasoning_budget: int | None = None  # reasoning tokens
    max_tokens: int | None = None  # output tokens
    temperature: float = 0.0
    seed: int | None = None
    step: int | None = None  # MDAP step or workload stage id, for the ledger
    vote: int | None = None  # vote id within a step, for the ledger
    sample: int = 0

    @classmethod
    def chat(cls, model: str, prompt: str, *, system: str | None = None, **kw: Any) -> Request:
        """A request with one user message (and an optional system message)."""
        msgs = (Message("system", system),) if system else ()
        return cls(model=model, messages=(*msgs, Message("user", prompt)), **kw)

    def prompt_text(self) -> str:
        """All message contents joined, as the tokenizer sees them."""
        return "\n".join(m.content for m in self.messages)

    def canonical(self) -> dict[str, Any]:
        """A JSON-ready form with sorted keys; equal requests give equal forms."""
        task = None
        if self.task is not None:
            task = {"kind": self.task.kind, "payload": self.task.payload, "items": self.task.items}
        return {
            "model": self.model,
            "messages": [[m.role, m.content] for m in self.messages],
            "task": task,
            # Keyed "budget", as before the field was renamed: the key hashes into cache and
            # replay keys and the simulated answers, which must not change with a name.
            "budget": self.reasoning_budget,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
        }

    def key(self) -> str:
        """Canonical hash of the request without its sample index (hex SHA-256)."""
        blob = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call. ``source`` says whether the server reported them.

    ``input_tokens`` counts every prompt token, cached or not (the AALP cost's n) and
    ``output_tokens`` every generated token, reasoning included; the cache and reasoning counts
    are parts of them, so no token is counted twice (the classes of :mod:`hakaru.pricing`).
    Backends normalise each provider's fields to this: OpenAI's ``prompt_tokens`` already
    include ``cached_tokens``; Anthropic's ``input_tokens`` leave the cache tokens out.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0  # counted inside output_tokens
    cache_read_tokens: int = 0  # counted inside input_tokens
    cache_write_tokens: int = 0  # counted inside input_tokens
    source: UsageSource = "reported"


@dataclass(slots=True)
class Response:
    """What a backend returns. ``latency`` is seconds (simulated on ``sim``, measured elsewhere).

    ``call_id``, ``parsed`` and ``finish`` are filled in by the session: the id of the record of
    the attempt that produced it, what the call's validator returned, and where the call ends on
    the critical path of each cost model.
    """

    text: str
    usage: Usage
    model: str = ""
    finish_reason: str = "stop"  # "stop" | "length"
    latency: float = 0.0  # seconds
    reasoning: str = ""
    call_id: int = -1
    parsed: Any = None
    finish: tuple[float, ...] = ()  # the call's finish time per cost model (Session.after)

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


@dataclass(slots=True)
class CallRecord:
    """One attempt at an LLM call: failed, retried, cached and red-flagged attempts included.

    ``parents`` are the ids of the calls whose results the caller had awaited before making this
    one (happens-before). ``status``: ``ok`` (answered and accepted), ``error`` (the backend
    failed), ``cached`` (served from the response cache — no primitive executed), ``flagged``
    (answered, then rejected by a validator). Times: ``started``/``ended`` are wall seconds since
    the session began; ``sim_start``/``sim_end`` are seconds on the critical path of simulated
    latency (``sim_end = sim_start + latency``) — for calls recorded by the proxy, the wall
    times it saw. Tokens: see :class:`Usage`. ``dollars`` is what the attempt cost at the
    model's prices (:mod:`hakaru.pricing`): 0 for attempts that executed nothing (failed or
    cached), ``None`` for executed ones whose model has no known price.
    """

    id: int
    parents: tuple[int, ...]
    role: str
    model: str
    attempt: int = 1
    status: CallStatus = "ok"
    error_kind: str = ""
    error: str = ""
    input_tokens: int = 0  # every prompt token, cache classes included
    output_tokens: int = 0  # every generated token, reasoning included
    reasoning_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    usage_source: UsageSource = "reported"
    size: float = 1.0  # model size m at the time of the call
    dollars: float | None = None  # USD; None: not priced (the model's price is unknown)
    latency: float = 0.0  # seconds (simulated on sim)
    started: float = 0.0
    ended: float = 0.0
    sim_start: float = 0.0
    sim_end: float = 0.0
    step: int | None = None
    vote: int | None = None
    candidate: str = ""
    finish_reason: str = ""
    reasoning_budget: int | None = None  # tokens (Request.reasoning_budget)
    run_id: str = ""

    @property
    def executed(self) -> bool:
        """Whether the backend really ran this attempt to the end (it costs primitives)."""
        return self.status in ("ok", "flagged")

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["parents"] = list(self.parents)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallRecord:
        """The record of :meth:`as_dict`'s form, also of exports made by older versions:
        ``budget`` (now ``reasoning_budget``), ``cached_tokens`` (now ``cache_read_tokens``) and
        the per-record ``price_in``/``price_out`` (now the record's ``dollars``: see
        :func:`legacy_dollars`)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "budget" in data and "reasoning_budget" not in data:
            values["reasoning_budget"] = data["budget"]
        if "cached_tokens" in data and "cache_read_tokens" not in data:
            values["cache_read_tokens"] = data["cached_tokens"]
        if "price_in" in data and "dollars" not in data:
            values["dollars"] = legacy_dollars(
                data.get("status", "ok"),
                data.get("input_tokens", 0),
                data.get("output_tokens", 0),
                data.get("price_in") or 0.0,
                data.get("price_out") or 0.0,
            )
        values["parents"] = tuple(values.get("parents", ()))
        return cls(**values)


def legacy_dollars(
    status: str, input_tokens: int, output_tokens: int, price_in: float, price_out: float
) -> float | None:
    """The dollars of a record made when records carried ``price_in``/``price_out`` (USD per
    1M tokens): 0 when it executed nothing; ``None`` (unknown) when both prices were 0 —
    versions before token classes priced every model they did not know at $0, so a zero price
    cannot be told from an unknown one.

    >>> legacy_dollars("ok", 1000, 100, 0.4, 1.6), legacy_dollars("ok", 10, 1, 0.0, 0.0)
    (0.00056, None)
    """
    if status not in ("ok", "flagged"):
        return 0.0
    if not price_in and not price_out:
        return None
    return (input_tokens * price_in + output_tokens * price_out) / 1e6


# -- a record as a row -----------------------------------------------------------------------

#: The fields of :class:`CallRecord`, in order: the layout of a record *row*, the plain tuple
#: that the session builds on its hot path, the ledger keeps and the store writes.
RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CallRecord))

#: A record as the tuple of its fields in :data:`RECORD_FIELDS` order (``CallRecord(*row)``
#: is the record). Plain tuples, because the garbage collector stops tracking tuples of
#: atomic values: a million kept rows cost no collection time, where records or named tuples
#: would.
RecordRow = tuple[Any, ...]

#: The row of a record: ``record_of(CallRecord(*row)) == row``.
record_of: Callable[[CallRecord], RecordRow] = attrgetter(*RECORD_FIELDS)


def record_row(
    id: int,
    parents: tuple[int, ...],
    role: str,
    model: str,
    attempt: int,
    status: CallStatus,
    error_kind: str,
    error: str,
    input_tokens: int,
    output_tokens: int,
    reasoning_tokens: int,
    cache_read_tokens: int,
    cache_write_tokens: int,
    usage_source: UsageSource,
    size: float,
    dollars: float | None,
    latency: float,
    started: float,
    ended: float,
    sim_start: float,
    sim_end: float,
    step: int | None,
    vote: int | None,
    candidate: str,
    finish_reason: str,
    reasoning_budget: int | None,
    run_id: str,
    /,
) -> RecordRow:
    """The row of a record with these fields, without building the :class:`CallRecord`.

    Positional only: it runs once per call, and a call with 27 keywords costs ten times one
    with 27 positions. A test checks that the parameters are :data:`RECORD_FIELDS`.

    >>> row = record_row(7, (), "r", "m", 1, "ok", "", "", 3, 5, 0, 0, 0, "reported", 1.0,
    ...                  0.0, 0.5, 0.0, 0.5, 0.0, 0.5, None, None, "", "stop", None, "")
    >>> CallRecord(*row).output_tokens, row[RECORD_FIELDS.index("output_tokens")]
    (5, 5)
    """
    return (
        id, parents, role, model, attempt, status, error_kind, error,
        input_tokens, output_tokens, reasoning_tokens, cache_read_tokens, cache_write_tokens,
        usage_source, size, dollars, latency, started, ended, sim_start, sim_end,
        step, vote, candidate, finish_reason, reasoning_budget, run_id,
    )  # fmt: skip
