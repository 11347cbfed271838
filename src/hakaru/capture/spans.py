"""What an LLM span says: model, tokens by class, outcome — from OpenInference or OTel GenAI.

Instrumentors describe an LLM call with one of two vocabularies of span attributes:

- **OpenInference** (``openinference-instrumentation-*``): ``openinference.span.kind = "LLM"``,
  ``llm.model_name``, ``llm.token_count.prompt`` (every prompt token, cached ones included),
  ``llm.token_count.completion`` (reasoning included), ``llm.token_count.prompt_details.
  cache_read`` / ``cache_write``, ``llm.token_count.completion_details.reasoning``, and the
  messages as ``llm.input_messages.{i}.message.content`` / ``llm.output_messages.…``;
- **OpenTelemetry GenAI** semantic conventions (``gen_ai.*``): ``gen_ai.operation.name``
  (``chat``, ``text_completion``, ``generate_content``), ``gen_ai.request.model`` /
  ``gen_ai.response.model``, ``gen_ai.usage.input_tokens`` / ``output_tokens``, the cache and
  reasoning details under ``gen_ai.usage.*``, and ``gen_ai.input.messages`` /
  ``gen_ai.output.messages`` (JSON).

:func:`is_llm_span` says whether a span is one LLM call; :func:`read_call` reads what it
reports into an :class:`LlmCall` — the token classes as hakaru keeps them (never overlapping:
cache reads and writes are part of the input, reasoning part of the output). A call whose span
carries no usage (a stream asked without ``include_usage``) is estimated with
:func:`hakaru.tokenizer.count_tokens` from the message texts the span carries, and marked so.
Nothing here imports OpenTelemetry: it reads plain attribute mappings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hakaru.otel.attributes import GEN_AI, OPENINFERENCE
from hakaru.tokenizer import count_tokens

__all__ = ["LlmCall", "is_llm_span", "read_call"]

#: ``gen_ai.operation.name`` values that are one completion (embeddings and tools are not).
GENAI_CALLS = frozenset({"chat", "text_completion", "generate_content", "completion"})

# Attribute names (hakaru.otel.attributes), first found wins: OpenInference, then the GenAI
# conventions, then spellings instrumentors still write (the anthropic SDK's own spans say
# ``cache_write``, older GenAI code ``…_input_tokens``).
_MODEL = (OPENINFERENCE.MODEL, GEN_AI.RESPONSE_MODEL, GEN_AI.REQUEST_MODEL)
_INPUT = (OPENINFERENCE.PROMPT_TOKENS, GEN_AI.INPUT_TOKENS, GEN_AI.PROMPT_TOKENS)
_OUTPUT = (OPENINFERENCE.COMPLETION_TOKENS, GEN_AI.OUTPUT_TOKENS, GEN_AI.COMPLETION_TOKENS)
_CACHE_READ = (
    OPENINFERENCE.CACHE_READ,
    GEN_AI.CACHE_READ,
    "gen_ai.usage.cache_read_input_tokens",
)
_CACHE_WRITE = (
    OPENINFERENCE.CACHE_WRITE,
    GEN_AI.CACHE_CREATION,
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
)
_REASONING = (OPENINFERENCE.REASONING, GEN_AI.REASONING)
_MESSAGE = re.compile(r"llm\.(input|output)_messages\.(\d+)\.message\.(?:content|contents\.\d+\.)")


@dataclass(frozen=True, slots=True)
class LlmCall:
    """One LLM call as a span reported it (tokens as hakaru counts them)."""

    model: str
    input_tokens: int  # every prompt token, cache reads and writes included
    output_tokens: int  # every generated token, reasoning included
    reasoning_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    estimated: bool  # the span reported no usage: counted from the message texts
    finish_reason: str


def is_llm_span(attributes: Mapping[str, Any]) -> bool:
    """Whether a span with these attributes is one LLM call (OpenInference or GenAI).

    >>> is_llm_span({"openinference.span.kind": "LLM"}), is_llm_span({"gen_ai.operation.name": "chat"})
    (True, True)
    >>> is_llm_span({"openinference.span.kind": "CHAIN"}), is_llm_span({"gen_ai.operation.name": "embeddings"})
    (False, False)
    """  # noqa: E501
    kind = attributes.get(OPENINFERENCE.SPAN_KIND)
    if kind is not None:
        return bool(kind == "LLM")
    return attributes.get(GEN_AI.OPERATION) in GENAI_CALLS


def _first(attributes: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = attributes.get(name)
        if value is not None:
            return value
    return None


def _count(attributes: Mapping[str, Any], names: tuple[str, ...]) -> int | None:
    value = _first(attributes, names)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return max(0, int(value))


def _genai_texts(raw: Any) -> list[str]:
    """The texts of ``gen_ai.input.messages`` / ``gen_ai.output.messages`` (JSON)."""
    try:
        messages = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        return []
    texts: list[str] = []
    for message in messages if isinstance(messages, list) else []:
        parts = message.get("parts", []) if isinstance(message, dict) else []
        for part in parts if isinstance(parts, list) else []:
            if isinstance(part, dict) and isinstance(part.get("content"), str):
                texts.append(part["content"])
    return texts


def message_texts(attributes: Mapping[str, Any], which: str) -> list[str]:
    """The texts of the ``which`` (``input`` or ``output``) messages, in order."""
    found: dict[int, list[str]] = {}
    for key, value in attributes.items():
        if not key.startswith("llm.") or not isinstance(value, str):
            continue
        match = _MESSAGE.match(key)
        if match is None or match.group(1) != which:
            continue
        if key.endswith((".message.content", ".message_content.text")):
            found.setdefault(int(match.group(2)), []).append(value)
    if found:
        return ["".join(found[i]) for i in sorted(found)]
    return _genai_texts(attributes.get(f"gen_ai.{which}.messages"))


def _finish_reason(attributes: Mapping[str, Any]) -> str:
    value = attributes.get("llm.finish_reason")
    if value is None:
        value = attributes.get(GEN_AI.FINISH_REASONS)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return value if isinstance(value, str) else ""


def read_call(attributes: Mapping[str, Any]) -> LlmCall:
    """What an LLM span reports, tokens estimated from its messages when it reports none.

    >>> read_call({"llm.model_name": "gpt-4.1-mini", "llm.token_count.prompt": 120,
    ...            "llm.token_count.completion": 30,
    ...            "llm.token_count.prompt_details.cache_read": 100,
    ...            "llm.token_count.completion_details.reasoning": 10})
    LlmCall(model='gpt-4.1-mini', input_tokens=120, output_tokens=30, reasoning_tokens=10, cache_read_tokens=100, cache_write_tokens=0, estimated=False, finish_reason='')
    """  # noqa: E501
    model = _first(attributes, _MODEL)
    n_in = _count(attributes, _INPUT)
    n_out = _count(attributes, _OUTPUT)
    estimated = n_in is None or n_out is None
    if n_in is None:
        n_in = count_tokens("\n".join(message_texts(attributes, "input")))
    if n_out is None:
        n_out = sum(count_tokens(t) for t in message_texts(attributes, "output"))
    read = min(_count(attributes, _CACHE_READ) or 0, n_in)
    write = min(_count(attributes, _CACHE_WRITE) or 0, n_in - read)
    return LlmCall(
        model=model if isinstance(model, str) and model else "unknown",
        input_tokens=n_in,
        output_tokens=n_out,
        reasoning_tokens=min(_count(attributes, _REASONING) or 0, n_out),
        cache_read_tokens=read,
        cache_write_tokens=write,
        estimated=estimated,
        finish_reason=_finish_reason(attributes),
    )
