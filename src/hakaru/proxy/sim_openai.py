"""OpenAI's Chat Completions and Completions APIs on the simulated server:
``POST /v1/chat/completions`` and ``POST /v1/completions``.

A request becomes one simulated :class:`~hakaru.types.Request` per choice (``n``) or per prompt
(a completions ``prompt`` list), checked as OpenAI checks them (``model``, ``messages``, ``n``,
``max_tokens``/``max_completion_tokens``, ``temperature``, ``seed``; a bad one is a ``400`` in
OpenAI's error format naming the parameter). The reasoning budget comes from the request's own
fields (:func:`~hakaru.backends.reasoning_controls.requested_budget`: ``reasoning_effort``,
vLLM's and SGLang's), the answer is spoiled or starved as the server's reasoning mode says, and
goes back as a ``chat.completion``/``text_completion`` — or as server-sent chunks, with the usage
in a final chunk when ``stream_options.include_usage`` is set; cached prompt tokens are in
``prompt_tokens_details`` and reasoning tokens in ``completion_tokens_details``, as OpenAI
reports them. Faults drawn for the request (a garbled body, a dropped stream) are applied here.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hakaru.backends.reasoning_controls import EFFORT_TOKENS, requested_budget
from hakaru.errors import ContextOverflow, RequestRejected
from hakaru.proxy.faults import Fault
from hakaru.proxy.prompts import recognise, text_of
from hakaru.proxy.serving import DropConnection, json_response, send
from hakaru.proxy.sim_reasoning import starved
from hakaru.types import Message, Request, Response

if TYPE_CHECKING:
    from hakaru.proxy.server import SimServer

__all__ = ["answer_openai", "openai_error"]

_WORD = re.compile(r"\S+\s*")
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class _BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.param = param
        self.status = status


def openai_error(
    status: int, message: str, kind: str, code: str | None = None, param: str | None = None
) -> web.Response:
    """An error as OpenAI's API writes it."""
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return json_response(status, _dumps(body).encode())


def _usage(prompt: int, completion: int, reasoning: int, cached: int | None) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached is not None:  # chat completions: OpenAI's details (cached ones inside prompt)
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return usage


def _pieces(text: str, words: int) -> list[str]:
    """``text`` cut into pieces of ``words`` words (whitespace kept), for streaming."""
    found = _WORD.findall(text)
    lead = text[: len(text) - len(text.lstrip())]
    if lead and found:
        found[0] = lead + found[0]
    pieces = ["".join(found[i : i + words]) for i in range(0, len(found), words)]
    return pieces or [text]


async def answer_openai(
    server: SimServer, http: web.Request, body: Any, fault: Fault, *, chat: bool
) -> web.StreamResponse:
    """Answer a chat completion (``chat``) or a completion request read from ``http``."""
    try:
        if not isinstance(body, dict):
            raise _BadRequest("The request body must be a JSON object.")
        requests, name = _requests(server, body, chat=chat)
        budget = _budget(body) if chat else None
        reasoning, left = server.reasoning.plan(budget, requests[0].max_tokens)
        answers = [
            server.reasoning.answer(await server.backend.complete(starved(r, left)), left)
            for r in requests
        ]
    except _BadRequest as exc:
        return openai_error(exc.status, str(exc), "invalid_request_error", param=exc.param)
    except ContextOverflow as exc:
        return openai_error(400, str(exc), "invalid_request_error", code="context_length_exceeded")
    except RequestRejected as exc:  # a prompt the backend cannot answer (neural-sum's)
        return openai_error(400, str(exc), "invalid_request_error")
    ident = server.next_id("chatcmpl" if chat else "cmpl")
    read = (
        server.cache.automatic([(m.role, m.content) for m in requests[0].messages])[0]
        if chat
        else 0
    )
    n_in = answers[0].usage.input_tokens
    out = sum(a.usage.output_tokens for a in answers) + reasoning * len(answers)
    usage = _usage(n_in, out, reasoning * len(answers), read if chat else None)
    headers = server.model_headers(name, requests[0].model)
    if body.get("stream"):
        options = body.get("stream_options")
        include = isinstance(options, dict) and bool(options.get("include_usage"))
        stream = _stream(server, ident, name, answers, usage if include else None, chat, fault)
        events = web.StreamResponse(
            headers={
                "content-type": "text/event-stream",
                "cache-control": "no-cache",
                **headers,
            }
        )
        await events.prepare(http)
        async for piece in stream:
            await send(events, piece, server.limits)
        await events.write_eof()
        if fault.kind != "garbage":  # a stream that ended normally billed its tokens
            server.bill(n_in, out, reasoning * len(answers), read, 0)
        return events
    if fault.kind == "garbage":
        return json_response(200, f'{{"id": "{ident}", "choices": [{{"index": 0,'.encode())
    server.answered += 1
    server.bill(n_in, out, reasoning * len(answers), read, 0)
    if chat:
        choices: list[dict[str, Any]] = [
            {
                "index": i,
                "message": {"role": "assistant", "content": a.text},
                "logprobs": None,
                "finish_reason": a.finish_reason,
            }
            for i, a in enumerate(answers)
        ]
    else:
        choices = [
            {"index": i, "text": a.text, "logprobs": None, "finish_reason": a.finish_reason}
            for i, a in enumerate(answers)
        ]
    payload = {
        "id": ident,
        "object": "chat.completion" if chat else "text_completion",
        "created": int(time.time()),
        "model": name,
        "choices": choices,
        "usage": usage,
    }
    response = json_response(200, _dumps(payload).encode())
    response.headers.update(headers)
    return response


def _budget(body: Mapping[str, Any]) -> int | None:
    """The reasoning budget a chat request asks for (OpenAI, vLLM or SGLang fields)."""
    asked = requested_budget("openai-chat", body)
    if asked.level is not None and asked.level not in EFFORT_TOKENS:
        raise _BadRequest(
            f"Invalid value for reasoning_effort: '{asked.level}'. Supported values are: "
            f"{', '.join(EFFORT_TOKENS)}.",
            "reasoning_effort",
        )
    return asked.budget


def _requests(
    server: SimServer, body: Mapping[str, Any], *, chat: bool
) -> tuple[list[Request], str]:
    """The simulated requests of one HTTP request (one per choice) and the model name."""
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise _BadRequest("The request needs a 'model' (a string).", "model")
    messages: list[tuple[Message, ...]]
    if chat:
        raw = body.get("messages")
        if not isinstance(raw, list) or not raw:
            raise _BadRequest("'messages' must be a non-empty list of messages.", "messages")
        msgs = []
        for m in raw:
            if not isinstance(m, dict) or not isinstance(m.get("role"), str):
                raise _BadRequest(
                    "Each message must be an object with a 'role' and a 'content'.",
                    "messages",
                )
            msgs.append(Message(m["role"], text_of(m.get("content"))))
        messages = [tuple(msgs)]
        n = body.get("n", 1)
    else:
        prompt = body.get("prompt")
        if isinstance(prompt, str):
            prompts = [prompt]
        elif isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
            prompts = list(prompt)
        else:
            raise _BadRequest("'prompt' must be a string or a list of strings.", "prompt")
        messages = [(Message("user", p),) for p in prompts]
        n = 1
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 128:
        raise _BadRequest("'n' must be an integer from 1 to 128.", "n")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise _BadRequest("'max_tokens' must be a positive integer.", "max_tokens")
    temperature = body.get("temperature", 1.0)
    if temperature is None:
        temperature = 1.0
    if not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
        raise _BadRequest("'temperature' must be a number from 0 to 2.", "temperature")
    seed = body.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise _BadRequest("'seed' must be an integer.", "seed")
    model = server.sim_model(name)
    out = []
    for msgs_ in messages:
        task = recognise(msgs_)
        for sample in range(n):
            out.append(
                Request(
                    model=model,
                    messages=msgs_,
                    task=task,
                    max_tokens=max_tokens,
                    temperature=float(temperature),
                    seed=seed,
                    sample=sample,
                )
            )
    return out, name


async def _stream(
    server: SimServer,
    ident: str,
    name: str,
    answers: list[Response],
    usage: dict[str, int] | None,
    chat: bool,
    fault: Fault,
) -> AsyncIterator[bytes]:
    created = int(time.time())
    kind = "chat.completion.chunk" if chat else "text_completion"

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        payload = {"id": ident, "object": kind, "created": created, "model": name}
        payload["choices"] = choices
        payload.update(extra)
        return b"data: " + _dumps(payload).encode() + b"\n\n"

    if fault.kind == "garbage":
        yield b'data: {"id": "' + ident.encode() + b'", "choices": [{"delta": {"cont\n\n'
        yield b"data: [DONE]\n\n"
        return
    for i, answer in enumerate(answers):
        pieces = _pieces(answer.text, server.stream_words)
        if chat:
            first = {"role": "assistant", "content": ""}
            yield event([{"index": i, "delta": first, "logprobs": None, "finish_reason": None}])
        for j, piece in enumerate(pieces):
            if fault.kind == "drop" and j >= len(pieces) // 2:
                raise DropConnection  # a broken stream: no terminating chunk
            part: dict[str, Any] = {"index": i, "logprobs": None, "finish_reason": None}
            if chat:
                part["delta"] = {"content": piece}
            else:
                part["text"] = piece
            yield event([part])
        if fault.kind == "drop":
            raise DropConnection
        end: dict[str, Any] = {"index": i, "logprobs": None, "finish_reason": "stop"}
        end["finish_reason"] = answer.finish_reason
        if chat:
            end["delta"] = {}
        else:
            end["text"] = ""
        yield event([end])
    server.answered += 1
    if usage is not None:
        yield event([], usage=usage)
    yield b"data: [DONE]\n\n"
