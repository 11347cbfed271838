"""Task kinds of the sort workload: sort a list, merge two sorted lists.

Items are distinct four-letter keys (``"qzfe"``), one token each, sorted alphabetically — think
of each as the key of a large document (the paper's exercise: sorting legal arguments or
résumés, §3.4). ``items`` is the number of keys a call handles, so ``sort:8`` / ``merge:8`` in a
capability set means "at most 8 items per call" (Def. 2.3), and a bounded model refuses more.

Both kinds answer one line ``sorted: a b c …``. The strict parser checks only the format; the
workload also red-flags an answer that is not a permutation of the input (a dropped or invented
item), while a wrong *order* — the simulated model's wrong answer swaps two adjacent items — is
an error that propagates, so ``correct`` is meaningful.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from hakaru.errors import ConfigError, RedFlag
from hakaru.tasks import TaskKind, register_task_kind
from hakaru.types import Message
from hakaru.workloads._kinds_common import tokens

__all__ = [
    "MERGE",
    "MERGE_FIXED",
    "SORT",
    "SORTED_FIXED",
    "SORT_FIXED",
    "MergeKind",
    "SortKind",
    "check_permutation",
    "keys",
]

SORT = "sort"
MERGE = "merge"

_SORT_SYSTEM = "Sort the items alphabetically. Reply with one line: sorted: <items>"
_MERGE_SYSTEM = (
    "Merge the two sorted lists into one sorted list. Reply with one line: sorted: <items>"
)
_LINE = re.compile(r"sorted:((?: [a-z]{1,4})+)")

#: Fixed prompt tokens of a sort call and of a merge call (besides the items).
SORT_FIXED = tokens(_SORT_SYSTEM) + tokens("Items:")
MERGE_FIXED = tokens(_MERGE_SYSTEM) + tokens("A:") + tokens("B:")
#: Fixed tokens of an answer (``sorted:``) besides the items.
SORTED_FIXED = tokens("sorted:")


def keys(n: int, rng: random.Random) -> list[str]:
    """n distinct four-letter keys, in random order."""
    if n > 26**4:
        raise ConfigError(f"At most {26**4} distinct keys; n is {n}")
    out = []
    for v in rng.sample(range(26**4), n):
        key = ""
        for _ in range(4):
            v, r = divmod(v, 26)
            key = chr(97 + r) + key
        out.append(key)
    return out


def _render(items: Sequence[str]) -> str:
    return "sorted: " + " ".join(items)


def _parse(text: str) -> list[str]:
    match = _LINE.fullmatch(text.strip())
    if match is None:
        raise RedFlag(f"malformed answer {text[:60]!r}: expected one line 'sorted: <items>'")
    return match.group(1).split()


def _swap_adjacent(items: Sequence[str], rng: random.Random) -> list[str]:
    out = list(items)
    if len(out) >= 2:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return out


def _malformed(items: Sequence[str], rng: random.Random) -> str:
    return rng.choice(
        ("Sorted: " + " ".join(items), "sorted: " + ", ".join(items), "Here you go: " + items[0])
    )


class SortKind(TaskKind):
    """Sort a list of keys. Payload ``{"items": [...]}``.

    >>> SortKind().solve({"items": ["moon", "lake", "star"]})
    ['lake', 'moon', 'star']
    """

    name = SORT

    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        items = " ".join(payload["items"])
        return (Message("system", _SORT_SYSTEM), Message("user", f"Items: {items}"))

    def solve(self, payload: Mapping[str, Any]) -> list[str]:
        return sorted(payload["items"])

    def render(self, answer: Any) -> str:
        return _render(answer)

    def parse(self, text: str) -> list[str]:
        return _parse(text)

    def items(self, payload: Mapping[str, Any]) -> int:
        return len(payload["items"])

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> list[str]:
        return _swap_adjacent(answer, rng)

    def malformed(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        return _malformed(answer, rng)


class MergeKind(TaskKind):
    """Merge two sorted lists. Payload ``{"lists": [[...], [...]]}``.

    >>> MergeKind().solve({"lists": [["lake", "star"], ["moon"]]})
    ['lake', 'moon', 'star']
    """

    name = MERGE

    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        a, b = (" ".join(x) for x in payload["lists"])
        return (Message("system", _MERGE_SYSTEM), Message("user", f"A: {a}\nB: {b}"))

    def solve(self, payload: Mapping[str, Any]) -> list[str]:
        a, b = payload["lists"]
        return sorted([*a, *b])

    def render(self, answer: Any) -> str:
        return _render(answer)

    def parse(self, text: str) -> list[str]:
        return _parse(text)

    def items(self, payload: Mapping[str, Any]) -> int:
        return sum(len(x) for x in payload["lists"])

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> list[str]:
        return _swap_adjacent(answer, rng)

    def malformed(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        return _malformed(answer, rng)


def check_permutation(answer: Sequence[str], given: Sequence[str]) -> list[str]:
    """Red-flag an answer that drops, repeats or invents items."""
    if sorted(answer) != sorted(given):
        raise RedFlag(
            f"the answer lists {len(answer)} items, not a permutation of the {len(given)}"
        )
    return list(answer)


register_task_kind(SortKind())
register_task_kind(MergeKind())
