"""Towers of Hanoi as in MAKER (arXiv 2511.09030; docs/papers.md): one micro-agent per move.

Every step is one LLM call that sees the strategy, the previous move and the current state, and
answers with the single next move and the resulting state::

    move = [disk id, from peg, to peg]
    next_state = [[...], [...], [...]]

Pegs are 0-indexed lists from bottom to top; disks are numbered 1 (smallest) to N. The strategy
in the prompt: if the previous move did not move disk 1, move disk 1 one peg clockwise
(0 → 1 → 2 → 0); otherwise make the only legal move that does not involve disk 1. For an even
number of disks this ends with the tower on peg 2 after 2^N − 1 moves (the paper used N = 20).
For an odd N the clockwise rule would end on peg 1, so the prompt then says counter-clockwise
(0 → 2 → 1 → 0): an extension of ours, so that small odd towers can be tested too.

This package holds everything the step driver and the simulated LLM need, one concept a module:

- :mod:`~hakaru.mdap.hanoi.rules`: the puzzle — closed forms of the solution (:func:`state_at`,
  :func:`move_at`) for calibration on random steps, the strategy (:func:`next_move`), and
  :class:`HanoiSimulator`, a legality-checking simulator for the final verification;
- :mod:`~hakaru.mdap.hanoi.parsers`: the strict red-flag parser :func:`parse_flag` (the paper's
  ``parse_move_state_flag``: the last ``move = [...]`` must hold three integers, the last
  ``next_state`` three lists holding every disk 1..N exactly once; anything else is a
  :class:`~hakaru.errors.RedFlag`) and the repairing parser :func:`parse_repair` used only for
  calibration comparisons;
- :mod:`~hakaru.mdap.hanoi.prompt`: MAKER's system and user prompts, word for word;
- :mod:`~hakaru.mdap.hanoi.kind`: :class:`HanoiStepKind` (task kind ``"hanoi-step"``), the oracle
  the simulated backend answers from, plausible wrong answers and malformed texts;
- :mod:`~hakaru.mdap.hanoi.task`: :class:`HanoiTask`, the task the step driver runs, and its
  verifier;
- :mod:`~hakaru.mdap.hanoi.models`: the simulated models (:data:`HANOI_MODELS`) used by
  ``hakaru maker run``.

Importing the package registers the ``"hanoi-step"`` kind.
"""

from hakaru.mdap.hanoi.kind import HANOI_KIND, HanoiStepKind
from hakaru.mdap.hanoi.models import HANOI_MODELS
from hakaru.mdap.hanoi.parsers import parse_flag, parse_repair
from hakaru.mdap.hanoi.rules import (
    HanoiSimulator,
    Move,
    State,
    apply_move,
    initial_state,
    move_at,
    next_move,
    solution_length,
    state_at,
)
from hakaru.mdap.hanoi.task import HanoiTask

__all__ = [
    "HANOI_KIND",
    "HANOI_MODELS",
    "HanoiSimulator",
    "HanoiStepKind",
    "HanoiTask",
    "Move",
    "State",
    "apply_move",
    "initial_state",
    "move_at",
    "next_move",
    "parse_flag",
    "parse_repair",
    "solution_length",
    "state_at",
]
