"""The workloads a gate sweep runs: tasks a gate protects, reproducible from the seed.

A :class:`GateWorkload` adds ``size`` numbers (0–999) with ``fan_in`` numbers per call, each call
through the gate of :mod:`hakaru.gates.mechanisms`. A task's numbers are a function of the seed
and the task's index only, so every strength of a sweep (:mod:`hakaru.gates.sweep`) sees the same
tasks. ``tree-sum`` (5 gated calls per task) is where a gate can pay; ``sum`` (one call per task)
is where it cannot with c = 0.

>>> get_gate_workload("tree-sum").steps, get_gate_workload("sum").steps
(5, 1)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hakaru.errors import ConfigError
from hakaru.gates.mechanisms import GateSetting, gated_sum, uniform
from hakaru.patterns.tree_reduce import tree_reduce, tree_shape

if TYPE_CHECKING:
    from hakaru.session import Session

__all__ = ["GATE_WORKLOADS", "GateWorkload", "get_gate_workload"]


@dataclass(frozen=True)
class GateWorkload:
    """Tasks a gate protects: add ``size`` numbers (0–999), ``fan_in`` per gated call."""

    name: str
    description: str
    size: int  # numbers per task
    fan_in: int  # numbers per call; size <= fan_in means one call per task

    @property
    def steps(self) -> int:
        """Gated calls per task when nothing is rejected."""
        return max(1, sum(tree_shape(self.size, self.fan_in)))

    def numbers(self, seed: int, index: int) -> list[int]:
        """The numbers of task ``index`` (the same at every strength)."""
        rng = random.Random(f"gate-sweep:{seed}:{index}")
        return [rng.randrange(1000) for _ in range(self.size)]

    async def run(self, session: Session, numbers: Sequence[int], setting: GateSetting) -> int:
        """The task's shipped answer; :class:`StepFailed` when a step's gate gave up."""

        async def add(group: Sequence[int]) -> int:
            # the dither draw is a function of the step's content: the same at every strength
            return await gated_sum(session, group, setting, u=uniform("dither", list(group)))

        if self.size <= self.fan_in:
            return await add(numbers)
        return await tree_reduce(session, numbers, add, fan_in=self.fan_in)


GATE_WORKLOADS: dict[str, GateWorkload] = {
    w.name: w
    for w in (
        GateWorkload("tree-sum", "16 numbers in a fan-in-4 tree: 5 gated calls per task", 16, 4),
        GateWorkload("sum", "4 numbers in one gated call per task", 4, 4),
    )
}


def get_gate_workload(name: str) -> GateWorkload:
    """A gate workload by name; unknown names list the known ones."""
    try:
        return GATE_WORKLOADS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown gate workload '{name}'. Choose one of: {', '.join(GATE_WORKLOADS)}"
        ) from None
