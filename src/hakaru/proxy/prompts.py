"""What a prompt sent over HTTP says: its text, and the task the simulated server knows in it.

Both wire formats carry message content as a string or a list of parts; :func:`text_of` reads
the text out of either. :func:`recognise` finds a task kind of :mod:`hakaru.tasks` in a prompt
(the ``sum`` prompt, ``"Add these numbers: 1, 2, 3"``, or any kind that defines
``recognise(messages)``), so the simulated server answers it from the task's ground truth.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from hakaru.tasks import known_task_kinds, task_kind
from hakaru.types import Message, Task

__all__ = ["recognise", "text_of"]

_SUM_PROMPT = re.compile(r"\s*Add these numbers:\s*(-?\d+(?:\s*,\s*-?\d+)*)\s*\.?\s*")


def text_of(content: Any) -> str:
    """The text of an OpenAI message ``content``: a string, or a list of parts.

    >>> text_of([{"type": "text", "text": "Hi"}, {"type": "image_url", "image_url": {}}])
    'Hi'
    """
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p
        )
    return ""


def recognise(messages: Sequence[Message]) -> Task | None:
    """The task a prompt asks for, when it is one the simulated server knows.

    The last user message ``"Add these numbers: 3, 4"`` is the ``sum`` task; a registered task
    kind with a ``recognise(messages)`` method may claim any other prompt.

    >>> recognise((Message("user", "Add these numbers: 3, 4"),))
    Task(kind='sum', payload={'numbers': [3, 4]}, items=2)
    """
    user = next((m.content for m in reversed(messages) if m.role == "user"), None)
    if user is not None:
        match = _SUM_PROMPT.fullmatch(user)
        if match is not None:
            numbers = [int(x) for x in match.group(1).split(",")]
            return Task("sum", {"numbers": numbers}, len(numbers))
    for name in known_task_kinds():
        kind = task_kind(name)
        recogniser = getattr(kind, "recognise", None)
        if recogniser is None:
            continue
        payload = recogniser(messages)
        if payload is not None:
            return kind.task(payload)
    return None
