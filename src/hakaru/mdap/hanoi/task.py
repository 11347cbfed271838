"""The Hanoi MDAP: :class:`HanoiTask`, what the step driver runs, and its verifier.

The task ties the puzzle (:mod:`~hakaru.mdap.hanoi.rules`), the strict parser and the task kind
to the driver's :class:`~hakaru.mdap.driver.MdapTask` interface: 2^N − 1 steps, one move each,
with ground truth for diagnostics and closed forms for calibration on random steps.
:class:`HanoiVerifier` replays the voted moves on the legality-checking simulator.
"""

from __future__ import annotations

from typing import Any

from hakaru.errors import ConfigError
from hakaru.mdap.driver import MdapTask, Verifier
from hakaru.mdap.hanoi.kind import HANOI_KIND, HanoiStepKind
from hakaru.mdap.hanoi.parsers import parse_flag, parse_repair
from hakaru.mdap.hanoi.prompt import _fmt_state
from hakaru.mdap.hanoi.rules import (
    Candidate,
    HanoiSimulator,
    Move,
    State,
    _check_disks,
    _moved,
    initial_state,
    move_at,
    next_move,
    solution_length,
    state_at,
)
from hakaru.tasks import TaskKind, register_task_kind, task_kind


class HanoiVerifier(Verifier):
    """Replays the voted moves on :class:`HanoiSimulator` and checks every voted next state."""

    def __init__(self, disks: int, sim: HanoiSimulator | None = None) -> None:
        self.sim = sim or HanoiSimulator(disks)

    def act(self, action: Any, next_state: Any) -> str | None:
        reason = self.sim.act(action)
        if reason is not None:
            return reason
        if next_state != self.sim.state:
            return f"the voted next_state {_fmt_state(next_state)} is not the simulator's"
        return None

    def finish(self) -> str | None:
        if not self.sim.is_solved():
            return f"the tower is not on peg 2 after {self.sim.moves:,} moves"
        if self.sim.moves != solution_length(self.sim.disks):
            return f"{self.sim.moves:,} moves instead of {solution_length(self.sim.disks):,}"
        return None

    def to_json(self) -> Any:
        return {"state": [list(p) for p in self.sim.pegs], "moves": self.sim.moves}

    def restore(self, data: Any) -> None:
        state = tuple(tuple(p) for p in data["state"])
        self.sim = HanoiSimulator(self.sim.disks, state, int(data["moves"]))  # type: ignore[arg-type]


class HanoiTask(MdapTask):
    """Towers of Hanoi with ``disks`` disks as an MDAP: 2^N − 1 steps, one move per step.

    >>> task = HanoiTask(4)
    >>> task.steps, task.start()
    (15, (None, ((4, 3, 2, 1), (), ())))
    """

    name = "hanoi"
    kind: HanoiStepKind

    def __init__(self, disks: int, kind: HanoiStepKind | None = None) -> None:
        _check_disks(disks)
        self.disks = disks
        self.kind = kind or HANOI_KIND
        try:
            registered: TaskKind | None = task_kind(self.kind.name)
        except ConfigError:
            registered = None
        if registered != self.kind:  # the simulated backend answers from the registered kind
            register_task_kind(self.kind)

    @property
    def steps(self) -> int:
        return solution_length(self.disks)

    def params(self) -> dict[str, Any]:
        return {"task": self.name, "disks": self.disks}

    def start(self) -> tuple[Move | None, State]:
        return None, initial_state(self.disks)

    def payload(self, previous: Any, state: Any) -> dict[str, Any]:
        return self.kind.payload(self.disks, state, previous)

    def parse(self, text: str) -> Candidate:
        return parse_flag(text, self.disks)

    def parse_repair(self, text: str) -> Any:
        return parse_repair(text)

    def truth(self, previous: Any, state: Any) -> Candidate:
        move = next_move(previous, state, self.disks)
        return (move, _moved(state, *move))

    def input_at(self, step: int) -> tuple[Move | None, State]:
        previous = None if step == 1 else move_at(self.disks, step - 1)
        return previous, state_at(self.disks, step - 1)

    def verifier(self) -> HanoiVerifier:
        return HanoiVerifier(self.disks)

    def encode(self, previous: Any, state: Any) -> Any:
        return {"previous": None if previous is None else list(previous), "state": state}

    def decode(self, data: Any) -> tuple[Move | None, State]:
        prev = data["previous"]
        pegs = data["state"]
        return (
            None if prev is None else (prev[0], prev[1], prev[2]),
            (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2])),
        )
