"""The calls of a cassette as :class:`~hakaru.types.CallRecord` s (for ``hakaru diff``).

A session's entry holds the response with its usage; an SDK's entry holds the HTTP answer,
read with the proxy's readers of the OpenAI and Anthropic wire formats (a stream from its
events, usage chunk included). Tokens a server did not report are estimated with hakaru's
tokenizer and marked so. A cassette keeps no timing and no awaits, so the records have no
parents and no times; every recorded call answered, so every record is ``ok``.
"""

from __future__ import annotations

import json
from pathlib import Path

from hakaru.cache import response_from_json
from hakaru.errors import ConfigError
from hakaru.proxy.wire import ENDPOINTS, Outcome, SseEvents, prompt_text, read_answer, read_stream
from hakaru.testing.cassette import Entry, read_cassette
from hakaru.tokenizer import count_tokens
from hakaru.types import CallRecord

__all__ = ["cassette_records"]


def cassette_records(path: str | Path) -> list[CallRecord]:
    """One record per call of the cassette at ``path``, in recorded order (ids from 1)."""
    out = []
    for number, entry in enumerate(read_cassette(path), start=1):
        try:
            out.append(_record(number, entry))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"call {number} of the cassette {path} cannot be read ({exc!r}). Re-record it "
                "with --hakaru-record all"
            ) from None
    return out


def _record(number: int, entry: Entry) -> CallRecord:
    if entry.via == "session":
        response = response_from_json(entry.response)
        usage = response.usage
        model = str(entry.request.get("model") or response.model or "unknown")
        return CallRecord(
            id=number,
            parents=(),
            role="default",
            model=model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            usage_source=usage.source,
            finish_reason=response.finish_reason,
        )
    endpoint = next((v for k, v in ENDPOINTS.items() if entry.endpoint.endswith(k)), "chat")
    answer = entry.response
    status = int(answer.get("status", 200))
    chunks = answer.get("chunks")
    if chunks is not None:
        events = SseEvents()
        for chunk in chunks:
            events.feed(str(chunk).encode())
        events.feed(b"\n")
        outcome = read_stream(status, events.events, endpoint)
    else:
        body = answer.get("body")
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        outcome = read_answer(endpoint, status, data)
    return _from_outcome(number, entry, endpoint, outcome)


def _from_outcome(number: int, entry: Entry, endpoint: str, outcome: Outcome) -> CallRecord:
    n_in, n_out = outcome.input_tokens, outcome.output_tokens
    estimated = n_in is None or n_out is None
    if n_in is None:
        n_in = count_tokens(prompt_text(endpoint, entry.request))
    if n_out is None:
        n_out = sum(count_tokens(t) for t in outcome.texts)
    model = entry.request.get("model")
    name = model if isinstance(model, str) and model else (outcome.model or "unknown")
    return CallRecord(
        id=number,
        parents=(),
        role="default",
        model=name,
        status="ok" if outcome.status == "ok" else "error",
        error_kind=outcome.error_kind,
        error=outcome.error,
        input_tokens=n_in,
        output_tokens=n_out,
        reasoning_tokens=min(outcome.reasoning_tokens, n_out),
        cache_read_tokens=min(outcome.cache_read_tokens, n_in),
        cache_write_tokens=min(outcome.cache_write_tokens, n_in),
        usage_source="estimated" if estimated else "reported",
        finish_reason=outcome.finish_reason,
    )
