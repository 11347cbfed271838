"""OpenAI's Responses API and Gemini's ``generateContent`` on the simulated server.

``POST /v1/responses`` (what ``client.responses.create`` sends: ``input`` as a string or a list
of messages, ``instructions``, ``max_output_tokens``, ``reasoning: {effort}``) answers with a
``response`` object: a ``reasoning`` output item, then the ``message``; ``status`` ``incomplete``
with ``incomplete_details.reason`` ``max_output_tokens`` when the cap cut it; usage
``input_tokens``, ``output_tokens`` (reasoning included) and
``output_tokens_details.reasoning_tokens``.

``POST /v1beta/models/{model}:generateContent`` (Gemini's REST API: ``contents`` of ``parts``,
``systemInstruction``, ``generationConfig`` with ``maxOutputTokens`` and ``thinkingConfig``)
answers with ``candidates`` (a ``thought`` part when ``includeThoughts`` is set, then the
answer; ``finishReason`` ``STOP`` or ``MAX_TOKENS``) and ``usageMetadata`` whose
``thoughtsTokenCount`` is counted apart from ``candidatesTokenCount``, as Gemini reports it.
Asking for ``thinkingBudget`` and ``thinkingLevel`` at once is a 400, as on Gemini.

Both are non-streaming; the reasoning follows the server's mode
(:mod:`~hakaru.proxy.sim_reasoning`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hakaru.backends.reasoning_controls import EFFORT_TOKENS, requested_budget
from hakaru.errors import ContextOverflow, RequestRejected
from hakaru.proxy.prompts import recognise, text_of
from hakaru.proxy.serving import json_response
from hakaru.proxy.sim_reasoning import starved, thinking_text
from hakaru.types import Message, Request, Response

if TYPE_CHECKING:
    from hakaru.proxy.server import SimServer

__all__ = ["answer_gemini", "answer_responses"]

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class _Bad(Exception):
    pass


def _cap(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _Bad(f"'{name}' must be a positive integer.")
    return value


async def _answer(
    server: SimServer, name: str, messages: list[Message], budget: int | None, cap: int | None
) -> tuple[Response, int, Request]:
    if not messages:
        raise _Bad("The request holds no message to answer.")
    msgs = tuple(messages)
    request = Request(
        model=server.sim_model(name), messages=msgs, task=recognise(msgs), max_tokens=cap,
        temperature=0.0,
    )  # fmt: skip
    think, left = server.reasoning.plan(budget, cap)
    answer = server.reasoning.answer(await server.backend.complete(starved(request, left)), left)
    return answer, think, request


def _openai_error(status: int, message: str, param: str | None = None) -> web.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param,
                      "code": None}}  # fmt: skip
    return json_response(status, _dumps(body).encode())


async def answer_responses(server: SimServer, body: Any) -> web.Response:
    """Answer one ``POST /v1/responses``."""
    try:
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            raise _Bad("The request needs a 'model' (a string).")
        name = body["model"]
        messages = []
        if isinstance(body.get("instructions"), str):
            messages.append(Message("system", body["instructions"]))
        given = body.get("input")
        if isinstance(given, str):
            messages.append(Message("user", given))
        elif isinstance(given, list):
            for item in given:
                if isinstance(item, dict) and isinstance(item.get("role"), str):
                    messages.append(Message(item["role"], text_of(item.get("content"))))
        else:
            raise _Bad("'input' must be a string or a list of messages.")
        asked = requested_budget("openai-responses", body)
        if asked.level is not None and asked.level not in EFFORT_TOKENS:
            raise _Bad(f"Invalid value for reasoning.effort: '{asked.level}'.")
        cap = _cap(body.get("max_output_tokens"), "max_output_tokens")
        answer, think, _ = await _answer(server, name, messages, asked.budget, cap)
    except _Bad as exc:
        return _openai_error(400, str(exc))
    except (ContextOverflow, RequestRejected) as exc:
        return _openai_error(400, str(exc))
    ident = server.next_id("resp")
    n_in, out = answer.usage.input_tokens, answer.usage.output_tokens + think
    server.answered += 1
    server.bill(n_in, out, think, 0, 0)
    cut = answer.finish_reason == "length"
    output: list[dict[str, Any]] = []
    if think:
        output.append({"type": "reasoning", "id": f"rs_{ident}", "summary": []})
    if answer.text or not cut:
        output.append(
            {
                "type": "message",
                "id": f"msg_{ident}",
                "status": "incomplete" if cut else "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": answer.text, "annotations": []}],
            }
        )
    payload = {
        "id": ident,
        "object": "response",
        "created_at": int(time.time()),
        "status": "incomplete" if cut else "completed",
        "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
        "model": name,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": n_in,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": out,
            "output_tokens_details": {"reasoning_tokens": think},
            "total_tokens": n_in + out,
        },
    }
    return json_response(200, _dumps(payload).encode())


def _gemini_error(status: int, message: str) -> web.Response:
    kind = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}.get(status, "INTERNAL")
    body = {"error": {"code": status, "message": message, "status": kind}}
    return json_response(status, _dumps(body).encode())


def _parts_text(content: Any) -> str:
    parts = content.get("parts") if isinstance(content, Mapping) else None
    if not isinstance(parts, list):
        raise _Bad("Each content needs 'parts' (a list of {text}).")
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, Mapping))


async def answer_gemini(server: SimServer, name: str, body: Any) -> web.Response:
    """Answer one ``POST /v1beta/models/{name}:generateContent``."""
    try:
        if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
            raise _Bad("* GenerateContentRequest.contents: contents is not specified")
        messages = []
        if body.get("systemInstruction") is not None:
            messages.append(Message("system", _parts_text(body["systemInstruction"])))
        for c in body["contents"]:
            role = c.get("role", "user") if isinstance(c, Mapping) else "user"
            messages.append(Message("assistant" if role == "model" else "user", _parts_text(c)))
        gen = body.get("generationConfig") or {}
        think_cfg = gen.get("thinkingConfig") or {} if isinstance(gen, Mapping) else {}
        if "thinkingBudget" in think_cfg and "thinkingLevel" in think_cfg:
            raise _Bad(
                "thinking_budget and thinking_level are not supported together. Set one of them."
            )
        asked = requested_budget("gemini", body)
        if asked.level is not None and asked.level not in EFFORT_TOKENS:
            raise _Bad(f"Invalid value at 'generation_config.thinking_config.thinking_level' "
                       f"({asked.level!r}).")  # fmt: skip
        budget = asked.budget
        if budget == -1:  # dynamic thinking: the model decides
            budget = server.reasoning.natural
        cap = _cap(gen.get("maxOutputTokens"), "maxOutputTokens")
        answer, think, _ = await _answer(server, name, messages, budget, cap)
    except _Bad as exc:
        return _gemini_error(400, str(exc))
    except (ContextOverflow, RequestRejected) as exc:
        return _gemini_error(400, str(exc))
    n_in = answer.usage.input_tokens
    n_out = answer.usage.output_tokens
    server.answered += 1
    server.bill(n_in, n_out + think, think, 0, 0)
    parts: list[dict[str, Any]] = []
    if think and think_cfg.get("includeThoughts"):
        parts.append({"text": thinking_text(think, f"gemini:{name}"), "thought": True})
    parts.append({"text": answer.text})
    usage = {"promptTokenCount": n_in, "candidatesTokenCount": n_out,
             "totalTokenCount": n_in + n_out + think}  # fmt: skip
    if think:
        usage["thoughtsTokenCount"] = think
    payload = {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts},
                "finishReason": "MAX_TOKENS" if answer.finish_reason == "length" else "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": usage,
        "modelVersion": name,
    }
    return json_response(200, _dumps(payload).encode())
