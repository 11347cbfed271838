"""Reading OpenAI-compatible traffic: what a request asks, what an answer or a stream reports.

The recording proxy sees bytes; this module turns them into what a call record needs — an
:class:`Outcome` (``ok`` or an ``error_kind``, the reported token counts or ``None`` where the
server reported none, the answer text for estimating what is missing, the finish reason). It is
lenient where servers differ (vLLM's ``reasoning_content``, llama.cpp's extras, missing usage) and
never raises on what a server sends: anything unreadable is a ``bad_response`` outcome.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hakaru.backends.openai import usage_count
from hakaru.proxy.prompts import text_of
from hakaru.types import CallStatus

__all__ = [
    "ENDPOINTS",
    "Outcome",
    "SseEvents",
    "error_kind",
    "prompt_text",
    "read_answer",
    "read_stream",
    "streamed_texts",
    "validate",
]

#: Recorded paths (after ``/v1``) and the kind of call each makes; ``messages`` is Anthropic's
#: Messages API, read by :mod:`hakaru.proxy.anthropic_wire`.
ENDPOINTS = {
    "/chat/completions": "chat",
    "/completions": "completion",
    "/embeddings": "embedding",
    "/messages": "messages",
}
_EXCERPT = 300  # characters of an upstream error body kept in a record


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a call ended, as far as the response tells. ``None`` tokens: not reported."""

    status: CallStatus
    error_kind: str = ""
    error: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int = 0  # inside the output
    cache_read_tokens: int = 0  # inside the input
    cache_write_tokens: int = 0  # inside the input
    texts: tuple[str, ...] = ()  # the answer's text (and reasoning), to estimate from
    finish_reason: str = ""
    model: str = ""


def validate(endpoint: str, body: Any) -> str | None:
    """What is wrong with a request body, or ``None``.

    >>> validate("chat", {"model": "m", "messages": []})
    "'messages' must be a non-empty list of {role, content} objects"
    """
    if endpoint == "messages":
        from hakaru.proxy.anthropic_wire import validate_messages

        return validate_messages(body)
    if not isinstance(body, dict):
        return "the request body must be a JSON object"
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        return "'model' must be a string"
    if endpoint == "chat":
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "'messages' must be a non-empty list of {role, content} objects"
        if not all(isinstance(m, dict) for m in messages):
            return "each of 'messages' must be an object with a 'role' and a 'content'"
    elif endpoint == "completion" and "prompt" not in body:
        return "a completion request needs a 'prompt'"
    elif endpoint == "embedding" and "input" not in body:
        return "an embeddings request needs an 'input'"
    return None


def prompt_text(endpoint: str, body: dict[str, Any]) -> str:
    """The text a request sends the model (messages joined as ``Request.prompt_text`` joins)."""
    if endpoint == "messages":
        from hakaru.proxy.anthropic_wire import messages_prompt

        return messages_prompt(body)
    if endpoint == "chat":
        messages = body.get("messages") or []
        return "\n".join(text_of(m.get("content")) for m in messages if isinstance(m, dict))
    raw = body.get("prompt" if endpoint == "completion" else "input", "")
    if isinstance(raw, list):
        return "\n".join(p if isinstance(p, str) else json.dumps(p) for p in raw)
    return raw if isinstance(raw, str) else json.dumps(raw)


def error_kind(status: int, body: bytes) -> str:
    """The ``error_kind`` (names of :mod:`hakaru.errors`) of an answer with HTTP ``status``."""
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    if status >= 400:
        text = body[:4096].decode("utf-8", "replace").lower()
        if any(s in text for s in ("context_length_exceeded", "maximum context", "too long")):
            return "context_overflow"
        return "rejected"
    return "bad_response"


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _loads(payload: bytes) -> dict[str, Any] | None:
    try:
        obj = json.loads(payload)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _excerpt(data: bytes) -> str:
    return " ".join(data[: _EXCERPT * 2].decode("utf-8", "replace").split())[:_EXCERPT]


def _with_usage(usage: Any, **fields: Any) -> Outcome:
    return Outcome(
        "ok",
        input_tokens=usage_count(usage, "prompt_tokens"),
        output_tokens=usage_count(usage, "completion_tokens"),
        reasoning_tokens=usage_count(usage, "completion_tokens_details", "reasoning_tokens") or 0,
        # OpenAI's prompt_tokens include the cached ones
        cache_read_tokens=usage_count(usage, "prompt_tokens_details", "cached_tokens") or 0,
        **fields,
    )


def read_answer(endpoint: str, status: int, data: bytes) -> Outcome:
    """The outcome of a complete (not streamed) answer.

    >>> read_answer("chat", 429, b"slow down").error_kind
    'rate_limited'
    >>> read_answer("chat", 200, b'{"choices": [{"message": {"content": "hi"}}]}').texts
    ('hi',)
    """
    if endpoint == "messages":
        from hakaru.proxy.anthropic_wire import read_message

        return read_message(status, data)
    if not 200 <= status < 300:
        return Outcome("error", error_kind(status, data), f"HTTP {status}: {_excerpt(data)}")
    obj = _loads(data)
    if obj is None or (endpoint != "embedding" and not isinstance(obj.get("choices"), list)):
        return Outcome(
            "error",
            "bad_response",
            f"HTTP {status} with a body that is not a completion: {_excerpt(data)}",
        )
    texts: list[str] = []
    finish = ""
    for choice in obj.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        if endpoint == "chat":
            message = choice.get("message")
            if isinstance(message, dict):
                texts.append(text_of(message.get("content")))
                texts.append(_str(message.get("reasoning_content") or message.get("reasoning")))
        else:
            texts.append(_str(choice.get("text")))
        finish = finish or _str(choice.get("finish_reason"))
    usage = obj.get("usage")
    if endpoint == "embedding" and isinstance(usage, dict):
        usage = {"completion_tokens": 0, **usage}  # embeddings generate nothing
    return _with_usage(
        usage,
        texts=tuple(t for t in texts if t),
        finish_reason=finish,
        model=_str(obj.get("model")),
    )


def streamed_texts(events: list[bytes]) -> list[str]:
    """The text (and reasoning) carried by the deltas of stream events (either API's)."""
    texts: list[str] = []
    for payload in events:
        obj = _loads(payload) or {}
        delta = obj.get("delta")
        if obj.get("type") == "content_block_delta" and isinstance(delta, dict):  # Anthropic
            texts.append(_str(delta.get("text")) or _str(delta.get("thinking")))
        for choice in obj.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                texts.append(text_of(delta.get("content")))
                texts.append(_str(delta.get("reasoning_content") or delta.get("reasoning")))
            else:
                texts.append(_str(choice.get("text")))
    return [t for t in texts if t]


def read_stream(status: int, events: list[bytes], endpoint: str = "chat") -> Outcome:
    """The outcome of a stream read to its end, from its ``data:`` payloads.

    The usage and the finish reason come last, so only the last events are parsed — unless
    the stream reported no usage, when every delta is read to estimate the output.
    """
    if endpoint == "messages":
        from hakaru.proxy.anthropic_wire import read_message_stream

        return read_message_stream(status, events)
    if not 200 <= status < 300:
        body = b"\n".join(events)
        return Outcome("error", error_kind(status, body), f"HTTP {status}: {_excerpt(body)}")
    usage: Any = None
    finish = ""
    model = ""
    readable = False
    for payload in reversed(events[-4:]):
        obj = _loads(payload)
        if obj is None:
            continue
        readable = True
        error = obj.get("error")
        if isinstance(error, dict | str):
            text = error.get("message", "") if isinstance(error, dict) else error
            return Outcome("error", "server_error", f"error event in the stream: {text!s:.300}")
        if usage is None and isinstance(obj.get("usage"), dict):
            usage = obj["usage"]
        model = model or _str(obj.get("model"))
        for choice in obj.get("choices") or []:
            if isinstance(choice, dict) and not finish:
                finish = _str(choice.get("finish_reason"))
    texts: list[str] = []
    if usage_count(usage, "completion_tokens") is None:
        texts = streamed_texts(events)
    if not readable and not texts:
        return Outcome("error", "bad_response", "the stream held no completion events")
    return _with_usage(usage, texts=tuple(texts), finish_reason=finish, model=model)


class SseEvents:
    """Splits a server-sent-event stream into its ``data:`` payloads as bytes arrive.

    >>> events = SseEvents()
    >>> events.feed(b'data: {"a": 1}\\n\\ndata: [DO'); events.feed(b"NE]\\n\\n")
    >>> events.events
    [b'{"a": 1}']
    """

    __slots__ = ("_rest", "events")

    def __init__(self) -> None:
        self._rest = b""
        self.events: list[bytes] = []

    def feed(self, data: bytes) -> None:
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        for line in lines:
            if line.startswith(b"data:"):
                payload = line[5:].strip()
                if payload and payload != b"[DONE]":
                    self.events.append(payload)
