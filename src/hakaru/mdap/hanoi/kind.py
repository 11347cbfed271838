"""The ``"hanoi-step"`` task kind: the prompt, the oracle and the simulated model's answers.

:class:`HanoiStepKind` builds a step's payload and messages, and gives the simulated backend what
it needs to play a model: the right answer (:meth:`~HanoiStepKind.solve`, from the strategy), its
text with optional reasoning prose (:meth:`~HanoiStepKind.render`), plausible wrong answers and
malformed texts. A million-step run asks for all of these once per draw, so payload states, the
last solved payload and rendered answers are cached.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hakaru.errors import ConfigError
from hakaru.mdap.hanoi.parsers import _INNER, _STATE, _ints, parse_flag
from hakaru.mdap.hanoi.prompt import (
    _DISKS_LINE,
    _PREV_LINE,
    _STATE_LINE,
    _fmt_list,
    _fmt_state,
    _system,
    _user_template,
)
from hakaru.mdap.hanoi.rules import Candidate, Move, State, _direction, _moved, next_move
from hakaru.tasks import TaskKind, filler_text, register_task_kind
from hakaru.types import Message

# Recently built payload states, so that the simulated backend's oracle need not parse them back
# (a million-step run reads one per step); bounded, and only a cache: a miss parses the text.
_STATES: dict[str, State] = {}


@functools.lru_cache(maxsize=64)
def _padding(tokens: int) -> str:
    """Deterministic reasoning prose of exactly ``tokens`` tokens (the same for every answer)."""
    if tokens <= 0:
        return ""
    return filler_text(tokens, random.Random(20)) + "\n"


@dataclass(frozen=True)
class HanoiStepKind(TaskKind):
    """One MAKER step of Towers of Hanoi (task kind ``"hanoi-step"``).

    Payload (see :meth:`payload`): ``{"disks": N, "state": "[[...], [...], [...]]",
    "previous_move": "[d, f, t]" | None}`` (nested lists are accepted too).
    The answer is ``((disk, from, to), next_state)``. ``reasoning_tokens`` sets how much prose a
    well-behaved simulated model writes before its answer (the answer lines add about 15 + 2·N
    tokens); MAKER's gpt-4.1-mini wrote about 540 output tokens per step.

    >>> kind = HanoiStepKind(reasoning_tokens=0)
    >>> kind.render(kind.solve(kind.payload(2, ((2, 1), (), ()), None)))
    'The previous move did not move disk 1, so disk 1 moves one peg.\\nmove = [1, 0, 1]\\nnext_state = [[2], [1], []]'
    """  # noqa: E501

    name: str = "hanoi-step"
    reasoning_tokens: int = 40  # tokens of prose before the answer lines

    def payload(self, disks: int, state: State, previous: Move | None) -> dict[str, Any]:
        """The payload of one step: the state and the previous move as the prompt prints them.

        Strings rather than nested lists: a million-step run builds, hashes and serialises one
        per step, and the prompt needs them in this form anyway. ``_read`` accepts lists too.
        """
        text = _fmt_state(state)
        if len(_STATES) >= 64:
            _STATES.clear()
        _STATES[text] = state
        return {
            "disks": disks,
            "state": text,
            "previous_move": None if previous is None else _fmt_list(previous),
        }

    @staticmethod
    def _read(payload: Mapping[str, Any]) -> tuple[int, State, Move | None]:
        try:
            disks = int(payload["disks"])
            pegs = payload["state"]
            if isinstance(pegs, str):
                known = _STATES.get(pegs)
                pegs = (
                    known
                    if known is not None
                    else [_ints(b, "state") for b in _INNER.findall(pegs)]
                )
            state: State = (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2]))
            prev = payload.get("previous_move")
            if isinstance(prev, str):
                prev = _ints(prev.strip()[1:-1], "previous_move")
            previous: Move | None = None if prev is None else (prev[0], prev[1], prev[2])
            if len(pegs) != 3 or (prev is not None and len(prev) != 3):
                raise ValueError
        except (KeyError, IndexError, TypeError, ValueError):
            raise ConfigError(
                "The 'hanoi-step' task needs a payload {'disks': N, 'state': '[[...], [...], "
                f"[...]]', 'previous_move': '[d, f, t]' or None}}; got {dict(payload)!r}."
            ) from None
        return disks, state, previous

    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        state, previous = payload.get("state"), payload.get("previous_move")
        if not isinstance(state, str) or not (previous is None or isinstance(previous, str)):
            disks, pegs, prev = self._read(payload)  # lists: format them as the prompt does
            state, previous = _fmt_state(pegs), None if prev is None else _fmt_list(prev)
        else:
            disks = int(payload["disks"])
        user = _user_template(disks % 2 == 1).format(
            previous="None" if previous is None else previous, state=state
        )
        return (Message("system", _system(disks)), Message("user", user))

    def solve(self, payload: Mapping[str, Any]) -> Candidate:
        return _solve(payload)

    def recognise(self, messages: Sequence[Message]) -> dict[str, Any] | None:
        """The payload of a prompt this kind wrote, or ``None`` (lets the simulated
        OpenAI-compatible server answer Hanoi steps sent as plain chat messages)."""
        user = next((m.content for m in reversed(messages) if m.role == "user"), "")
        prev, state = _PREV_LINE.search(user), _STATE_LINE.search(user)
        if prev is None or state is None:
            return None
        system = next((m.content for m in messages if m.role == "system"), "")
        n = _DISKS_LINE.search(system)
        disks = int(n.group(1)) if n else len(re.findall(r"[0-9]+", state.group(1)))
        payload = {
            "disks": disks,
            "state": state.group(1),
            "previous_move": None if prev.group(1) == "None" else prev.group(1),
        }
        try:
            self._read(payload)
        except ConfigError:
            return None
        return payload

    def render(self, answer: Any) -> str:
        return _render(answer, self.reasoning_tokens)

    def parse(self, text: str) -> Candidate:
        """Strict parse, with N taken as the number of disks in the answer (use
        :func:`parse_flag` with the true N to also catch a missing largest disk)."""
        match = None
        for match in _STATE.finditer(text):  # noqa: B007
            pass
        n = 0 if match is None else len(re.findall(r"[0-9]+", match.group(1)))
        return parse_flag(text, n)

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> Candidate:
        disks, state, _ = self._read(payload)
        move, nxt = answer
        disk, src, dst = move
        other = 3 - src - dst
        choice = rng.randrange(5)
        wrong: Candidate
        if choice == 0:  # the disk goes the other way round
            wrong = ((disk, src, other), _moved(state, disk, src, other))
        elif choice == 1:  # the right move, but the state is copied without it
            wrong = (move, state)
        elif choice == 2 and len(nxt[dst]) >= 2:  # the moved disk slipped under the top one
            peg = nxt[dst]
            pegs = list(nxt)
            pegs[dst] = (*peg[:-2], peg[-1], peg[-2])
            wrong = (move, (pegs[0], pegs[1], pegs[2]))
        elif choice == 3 and disk != 1:  # disk 1 moved again, out of turn
            one = next(i for i in range(3) if state[i] and state[i][-1] == 1)
            to = (one + _direction(disks)) % 3
            wrong = ((1, one, to), _moved(state, 1, one, to))
        else:  # the move is reported with the pegs swapped, the state is right
            wrong = ((disk, dst, src), nxt)
        if wrong == answer:  # every branch differs from the truth; keep the contract explicit
            wrong = (move, state)
        return wrong

    def malformed(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        disks, _, _ = self._read(payload)
        move, nxt = answer
        lines = _render(answer, self.reasoning_tokens).rsplit("\n", 2)
        head = lines[0] + "\n" if len(lines) == 3 else ""
        state = _fmt_state(nxt)
        form = rng.randrange(6)
        if form == 0:  # two integers in the move
            return f"{head}move = [{move[0]}, {move[2]}]\nnext_state = {state}"
        if form == 1:  # the largest disk forgotten
            dropped = [[d for d in peg if d != disks] for peg in nxt]
            return f"{head}move = {_fmt_list(move)}\nnext_state = {_fmt_state(dropped)}"
        if form == 2:  # a disk written twice
            doubled = [list(p) for p in nxt]
            doubled[move[2]].append(move[0])
            return f"{head}move = {_fmt_list(move)}\nnext_state = {_fmt_state(doubled)}"
        if form == 3:  # a fourth peg
            return f"{head}move = {_fmt_list(move)}\nnext_state = {state[:-1]}, []]"
        if form == 4:  # prose instead of the format
            return f"{head}I will move disk {move[0]} from peg {move[1]} to peg {move[2]}."
        return f"{head}move = ({move[0]}, {move[1]}, {move[2]})\nthe next state is {state}"


# The k votes of a step share one payload object: remember the last answer by identity (the
# reference held keeps the id from being reused).
_last_solved: list[Any] = [None, None]


def _solve(payload: Mapping[str, Any]) -> Candidate:
    if _last_solved[0] is payload:
        answer: Candidate = _last_solved[1]
        return answer
    disks, state, previous = HanoiStepKind._read(payload)
    move = next_move(previous, state, disks)
    answer = (move, _moved(state, *move))
    _last_solved[0], _last_solved[1] = payload, answer
    return answer


@functools.lru_cache(maxsize=1024)
def _render(answer: Candidate, reasoning_tokens: int) -> str:
    move, nxt = answer
    why = (
        "The previous move did not move disk 1, so disk 1 moves one peg."
        if move[0] == 1
        else "The previous move moved disk 1, so I make the only legal move without disk 1."
    )
    return (
        f"{_padding(reasoning_tokens)}{why}\n"
        f"move = {_fmt_list(move)}\nnext_state = {_fmt_state(nxt)}"
    )


HANOI_KIND = HanoiStepKind()
register_task_kind(HANOI_KIND)
