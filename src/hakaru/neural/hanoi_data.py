"""``neural-hanoi``: its tokenizer and its data — one MAKER step of Towers of Hanoi, 3 … 10 disks.

The step prompt of :class:`hakaru.mdap.hanoi.kind.HanoiStepKind` carries the number of disks N,
the previous move and the current state. The model reads them in a compact form of its own: the
state as the peg of each disk (disk 1 first), so that every disk sits at a fixed position::

    <bos> N=4 | d1 0 1 | 0 0 1 0 =          (N + 6 tokens: <bos>, N, the previous move as
                                             disk/from/to — three <none> at the first step —
                                             the peg of disks 1..N, then =)

and answers the move and the next state in the same form::

    d2 0 2 | 1 2 1 0 <eos>                  (N + 4 tokens)

read back as ``move = [2, 0, 2]`` and ``next_state = [[4], [3, 1], [2]]`` — the format
:func:`hakaru.mdap.hanoi.parsers.parse_flag` expects. An answer that is not of this shape (a
peg where a disk belongs, too few pegs) comes back as its raw tokens, which the strict parser
red-flags. The model is never told the rule: it learns it from the optimal solution's steps.

Training examples are steps t of the optimal solution (:func:`~hakaru.mdap.hanoi.rules.state_at`,
:func:`~hakaru.mdap.hanoi.rules.move_at`), N uniform in 3 … 10 and t uniform in 0 … 2^N − 2; the
held-out set draws them with seeds training never uses. Draws, not states: 3 … 10 disks have only
2,032 distinct steps, and training (160,000 examples) sees essentially all of them, so the
held-out accuracy is the model's accuracy on the task's own steps — what MAKER asks of it — not
generalisation to states it never saw; its errors are the steps training left unlearnt.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hakaru.errors import RequestRejected
from hakaru.mdap.hanoi.rules import Move, State, apply_move, move_at, solution_length, state_at

if TYPE_CHECKING:
    import torch

    from hakaru.hbpo.model import GPT

__all__ = [
    "HANOI_DATA",
    "HANOI_HELD_OUT_SEED",
    "MAX_DISKS",
    "MIN_DISKS",
    "HanoiStep",
    "HanoiTokenizer",
    "build_hanoi",
    "evaluate_hanoi",
    "hanoi_batch",
    "hanoi_held_out",
    "step_of_prompt",
]

MIN_DISKS, MAX_DISKS = 3, 10
HANOI_HELD_OUT_SEED = 10**9


@dataclass(frozen=True)
class HanoiStep:
    """One step: N disks, the previous move (None at the first step) and the state."""

    disks: int
    previous: Move | None
    state: State

    @property
    def answer(self) -> tuple[Move, State]:
        from hakaru.mdap.hanoi.rules import next_move

        move = next_move(self.previous, self.state, self.disks)
        return move, apply_move(self.state, move)


def step_of_prompt(text: str) -> HanoiStep:
    """The step a ``hanoi-step`` prompt (system + user text) asks for; any other prompt is
    refused with :class:`~hakaru.errors.RequestRejected`."""
    from hakaru.mdap.hanoi.kind import HANOI_KIND
    from hakaru.types import Message

    payload = HANOI_KIND.recognise((Message("system", text), Message("user", text)))
    if payload is None:
        raise RequestRejected(
            "neural-hanoi answers only the 'hanoi-step' task's prompt (MAKER's step: "
            "'Previous move: …' and 'Current state: [[…], […], […]]'). Send hanoi-step requests"
        )
    disks, state, previous = HANOI_KIND._read(payload)
    if not MIN_DISKS <= disks <= MAX_DISKS:
        raise RequestRejected(
            f"neural-hanoi was trained on {MIN_DISKS} to {MAX_DISKS} disks; got {disks}. "
            f"Run with --disks between {MIN_DISKS} and {MAX_DISKS}"
        )
    return HanoiStep(disks, previous, state)


class HanoiTokenizer:
    """Pegs 0–2, disks 1–10, ``<none>``, ``=``, ``<bos>``, ``<eos>``, ``<pad>``.

    >>> tok = HanoiTokenizer()
    >>> tok.decode(tok.encode_step(HanoiStep(4, (1, 0, 1), ((4, 3, 2), (1,), ()))))
    '<bos> N4 d1 0 1 1 0 0 0 ='
    >>> tok.answer_text(tok.encode_answer(((2, 0, 2), ((4, 3), (1,), (2,)))), 4)
    'move = [2, 0, 2]\\nnext_state = [[4, 3], [1], [2]]'
    """

    symbols = (
        "0",
        "1",
        "2",
        *(f"d{d}" for d in range(1, MAX_DISKS + 1)),
        *(f"N{n}" for n in range(1, MAX_DISKS + 1)),
        "<none>",
        "=",
        "<bos>",
        "<eos>",
        "<pad>",
    )
    none, equals, bos, eos, pad = 23, 24, 25, 26, 27

    def __len__(self) -> int:
        return len(self.symbols)

    @staticmethod
    def disk(d: int) -> int:
        return 2 + d

    @staticmethod
    def count(n: int) -> int:
        return 2 + MAX_DISKS + n

    @staticmethod
    def pegs_of(state: State, disks: int) -> list[int]:
        """The peg of each disk 1..N."""
        where = [0] * disks
        for peg, stack in enumerate(state):
            for d in stack:
                if not 1 <= d <= disks:
                    raise RequestRejected(f"the state holds disk {d}; disks are 1..{disks}")
                where[d - 1] = peg
        return where

    def encode_step(self, step: HanoiStep) -> list[int]:
        prev = (
            [self.none] * 3
            if step.previous is None
            else [self.disk(step.previous[0]), step.previous[1], step.previous[2]]
        )
        if step.previous is not None and not (
            1 <= step.previous[0] <= MAX_DISKS and {step.previous[1], step.previous[2]} <= {0, 1, 2}
        ):
            raise RequestRejected(f"the previous move {list(step.previous)} is not a move")
        return [
            self.bos,
            self.count(step.disks),
            *prev,
            *self.pegs_of(step.state, step.disks),
            self.equals,
        ]

    def encode_answer(self, answer: tuple[Move, State]) -> list[int]:
        (disk, src, dst), state = answer
        disks = sum(len(p) for p in state)
        return [self.disk(disk), src, dst, *self.pegs_of(state, disks), self.eos]

    @staticmethod
    def prompt_length(disks: int) -> int:
        return disks + 6

    @staticmethod
    def answer_length(disks: int) -> int:
        return disks + 4

    def answer_text(self, tokens: Sequence[int], disks: int) -> str:
        """``move = [...]`` and ``next_state = [[...], [...], [...]]`` when the response has the
        answer's shape, else its raw tokens (which the strict parser red-flags)."""
        body = list(tokens)
        if (
            len(body) == disks + 4
            and body[-1] == self.eos
            and 3 <= body[0] < 3 + MAX_DISKS
            and all(t < 3 for t in body[1:-1])
        ):
            pegs: list[list[int]] = [[], [], []]
            for d in range(disks, 0, -1):
                pegs[body[2 + d]].append(d)
            move = [body[0] - 2, body[1], body[2]]
            return f"move = {move}\nnext_state = {pegs}"
        return "answer: " + self.decode(body)

    def decode(self, tokens: Sequence[int]) -> str:
        return " ".join(self.symbols[t] for t in tokens)


def _step(disks: int, t: int) -> HanoiStep:
    return HanoiStep(disks, None if t == 0 else move_at(disks, t), state_at(disks, t))


def _draw(rng: random.Random, disks: int | None = None) -> HanoiStep:
    n = disks if disks is not None else rng.randint(MIN_DISKS, MAX_DISKS)
    return _step(n, rng.randrange(solution_length(n)))


def hanoi_held_out(count: int, seed: int = HANOI_HELD_OUT_SEED) -> list[HanoiStep]:
    """``count`` held-out steps, N cycling through 3 … 10, each drawn with its own seed."""
    span = MAX_DISKS - MIN_DISKS + 1
    return [_draw(random.Random(seed + i), MIN_DISKS + i % span) for i in range(count)]


def hanoi_batch(size: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets (size, T) of one N; targets are −100 on the prompt."""
    import torch

    tok = HanoiTokenizer()
    rng = random.Random(int(torch.randint(0, 2**62, (1,), generator=gen)))
    disks = rng.randint(MIN_DISKS, MAX_DISKS)
    rows = []
    for _ in range(size):
        step = _draw(rng, disks)
        rows.append(tok.encode_step(step) + tok.encode_answer(step.answer))
    seq = torch.tensor(rows)
    x, y = seq[:, :-1], seq[:, 1:].clone()
    y[:, : tok.prompt_length(disks) - 1] = -100
    return x, y


HANOI_DATA = (
    f"steps t of the optimal solution, N uniform in {MIN_DISKS}..{MAX_DISKS} disks, t uniform in "
    "0..2^N-2 (state_at/move_at of hakaru.mdap.hanoi.rules); input: N, the previous move and "
    "the peg of each disk; target: the next move and the peg of each disk after it. The task "
    "has 2,032 distinct steps (3..10 disks) and training draws from all of them, so the "
    "held-out accuracy is on fresh draws of the same steps, not on unseen states"
)


def build_hanoi(n_layer: int, n_head: int, n_embd: int) -> GPT:
    """A freshly initialised ``neural-hanoi`` model (context: the longest prompt and answer)."""
    from hakaru.hbpo.model import GPT, GPTConfig

    tok = HanoiTokenizer()
    block = tok.prompt_length(MAX_DISKS) + tok.answer_length(MAX_DISKS)
    return GPT(GPTConfig(len(tok), block, n_layer, n_head, n_embd))


def evaluate_hanoi(model: GPT, count: int, batch: int = 512) -> tuple[float, dict[int, float]]:
    """Exact-answer accuracy of greedy decoding on the first ``count`` held-out steps, overall
    and per number of disks."""
    from hakaru.neural.generate import greedy

    tok = HanoiTokenizer()
    by_n: dict[int, list[HanoiStep]] = {}
    for step in hanoi_held_out(count):
        by_n.setdefault(step.disks, []).append(step)
    right: dict[int, int] = {}
    for n, steps in sorted(by_n.items()):
        right[n] = 0
        for at in range(0, len(steps), batch):
            chunk = steps[at : at + batch]
            prompts = [tok.encode_step(s) for s in chunk]
            outs = greedy(model, prompts, max_new=tok.answer_length(n), eos=tok.eos)
            right[n] += sum(
                out == tok.encode_answer(s.answer) for out, s in zip(outs, chunk, strict=True)
            )
    total = sum(right.values())
    return (total / count if count else 0.0), {n: right[n] / len(by_n[n]) for n in right}
