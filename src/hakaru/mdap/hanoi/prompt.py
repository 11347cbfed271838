"""MAKER's prompts for one Hanoi step, and the formats they print states and moves in.

The system prompt states the puzzle and the answer format; the user prompt states the strategy
(clockwise for an even number of disks, counter-clockwise for an odd one), the previous move and
the current state. The ``*_LINE`` patterns read a prompt back, so that a step sent as plain chat
messages (through the OpenAI-compatible simulated server) can still be recognised.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

_SYSTEM = """\
You are a helpful assistant. Solve this puzzle for me.

There are three pegs and {n} disks of different sizes stacked on the first peg. The disks are
numbered from 1 (smallest) to {n} (largest). Disk moves in this puzzle follow these rules:
1. Only one disk can be moved at a time.
2. Each move takes the upper disk from one stack and places it on top of another stack.
3. A larger disk may not be placed on top of a smaller disk.

The goal is to move the entire stack to the third peg.

Example: with 3 disks numbered 1 (smallest), 2, and 3 (largest), the initial state is
[[3, 2, 1], [], []], and a solution is:
moves = [[1, 0, 2], [2, 0, 1], [1, 2, 1], [3, 0, 2], [1, 1, 0], [2, 1, 2], [1, 0, 2]]
This means: move disk 1 from peg 0 to peg 2, then move disk 2 from peg 0 to peg 1, and so on.

Requirements:
- The pegs are 0-indexed (the leftmost peg is 0); each peg lists its disks from bottom to top.
- Your answer must include the single next move in this EXACT FORMAT:
move = [disk id, from peg, to peg]
- Your answer must include the state that results from applying the move to the current state,
in this EXACT FORMAT:
next_state = [[...], [...], [...]]
"""

_USER = """\
Rules:
- Only one disk can be moved at a time.
- Only the top disk of a peg can be moved.
- A larger disk may not be placed on top of a smaller disk.

For all moves, follow the standard Tower of Hanoi procedure:
If the previous move did not move disk 1, move disk 1 {turn} one peg ({cycle}).
If the previous move did move disk 1, make the only legal move that does not involve disk 1.

Use these steps to find the next move given the previous move and the current state.

Previous move: {previous}
Current state: {state}

Based on the previous move and the current state, find the single next move that follows the
procedure and the resulting next state.
"""


_PREV_LINE = re.compile(r"^Previous move: (None|\[[^\[\]\n]*\])$", re.M)
_STATE_LINE = re.compile(r"^Current state: (\[\[.*\]\])$", re.M)
_DISKS_LINE = re.compile(r"three pegs and ([0-9]+) disks of different sizes")


def _fmt_list(xs: Sequence[int]) -> str:
    return str(list(xs))  # "[1, 2, 3]": Python's list syntax, the prompt's format


def _fmt_state(state: Sequence[Sequence[int]]) -> str:
    return str([list(p) for p in state])


@functools.lru_cache(maxsize=64)
def _system(disks: int) -> str:
    return _SYSTEM.format(n=disks)


@functools.lru_cache(maxsize=2)
def _user_template(odd: bool) -> str:
    turn, cycle = (
        ("counter-clockwise", "0 -> 2 -> 1 -> 0") if odd else ("clockwise", "0 -> 1 -> 2 -> 0")
    )
    return _USER.replace("{turn}", turn).replace("{cycle}", cycle)
