"""Streamed calls are never zero: the proxy asks for a stream's usage and hides the answer.

An OpenAI-compatible stream reports its token usage only when the request sets
``stream_options: {"include_usage": true}``; a client that streams without it would leave the
call with nothing but estimates (the failure behind cost trackers that log most streamed
calls at $0). So the recording proxy adds the option to any streaming chat or completion
request that lacks it (:func:`wants_no_usage`), reads the usage from the extra final chunk, and
relays the stream through a :class:`UsageChunkFilter`, which removes what the option added — the
final chunk with empty ``choices`` and a ``usage``, and the ``"usage":null`` that OpenAI adds to
every other chunk — so the client receives the stream it asked for, byte for byte otherwise. A
server that ignores the option still reports nothing: then the tokens are estimated and the
record says so.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["UsageChunkFilter", "wants_no_usage"]

_NULL_USAGE = (b',"usage":null', b', "usage": null')


def wants_no_usage(endpoint: str, body: Any) -> bool:
    """Whether a request streams without asking for its usage (chat or completion).

    >>> wants_no_usage("chat", {"stream": True}), wants_no_usage("chat", {"stream": False})
    (True, False)
    >>> wants_no_usage("chat", {"stream": True, "stream_options": {"include_usage": True}})
    False
    """
    if endpoint not in ("chat", "completion") or not isinstance(body, dict):
        return False
    if body.get("stream") is not True:
        return False
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        return False  # malformed: leave it to the upstream to refuse
    return not (options or {}).get("include_usage")


def _usage_only(event: bytes) -> bool:
    """Whether an SSE event block is the usage chunk that ``include_usage`` adds."""
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            try:
                obj = json.loads(line[5:].strip())
            except ValueError:
                return False
            return (
                isinstance(obj, dict) and obj.get("choices") == [] and obj.get("usage") is not None
            )
    return False


class UsageChunkFilter:
    """Relays an SSE stream event by event, without the usage the proxy asked for.

    >>> f = UsageChunkFilter()
    >>> f.feed(b'data: {"choices":[{"delta":{}}],"usage":null}\\n\\ndata: {"choices":[],')
    b'data: {"choices":[{"delta":{}}]}\\n\\n'
    >>> f.feed(b'"usage":{"prompt_tokens":3}}\\n\\ndata: [DONE]\\n\\n')
    b'data: [DONE]\\n\\n'
    """

    __slots__ = ("_rest",)

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, data: bytes) -> bytes:
        """What to relay of ``data``: the complete events in it, minus the usage."""
        blocks = (self._rest + data).split(b"\n\n")
        self._rest = blocks.pop()
        out = []
        for block in blocks:
            if _usage_only(block):
                continue
            for null in _NULL_USAGE:
                block = block.replace(null, b"")
            out.append(block + b"\n\n")
        return b"".join(out)

    def close(self) -> bytes:
        """Whatever is left at the end of the stream (an unterminated last event)."""
        rest, self._rest = self._rest, b""
        return rest
