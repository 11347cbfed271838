"""Reading Anthropic Messages traffic: what a ``/v1/messages`` answer or stream reports.

The Anthropic counterpart of :mod:`hakaru.proxy.wire`, with the same lenience (never raises on
what a server sends) and the same :class:`~hakaru.proxy.wire.Outcome`. Usage is normalised to
hakaru's token classes here, at the wire: Anthropic's ``input_tokens`` leave out the cache
tokens, so a record's input is ``input_tokens + cache_creation_input_tokens +
cache_read_input_tokens``. Anthropic does not count thinking tokens apart (they are inside
``output_tokens``): the reasoning tokens are estimated from the thinking text, capped at the
reported output, while the reported counts stay authoritative. A stream's input usage comes in
``message_start`` and its output count in the last ``message_delta``.
"""

from __future__ import annotations

import json
from typing import Any

from hakaru.backends.openai import usage_count
from hakaru.proxy.wire import Outcome, error_kind
from hakaru.tokenizer import count_tokens

__all__ = ["messages_prompt", "read_message", "read_message_stream", "validate_messages"]

_STOP = {"end_turn": "stop", "max_tokens": "length", "stop_sequence": "stop", "tool_use": "tool"}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    out = []
    for block in content:
        if isinstance(block, dict):
            out.append(_text(block.get("text")) or _content_text(block.get("content")))
    return "".join(out)


def validate_messages(body: Any) -> str | None:
    """What is wrong with a ``/v1/messages`` body, or ``None``."""
    if not isinstance(body, dict):
        return "the request body must be a JSON object"
    if not isinstance(body.get("model"), str):
        return "'model' must be a string"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list of {role, content} objects"
    if not all(isinstance(m, dict) for m in messages):
        return "each of 'messages' must be an object with a 'role' and a 'content'"
    return None


def messages_prompt(body: dict[str, Any]) -> str:
    """The text a Messages request sends the model: the system prompt, then each message."""
    parts = [_content_text(body.get("system"))]
    parts += [
        _content_text(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict)
    ]
    return "\n".join(p for p in parts if p)


def _outcome(
    usage: Any, output: int | None, texts: list[str], thinking: str, finish: str, model: str
) -> Outcome:
    uncached = usage_count(usage, "input_tokens")
    read = usage_count(usage, "cache_read_input_tokens") or 0
    write = usage_count(usage, "cache_creation_input_tokens") or 0
    n_in = None if uncached is None else uncached + read + write
    reasoning = count_tokens(thinking)
    if output is not None:
        reasoning = min(reasoning, output)
    return Outcome(
        "ok",
        input_tokens=n_in,
        output_tokens=output,
        reasoning_tokens=reasoning,
        cache_read_tokens=read,
        cache_write_tokens=write,
        texts=tuple(t for t in (*texts, thinking) if t),
        finish_reason=_STOP.get(finish, finish),
        model=model,
    )


def read_message(status: int, data: bytes) -> Outcome:
    """The outcome of a complete ``message`` answer.

    >>> body = b'{"content": [{"type": "text", "text": "hi"}], "usage": {"input_tokens": 3, '
    >>> body += b'"cache_read_input_tokens": 5, "output_tokens": 1}, "stop_reason": "end_turn"}'
    >>> o = read_message(200, body); (o.input_tokens, o.cache_read_tokens, o.finish_reason)
    (8, 5, 'stop')
    """
    if not 200 <= status < 300:
        return Outcome("error", error_kind(status, data), f"HTTP {status}: {_excerpt(data)}")
    try:
        obj = json.loads(data)
    except ValueError:
        obj = None
    if not isinstance(obj, dict) or not isinstance(obj.get("content"), list):
        return Outcome(
            "error", "bad_response", f"HTTP {status} with a body that is not a message: "
            f"{_excerpt(data)}"
        )  # fmt: skip
    texts, thinking = [], []
    for block in obj["content"]:
        if isinstance(block, dict):
            texts.append(_text(block.get("text")))
            thinking.append(_text(block.get("thinking")))
    usage = obj.get("usage")
    return _outcome(
        usage,
        usage_count(usage, "output_tokens"),
        texts,
        "".join(thinking),
        _text(obj.get("stop_reason")),
        _text(obj.get("model")),
    )


def read_message_stream(status: int, events: list[bytes]) -> Outcome:
    """The outcome of a Messages stream read to its end, from its ``data:`` payloads."""
    if not 200 <= status < 300:
        body = b"\n".join(events)
        return Outcome("error", error_kind(status, body), f"HTTP {status}: {_excerpt(body)}")
    usage: dict[str, Any] = {}
    output: int | None = None
    texts: list[str] = []
    thinking: list[str] = []
    finish = model = ""
    seen = False
    for payload in events:
        try:
            obj = json.loads(payload)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        seen = True
        kind = obj.get("type")
        if kind == "error":
            error = obj.get("error")
            text = error.get("message", "") if isinstance(error, dict) else str(error)
            return Outcome("error", "server_error", f"error event in the stream: {text!s:.300}")
        if kind == "message_start" and isinstance(obj.get("message"), dict):
            message = obj["message"]
            model = _text(message.get("model"))
            if isinstance(message.get("usage"), dict):
                usage = dict(message["usage"])
        elif kind == "content_block_delta" and isinstance(obj.get("delta"), dict):
            delta = obj["delta"]
            texts.append(_text(delta.get("text")))
            thinking.append(_text(delta.get("thinking")))
        elif kind == "message_delta":
            late = obj.get("usage")
            if isinstance(late, dict):  # the final counts; newer API versions repeat the input
                output = usage_count(late, "output_tokens")
                usage.update({k: v for k, v in late.items() if k != "output_tokens"})
            delta = obj.get("delta")
            if isinstance(delta, dict):
                finish = _text(delta.get("stop_reason"))
    if not seen:
        return Outcome("error", "bad_response", "the stream held no message events")
    return _outcome(usage or None, output, texts, "".join(thinking), finish, model)


def _excerpt(data: bytes) -> str:
    return " ".join(data[:600].decode("utf-8", "replace").split())[:300]
