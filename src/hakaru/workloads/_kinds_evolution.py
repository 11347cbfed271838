"""The task kind of the evolution workload (paper §3.3): an LLM as the mutation operator.

``mutate`` rewrites blocks of l one-token words (one block per line). The fitness is a ONEMAX
variant: a block is *correct* when it equals its hidden target block. The payload carries the
blocks, their targets (which the prompt never shows) and a ``nonce`` naming the application.

The paper's mutator is reliable but not deterministic: every block it rewrites comes out
correct with probability 1/2, independently. The simulated oracle implements exactly that: its
"ground truth" for a payload is a draw from a generator seeded by a digest of the payload, so a
run is deterministic for its seed (the nonce holds the run seed and the application's index)
and answers the same in any process or order — the same way the built-in ``generic`` kind
draws its text. The model's own error knobs come on top: a *wrong* mutation spoils one block.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from hakaru.errors import ConfigError, RedFlag
from hakaru.tasks import TaskKind, register_task_kind
from hakaru.types import Message
from hakaru.workloads._kinds_common import digest_rng, other_word, tokens, words

__all__ = ["MUTATE", "MUTATE_FIXED", "MutateKind", "check_blocks", "incorrect_block"]

MUTATE = "mutate"

_SYSTEM = (
    "You are the mutation operator of an evolutionary search. Rewrite every block you are "
    "given (one block per line, keep its number of words) into a variant that may score "
    "better. Reply with the rewritten blocks only, one per line."
)
_BLOCK = re.compile(r"[a-z]{1,4}(?: [a-z]{1,4})*")

#: Tokens of the mutator's prompt besides the blocks themselves.
MUTATE_FIXED = tokens(_SYSTEM)


def incorrect_block(target: str, rng: random.Random) -> str:
    """A block of the same length as ``target`` that differs from it."""
    w = target.split()
    out = words(rng, len(w))
    if out == w:
        out[0] = other_word(rng, w[0])
    return " ".join(out)


def _blocks(payload: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    blocks, targets = payload.get("blocks"), payload.get("targets")
    if not isinstance(blocks, list) or not isinstance(targets, list) or len(blocks) != len(targets):
        raise ConfigError(
            "A mutate task needs a payload {'blocks': [str, ...], 'targets': [str, ...], "
            f"'nonce': str}} with as many targets as blocks; got {dict(payload)!r}."
        )
    return blocks, targets


class MutateKind(TaskKind):
    """Rewrite every block; each comes out correct with probability 1/2.

    >>> kind = MutateKind()
    >>> out = kind.solve({"blocks": ["lake moon"], "targets": ["star tree"], "nonce": "0"})
    >>> len(out), len(out[0].split())
    (1, 2)
    """

    name = MUTATE

    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        blocks, _ = _blocks(payload)
        return (Message("system", _SYSTEM), Message("user", "\n".join(blocks)))

    def solve(self, payload: Mapping[str, Any]) -> list[str]:
        blocks, targets = _blocks(payload)
        rng = digest_rng("mutate", blocks, targets, payload.get("nonce"))
        return [t if rng.random() < 0.5 else incorrect_block(t, rng) for t in targets]

    def render(self, answer: Any) -> str:
        return "\n".join(answer)

    def parse(self, text: str) -> list[str]:
        lines = text.strip().splitlines()
        for line in lines:
            if _BLOCK.fullmatch(line) is None:
                raise RedFlag(f"not a block of words: {line[:60]!r}")
        return lines

    def items(self, payload: Mapping[str, Any]) -> int:
        return len(_blocks(payload)[0])

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> list[str]:
        out = list(answer)
        i = rng.randrange(len(out))
        w = out[i].split()
        j = rng.randrange(len(w))
        w[j] = other_word(rng, w[j])  # one block spoiled
        out[i] = " ".join(w)
        return out

    def malformed(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        return "Here are the mutated blocks:\n" + self.render(answer)


def check_blocks(blocks: Sequence[str], count: int, length: int) -> list[str]:
    """Red-flag a mutation that is not ``count`` blocks of ``length`` words."""
    if len(blocks) != count or any(len(b.split()) != length for b in blocks):
        raise RedFlag(f"expected {count} block(s) of {length} words, got {len(blocks)} line(s)")
    return list(blocks)


register_task_kind(MutateKind())
