"""The ``neural-sum`` model's own tokenizer: one token per digit and place, least significant first.

A digit token names its digit *and its place* in the number (units, tens, hundreds, thousands):
10 · :data:`WIDTH` digit tokens, then ``+``, ``=``, ``<bos>``, ``<eos>`` and ``<pad>``. A prompt
of the ``sum`` task kind (``Add these numbers: 12, 345``, as
:meth:`hakaru.tasks.SumKind.messages` writes it) becomes (digits shown, places implied)::

    <bos> 2 1 0 0 + 5 4 3 0 =          (1 + 5k tokens for k numbers)

and the answer ``357`` is the response ``7 5 3 0 <eos>`` (5 tokens), read back as
``sum = 357``. Each number is zero-padded to :data:`WIDTH` digits and written least significant
digit first, so the carry flows in the order the model writes; the place in the token lets the
i-th answer digit find the i-th digit of every number by content, whatever the count of numbers —
the tokenizer's version of the digit-place embeddings that make small transformers add
(McLeish et al., "Transformers Can Do Arithmetic with the Right Embeddings", arXiv:2405.17399,
§2; Cho et al., "Position Coupling", arXiv:2405.20671, §3). Numbers must lie in
0 … 10^WIDTH − 1; tree-sum's partial sums do for n ≤ 256 leaves of 0 … 9 (``leaf_max`` 9: at
most 256 · 9 = 2,304), and so do their sums.

>>> tok = SumTokenizer()
>>> tok.decode(tok.encode_numbers([12, 345]))
'<bos> 2 1 0 0 + 5 4 3 0 ='
>>> tok.answer_text(tok.encode_answer(357))
'sum = 357'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hakaru.errors import RequestRejected

__all__ = ["ANSWER_TOKENS", "OUT_WIDTH", "WIDTH", "SumTokenizer", "numbers_of_prompt"]

WIDTH = 4  #: digits of each input number
OUT_WIDTH = 4  #: digits of the answer (training sums stay below 10^4)
ANSWER_TOKENS = OUT_WIDTH + 1  #: the response: the answer's digits, then ``<eos>``

_PROMPT = re.compile(r"Add these numbers:\s*(\d+(?:\s*,\s*\d+)*)\s*")


def numbers_of_prompt(text: str) -> list[int]:
    """The numbers of a ``sum`` prompt's last line (``Add these numbers: 1, 2, 3``).

    Raises :class:`~hakaru.errors.RequestRejected` for any other prompt: the model was trained
    on this one task and answers nothing else.
    """
    line = text.strip().splitlines()[-1] if text.strip() else ""
    match = _PROMPT.fullmatch(line)
    if match is None:
        raise RequestRejected(
            f"neural-sum answers only the 'sum' task's prompt 'Add these numbers: a, b, …'; "
            f"got {line[:60]!r}. Send requests of task kind 'sum'"
        )
    return [int(x) for x in match.group(1).split(",")]


class SumTokenizer:
    """Digits at each place, ``+``, ``=``, ``<bos>``, ``<eos>``, ``<pad>``; see the module
    docstring. Token ``10 * place + digit`` is ``digit`` at ``place`` (0: units)."""

    symbols = (*("0123456789" * WIDTH), "+", "=", "<bos>", "<eos>", "<pad>")
    plus, equals, bos, eos, pad = range(10 * WIDTH, 10 * WIDTH + 5)

    def __len__(self) -> int:
        return len(self.symbols)

    def prompt_length(self, k: int) -> int:
        """Tokens of a prompt with ``k`` numbers: ``<bos>``, k numbers and k separators."""
        return 1 + (WIDTH + 1) * k

    def digits(self, value: int, width: int) -> list[int]:
        """``value`` as ``width`` digit tokens (digit and place), least significant first."""
        if not 0 <= value < 10**width:
            raise RequestRejected(
                f"neural-sum reads numbers from 0 to {10**width - 1}; got {value}. "
                "It was trained for tree-sum with leaves 0..9: run it with --leaf-max 9"
            )
        return [10 * i + (value // 10**i) % 10 for i in range(width)]

    def encode_numbers(self, numbers: Sequence[int]) -> list[int]:
        """The prompt tokens of a list of numbers."""
        if not numbers:
            raise RequestRejected("neural-sum needs at least one number to add")
        tokens = [self.bos]
        for i, value in enumerate(numbers):
            tokens += self.digits(value, WIDTH)
            tokens.append(self.equals if i == len(numbers) - 1 else self.plus)
        return tokens

    def encode_answer(self, total: int) -> list[int]:
        """The response tokens of the right answer."""
        return [*self.digits(total, OUT_WIDTH), self.eos]

    def answer_text(self, tokens: Sequence[int]) -> str:
        """The text of a generated response: ``sum = N`` when it is well formed (the answer
        digits, then ``<eos>``), else its tokens as written, which the strict parser of the
        ``sum`` kind red-flags."""
        body = list(tokens)
        if body and body[-1] == self.eos:
            body = body[:-1]
            if len(body) == OUT_WIDTH and all(t // 10 == i for i, t in enumerate(body)):
                return f"sum = {sum(t % 10 * 10**i for i, t in enumerate(body))}"
        return "sum = " + " ".join(self.symbols[t] for t in tokens)

    def decode(self, tokens: Sequence[int]) -> str:
        """Tokens as their symbols, space-separated."""
        return " ".join(self.symbols[t] for t in tokens)
