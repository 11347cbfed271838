"""Tree reduction with bounded fan-in: combine items f at a time, level by level.

Every subtree runs in its own task and each combine step gathers its children with
``session.gather``, so the recorded DAG is exactly the tree (a node depends on the calls that
produced its inputs, not on the whole previous level); a trailing lone item is carried up a level
without a call. With n items and fan-in f this makes ⌈n/f⌉ + ⌈n/f²⌉ + … calls
(minus the carried singletons) in ⌈log_f n⌉ levels — for n = 64, f = 4: 16 + 4 + 1 = 21 calls,
depth 3.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from hakaru.errors import ConfigError

if TYPE_CHECKING:
    from hakaru.session import Session

__all__ = ["tree_reduce", "tree_shape"]

T = TypeVar("T")
_Node: TypeAlias = "int | list[_Node]"  # a leaf index or a group of child nodes


def tree_shape(n: int, fan_in: int) -> list[int]:
    """Calls per level when reducing ``n`` items with ``fan_in`` (no call for a lone item).

    >>> tree_shape(64, 4)
    [16, 4, 1]
    >>> tree_shape(10, 4)
    [3, 1]
    """
    if fan_in < 2:
        raise ConfigError(f"fan-in is {fan_in}. A reduction tree needs a fan-in of at least 2")
    levels = []
    while n > 1:
        groups, rest = divmod(n, fan_in)
        calls = groups + (1 if rest > 1 else 0)
        levels.append(calls)
        n = groups + (1 if rest else 0)
    return levels


async def tree_reduce(
    session: Session,
    items: Sequence[T],
    combine: Callable[[Sequence[T]], Awaitable[T]],
    *,
    fan_in: int,
) -> T:
    """Reduce ``items`` with ``combine`` (one LLM step per group of at most ``fan_in``)."""
    if not items:
        raise ConfigError("Nothing to reduce: give at least one item")
    if fan_in < 2:
        raise ConfigError(f"fan-in is {fan_in}. A reduction tree needs a fan-in of at least 2")
    # Build the tree bottom-up (groups of consecutive nodes, a lone node carried up), then
    # evaluate it top-down so that every subtree runs in its own task.
    level: list[_Node] = list(range(len(items)))
    while len(level) > 1:
        level = [
            level[i] if len(level[i : i + fan_in]) == 1 else level[i : i + fan_in]
            for i in range(0, len(level), fan_in)
        ]

    async def evaluate(node: _Node) -> T:
        if isinstance(node, int):
            return items[node]
        values = await session.gather(*(evaluate(child) for child in node))
        return await combine(values)

    return await evaluate(level[0])
