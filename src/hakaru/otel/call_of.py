"""What a span written by others says about a model call: the fields of its record.

Attributes are read in order of precedence: ``hakaru.*`` (a span hakaru exported), the
OpenTelemetry GenAI names (current, then deprecated), OpenInference's. Token counts follow
hakaru's classes (:class:`~hakaru.types.Usage`): input includes the cache classes, output
includes reasoning. A call without token counts gets an estimate from its captured text, if
any (``usage_source = "estimated"``) and no dollars (unknown, never $0).
"""

from __future__ import annotations

import sys
from typing import Any, NamedTuple

from hakaru.otel.attributes import CALL, GEN_AI, OPENINFERENCE
from hakaru.pricing import PriceBook, Prices
from hakaru.tokenizer import count_tokens
from hakaru.types import ModelSpec

__all__ = ["CallFields", "Pricing", "call_fields", "is_model_call", "structure_kind"]

Attributes = dict[str, Any]
_STATUSES = frozenset(("ok", "error", "cached", "flagged"))


def structure_kind(attrs: Attributes) -> str | None:
    """``None`` for a model call, else the kind of structure the span is (agent, tool, …)."""
    op = attrs.get(GEN_AI.OPERATION)
    oi = attrs.get(OPENINFERENCE.SPAN_KIND)
    if (type(op) is str and op in GEN_AI.MODEL_OPERATIONS) or (
        type(oi) is str and oi in OPENINFERENCE.MODEL_KINDS
    ):
        return None
    if isinstance(op, str):
        return op
    return str(oi).lower() if oi else "other"


def is_model_call(attrs: Attributes) -> bool:
    return structure_kind(attrs) is None


def _first(attrs: Attributes, *keys: str) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None:
            return value
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(attrs: Attributes, keys: tuple[str, ...], prefix: str) -> str:
    parts = [str(attrs[k]) for k in keys if attrs.get(k) is not None]
    parts += [str(v) for k, v in attrs.items() if k.startswith(prefix) and k.endswith("content")]
    return "\n".join(parts)


class Pricing:
    """Each model's prices, resolved once (:class:`~hakaru.pricing.PriceBook`: the genai-prices
    snapshot), for calls whose span carries no dollars."""

    def __init__(self) -> None:
        self.book = PriceBook(None)
        self.known: dict[str, Prices | None] = {}

    def of(self, model: str) -> Prices | None:
        if model not in self.known:
            self.known[model] = self.book.resolve(model, ModelSpec(model))
        return self.known[model]


class CallFields(NamedTuple):
    """A call's record without what depends on its run: id, parents and times. ``row`` holds
    the :class:`~hakaru.types.CallRecord` fields from ``role`` to ``reasoning_budget`` in
    order, with ``None`` for latency and simulated times the span does not give."""

    row: list[Any]
    estimated: bool  # tokens estimated from text
    no_usage: bool  # no tokens and no text: 0 tokens, unpriced
    priced_from_model: bool  # dollars from the model's prices (the run records them)


# The names call_fields reads, as module constants: it runs once per imported call, and each
# class attribute (CALL.STATUS, …) is a look-up every time.
_OWN_STATUS, _OWN_ID, _USAGE_SOURCE = CALL.STATUS, CALL.ID, CALL.USAGE_SOURCE
_RESPONSE_MODEL, _REQUEST_MODEL, _OI_MODEL = (
    GEN_AI.RESPONSE_MODEL, GEN_AI.REQUEST_MODEL, OPENINFERENCE.MODEL
)  # fmt: skip
_INPUT, _PROMPT, _OI_PROMPT = GEN_AI.INPUT_TOKENS, GEN_AI.PROMPT_TOKENS, OPENINFERENCE.PROMPT_TOKENS
_OUTPUT, _COMPLETION, _OI_COMPLETION = (
    GEN_AI.OUTPUT_TOKENS, GEN_AI.COMPLETION_TOKENS, OPENINFERENCE.COMPLETION_TOKENS
)  # fmt: skip
_REASONING, _OI_REASONING = GEN_AI.REASONING, OPENINFERENCE.REASONING
_CACHE_READ, _OI_CACHE_READ = GEN_AI.CACHE_READ, OPENINFERENCE.CACHE_READ
_CACHE_WRITE, _OI_CACHE_WRITE = GEN_AI.CACHE_CREATION, OPENINFERENCE.CACHE_WRITE
_DOLLARS_KNOWN, _OWN_DOLLARS, _OI_COST = CALL.DOLLARS_KNOWN, CALL.DOLLARS, OPENINFERENCE.COST_TOTAL
_AGENT, _FINISH, _ERROR_TYPE, _OWN_ERROR = (
    GEN_AI.AGENT_NAME, GEN_AI.FINISH_REASONS, GEN_AI.ERROR_TYPE, CALL.ERROR
)  # fmt: skip
_new_fields = tuple.__new__
_intern = sys.intern  # CallFields without its Python-level __new__


def call_fields(attrs: Attributes, status: str, message: str, pricing: Pricing) -> CallFields:
    """The record fields of a model-call span with these attributes; ``status`` is the span's
    (``error`` when its status code is ERROR, else ``ok``), ``message`` its status message.

    This runs once per imported call: the common look-ups are written out (a helper call per
    attribute cost as much as the rest of the work on a span's attributes)."""
    a = attrs
    get = a.get
    own = get(_OWN_STATUS)
    if type(own) is str and own in _STATUSES:
        status = own
    model = get(_RESPONSE_MODEL)
    if model is None:
        model = get(_REQUEST_MODEL)
        if model is None:
            model = get(_OI_MODEL)
    if type(model) is not str or not model:
        model = str(model or "unknown")
    model = _intern(model)
    v = get(_INPUT)
    if v is None:
        v = _first(a, _PROMPT, _OI_PROMPT)
    n_in = (v if v > 0 else 0) if type(v) is int else _int(v)
    v = get(_OUTPUT)
    if v is None:
        v = _first(a, _COMPLETION, _OI_COMPLETION)
    n_out = (v if v > 0 else 0) if type(v) is int else _int(v)
    # the classes most calls do not report: 0 without a call to _int
    v = get(_REASONING)
    if v is None:
        v = get(_OI_REASONING)
    reasoning = 0 if v is None else (v if v > 0 else 0) if type(v) is int else _int(v) or 0
    v = get(_CACHE_READ)
    if v is None:
        v = get(_OI_CACHE_READ)
    read = 0 if v is None else (v if v > 0 else 0) if type(v) is int else _int(v) or 0
    v = get(_CACHE_WRITE)
    if v is None:
        v = get(_OI_CACHE_WRITE)
    write = 0 if v is None else (v if v > 0 else 0) if type(v) is int else _int(v) or 0
    estimated = get(_USAGE_SOURCE) == "estimated"
    no_usage = False
    if n_in is None or n_out is None:
        estimated = True
        if n_in is None:
            n_in = count_tokens(
                _text(a, ("input.value", "gen_ai.input.messages"), "llm.input_messages")
            )
        if n_out is None:
            n_out = count_tokens(
                _text(a, ("output.value", "gen_ai.output.messages"), "llm.output_messages")
            )
        no_usage = n_in == 0 and n_out == 0 and status in ("ok", "flagged")
    if read + write > n_in:
        n_in = read + write
    if reasoning > n_out:
        n_out = reasoning
    dollars: float | None = 0.0
    from_model = False
    if status == "ok" or status == "flagged":
        if _DOLLARS_KNOWN in a:  # exported by hakaru: its own dollars, or unknown
            dollars = _float(get(_OWN_DOLLARS)) if a[_DOLLARS_KNOWN] else None
        elif _OI_COST in a and _float(a[_OI_COST]) is not None:
            dollars = _float(a[_OI_COST])
        elif estimated:
            dollars = None  # tokens not reported: the dollars are not known either
        else:
            known = pricing.known
            prices = known[model] if model in known else pricing.of(model)
            from_model = True
            dollars = (
                None if prices is None else prices.dollars(n_in, n_out, reasoning, read, write)
            )
    role = get(_AGENT)
    if type(role) is not str or not role:
        role = str(role or "llm")
    role = _intern(role)
    finish = get(_FINISH)
    error = get(_OWN_ERROR) or (message if status == "error" else "")
    row = [
        role,
        model,
        1,
        status,
        str(get(_ERROR_TYPE) or "") if status != "ok" else "",
        error if type(error) is str else str(error or ""),
        n_in,
        n_out,
        reasoning,
        read,
        write,
        "estimated" if estimated else "reported",
        1.0,
        dollars,
        None,  # latency, sim_start, sim_end, step, vote, candidate: hakaru's own, below
        None,
        None,
        None,
        None,
        "",
        str(finish[0]) if isinstance(finish, list) and finish else "",
        None,  # reasoning_budget
    ]
    if _OWN_ID in a:  # exported by hakaru: what the conventions have no name for
        row[2] = _int(get(CALL.ATTEMPT)) or 1
        row[12] = _float(get(CALL.MODEL_SIZE)) or 1.0
        row[14:20] = [
            _float(get(CALL.LATENCY)),
            _float(get(CALL.SIM_START)),
            _float(get(CALL.SIM_END)),
            _int(get(CALL.STEP)),
            _int(get(CALL.VOTE)),
            str(get(CALL.CANDIDATE) or ""),
        ]
        row[21] = _int(get(CALL.REASONING_BUDGET))
    fields: CallFields = _new_fields(CallFields, (row, estimated, no_usage, from_model))
    return fields
