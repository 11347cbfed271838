"""Anthropic's Messages API on the simulated server: ``POST /v1/messages``.

What the Anthropic SDK sends — a ``system`` prompt, ``messages`` whose content is a string or a
list of blocks (``text``, ``tool_use``, ``tool_result``…), ``max_tokens`` (required),
``thinking`` (``{type: enabled, budget_tokens}``, or ``{type: adaptive}`` with
``output_config.effort`` — the budget form refused on Claude 4.7 and later), ``cache_control``
on blocks, ``stream`` — becomes
one simulated :class:`~hakaru.types.Request`, and its answer goes back as Anthropic writes it:
a ``message`` with ``thinking`` and ``text`` content blocks, a ``stop_reason``, and a ``usage``
whose ``input_tokens`` leave out the cache tokens, reported apart as
``cache_creation_input_tokens`` and ``cache_read_input_tokens`` (Anthropic's convention; OpenAI's
``prompt_tokens`` include the cached ones). Streams are Anthropic's server-sent events:
``message_start`` (with the input usage), ``content_block_start``/``_delta``/``_stop`` per block,
``message_delta`` (stop reason and output tokens), ``message_stop``.

Thinking is simulated by the server's reasoning mode (:mod:`hakaru.proxy.sim_reasoning`:
honour, ignore or starve the budget; an effort counts as its tokens in
:data:`hakaru.backends.reasoning_controls.EFFORT_TOKENS`), as deterministic prose. Anthropic's
usage does not count thinking tokens apart (they are inside ``output_tokens``); the server's own
statistics do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hakaru.backends.reasoning_controls import (
    ANTHROPIC_EFFORTS,
    anthropic_rejects_budget,
    requested_budget,
)
from hakaru.errors import ContextOverflow, RequestRejected
from hakaru.proxy.faults import Fault
from hakaru.proxy.prompts import recognise, text_of
from hakaru.proxy.serving import DropConnection, json_response, send
from hakaru.proxy.sim_reasoning import starved, thinking_text
from hakaru.tokenizer import count_tokens
from hakaru.types import Message, Request, Response

if TYPE_CHECKING:
    from hakaru.proxy.server import SimServer

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

__all__ = [
    "MessagesCall",
    "answer_messages",
    "message_body",
    "message_events",
    "parse_messages",
]

_STOP = {"stop": "end_turn", "length": "max_tokens"}


class BadMessages(Exception):
    """A request the Messages API would refuse (400), with the parameter at fault."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class MessagesCall:
    """One ``/v1/messages`` request, read: the simulated request and what caching needs."""

    name: str  # the model the client named
    request: Request
    parts: tuple[tuple[str, str], ...]  # (role, text) in prompt order, system first
    breakpoints: tuple[int, ...]  # indices of parts that carry cache_control
    thinking: int | None  # budget tokens when thinking is enabled
    stream: bool


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list) or not all(isinstance(b, dict) for b in content):
        raise BadMessages(f"{where}: content must be a string or a list of blocks.", where)
    return list(content)


def _block_text(block: Mapping[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind == "tool_result":
        inner = block.get("content", "")
        return inner if isinstance(inner, str) else text_of(inner)
    if kind == "tool_use":
        return json.dumps(block.get("input", {}), sort_keys=True)
    if kind == "thinking":
        return str(block.get("thinking", ""))
    return ""


def parse_messages(body: Mapping[str, Any], model: str) -> MessagesCall:
    """The :class:`MessagesCall` of a request body; ``model`` is the simulated model that
    answers it. Raises :class:`BadMessages` for what the API would refuse."""
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise BadMessages("model: Field required (a string).", "model")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise BadMessages("max_tokens: Field required (a positive integer).", "max_tokens")
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise BadMessages("messages: Field required (a non-empty list).", "messages")
    parts: list[tuple[str, str]] = []
    marks: list[int] = []
    system = body.get("system")
    if system is not None:
        for block in _blocks(system, "system"):
            if block.get("cache_control"):
                marks.append(len(parts))
            parts.append(("system", _block_text(block)))
    messages: list[Message] = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            raise BadMessages(f"messages.{i}.role: Input should be 'user' or 'assistant'.")
        texts = []
        for block in _blocks(m.get("content"), f"messages.{i}.content"):
            if block.get("cache_control"):
                marks.append(len(parts))
            text = _block_text(block)
            parts.append((m["role"], text))
            texts.append(text)
        messages.append(Message(m["role"], "".join(texts)))
    if system is not None:
        joined = "".join(text for role, text in parts if role == "system")
        messages.insert(0, Message("system", joined))
    temperature = body.get("temperature", 1.0)
    if not isinstance(temperature, int | float) or not 0 <= temperature <= 1:
        raise BadMessages("temperature: Input should be a number from 0 to 1.", "temperature")
    budget = _thinking_budget(body, name, max_tokens)
    msgs = tuple(messages)
    request = Request(
        model=model,
        messages=msgs,
        task=recognise(msgs),
        max_tokens=max_tokens,
        temperature=float(temperature),
    )
    return MessagesCall(name, request, tuple(parts), tuple(marks), budget, bool(body.get("stream")))


def _thinking_budget(body: Mapping[str, Any], name: str, max_tokens: int) -> int | None:
    """The thinking budget in tokens (``None``: thinking off), refused as the API refuses it:
    a budget under 1,024 or not below ``max_tokens``, the budget form on models that take
    adaptive thinking only, an unknown effort."""
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        if anthropic_rejects_budget(name):
            raise BadMessages(
                f"thinking.type.enabled is not supported for model '{name}'. Use "
                "thinking.type.adaptive with output_config.effort.",
                "thinking",
            )
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024 or budget >= max_tokens:
            raise BadMessages(
                "thinking.budget_tokens: must be at least 1024 and less than max_tokens.",
                "thinking",
            )
    asked = requested_budget("anthropic", body)
    if asked.level is not None and asked.level not in ANTHROPIC_EFFORTS:
        raise BadMessages(
            f"output_config.effort: Input should be one of {', '.join(ANTHROPIC_EFFORTS)}.",
            "output_config",
        )
    return asked.budget or None


def _usage(uncached: int, read: int, write: int, output: int) -> dict[str, int]:
    return {
        "input_tokens": uncached,
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
        "output_tokens": output,
    }


def message_body(
    ident: str, call: MessagesCall, answer: Response, thinking: str, cache: tuple[int, int]
) -> dict[str, Any]:
    """The ``message`` object of a complete (not streamed) answer."""
    content: list[dict[str, Any]] = []
    if thinking:
        content.append({"type": "thinking", "thinking": thinking, "signature": "hakaru-sim"})
    content.append({"type": "text", "text": answer.text})
    read, write = cache
    output = answer.usage.output_tokens + count_tokens(thinking)
    return {
        "id": ident,
        "type": "message",
        "role": "assistant",
        "model": call.name,
        "content": content,
        "stop_reason": _STOP.get(answer.finish_reason, "end_turn"),
        "stop_sequence": None,
        "usage": _usage(answer.usage.input_tokens - read - write, read, write, output),
    }


def _pieces(text: str, words: int) -> list[str]:
    found = text.split(" ")
    return [" ".join(found[i : i + words]) + (" " if i + words < len(found) else "")
            for i in range(0, len(found), words)] or [text]  # fmt: skip


def message_events(
    ident: str,
    call: MessagesCall,
    answer: Response,
    thinking: str,
    cache: tuple[int, int],
    words: int,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The stream of a message as (event name, data) pairs, in Anthropic's order."""
    body = message_body(ident, call, answer, thinking, cache)
    usage = dict(body["usage"])
    start = {**body, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    yield "message_start", {"type": "message_start", "message": start}
    for index, block in enumerate(body["content"]):
        kind = block["type"]
        empty = {"type": kind, kind: ""} if kind == "thinking" else {"type": "text", "text": ""}
        yield "content_block_start", {"type": "content_block_start", "index": index,
                                      "content_block": empty}  # fmt: skip
        text = block["thinking"] if kind == "thinking" else block["text"]
        for piece in _pieces(text, words):
            delta = (
                {"type": "thinking_delta", "thinking": piece}
                if kind == "thinking"
                else {"type": "text_delta", "text": piece}
            )
            yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                          "delta": delta}  # fmt: skip
        if kind == "thinking":
            signature = {"type": "signature_delta", "signature": block["signature"]}
            yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                          "delta": signature}  # fmt: skip
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": body["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _error(status: int, kind: str, message: str) -> web.Response:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return json_response(status, _dumps(body).encode())


async def answer_messages(
    server: SimServer, http: web.Request, body: Any, fault: Fault
) -> web.StreamResponse:
    """Answer one ``/v1/messages`` request on ``server`` (faults already drawn and applied,
    except a stream's drop and garbage)."""
    if not isinstance(body, dict):
        return _error(400, "invalid_request_error", "The request body must be a JSON object.")
    try:
        call = parse_messages(body, server.sim_model(str(body.get("model") or "")))
        think, left = server.reasoning.plan(call.thinking, call.request.max_tokens)
        answer = server.reasoning.answer(
            await server.backend.complete(starved(call.request, left)), left
        )
    except BadMessages as exc:
        return _error(400, "invalid_request_error", str(exc))
    except ContextOverflow as exc:
        return _error(400, "invalid_request_error", f"prompt is too long: {exc}")
    except RequestRejected as exc:
        return _error(400, "invalid_request_error", str(exc))
    read, write = server.cache.marked(call.parts, call.breakpoints)
    thinking = thinking_text(think, call.request.key())
    ident = server.next_id("msg")
    headers = server.model_headers(call.name, call.request.model)
    n_think = count_tokens(thinking)
    n_in, out = answer.usage.input_tokens, answer.usage.output_tokens + n_think
    if not call.stream:
        if fault.kind == "garbage":
            return json_response(200, b'{"id": "' + ident.encode() + b'", "content": [{"ty')
        server.answered += 1
        server.bill(n_in, out, n_think, read, write)
        response = json_response(200, _dumps(message_body(ident, call, answer, thinking,
                                                          (read, write))).encode())  # fmt: skip
        response.headers.update(headers)
        return response
    stream = web.StreamResponse(
        headers={"content-type": "text/event-stream", "cache-control": "no-cache", **headers}
    )
    await stream.prepare(http)
    events = list(message_events(ident, call, answer, thinking, (read, write), server.stream_words))
    for i, (name, data) in enumerate(events):
        if fault.kind == "drop" and i >= len(events) // 2:
            raise DropConnection  # a broken stream: no message_stop
        if fault.kind == "garbage" and i == 1:
            await send(
                stream, b'event: content_block_start\ndata: {"type": "conte\n\n', server.limits
            )
            break
        chunk = f"event: {name}\ndata: ".encode() + _dumps(data).encode() + b"\n\n"
        await send(stream, chunk, server.limits)
    else:
        server.answered += 1
        server.bill(n_in, out, n_think, read, write)
    await stream.write_eof()
    return stream
