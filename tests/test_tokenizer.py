"""The token counter's ASCII path gives exactly the regex's count (both paths are checked:
texts under 24 characters take the regex in ``count_tokens``)."""

from __future__ import annotations

import random
import string

import pytest

from hakaru.tokenizer import _TOKEN, _count_ascii, count_tokens, tokenize


def _regex_count(text: str) -> int:
    return len(_TOKEN.findall(text))


@pytest.mark.parametrize("code", range(128))
def test_every_ascii_code_point_counts_as_the_regex_does(code: int) -> None:
    c = chr(code)
    for text in (c, c * 5, f"a{c}1", f"{c}abcde{c}1234{c}", f" {c}{c} "):
        assert _count_ascii(text) == count_tokens(text) == _regex_count(text), repr(text)
        assert count_tokens(text) == len(tokenize(text))


def test_random_ascii_text_counts_as_the_regex_does() -> None:
    rng = random.Random(7)
    pools = (
        "".join(map(chr, range(128))),
        "ab1 ",
        "aZ09 .\t\n",
        string.ascii_letters + " ",
        "0123 x\x1c",
        string.printable,
    )
    for _ in range(20_000):
        pool = rng.choice(pools)
        text = "".join(rng.choice(pool) for _ in range(rng.randrange(0, 60)))
        assert _count_ascii(text) == count_tokens(text) == _regex_count(text), repr(text)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("abcd", 1),
        ("abcde", 2),
        ("abcdefghi", 3),
        ("123", 1),
        ("1234567", 3),
        ("ab12cd", 3),
        ("a, b!", 4),
        ("\x1c\x1d\x1e\x1f", 0),  # what \s matches in ASCII, beyond " \t\n\r\f\v"
        ("naïve café", 5),  # not ASCII: the regex itself (an accented letter is a token)
        ("日本語 テスト", 6),
    ],
)
def test_known_counts(text: str, tokens: int) -> None:
    assert count_tokens(text) == tokens == _regex_count(text)
