"""Prompt caching as the providers bill it, for the simulated server.

Real providers bill prompt tokens served from their cache at a lower rate and, for Anthropic,
tokens written to it at a higher one; hakaru prices those classes apart (:mod:`hakaru.pricing`),
so the simulated server reports them the way the two APIs do, deterministically:

- **OpenAI** caches automatically: a prompt of at least 1,024 tokens has its prefix cached in
  steps of 128 tokens, and a later prompt that starts with a cached prefix reports the longest
  such prefix as ``prompt_tokens_details.cached_tokens`` (OpenAI's "Prompt caching" guide).
- **Anthropic** caches what the request marks: the prompt up to a block with
  ``cache_control`` is a cache breakpoint. The longest breakpoint prefix seen before is read
  (``cache_read_input_tokens``); the rest up to the last breakpoint is written
  (``cache_creation_input_tokens``). A breakpoint shorter than the minimum (1,024 tokens, as for
  Claude Sonnet) caches nothing.

Prefixes are identified by a running BLAKE2b digest of their tokens (roles included), counted
with hakaru's tokenizer like every other count of the simulated server. Entries never expire:
the simulation has no clock. A cache is per server, shared by both APIs' requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from hashlib import blake2b

from hakaru.tokenizer import tokenize

__all__ = ["PromptCache"]

_MIN = 1024  # tokens: the smallest cacheable prefix
_STEP = 128  # tokens: OpenAI caches prefixes in these increments
_MAX_ENTRIES = 1 << 20  # prefixes remembered before the cache is cleared (memory bound)


class PromptCache:
    """Which prompt prefixes the simulated provider has cached.

    ``parts`` are the prompt's pieces in order as (role, text) pairs; a *breakpoint* is the
    index of the piece that ends a cached prefix (Anthropic's ``cache_control``).

    >>> cache = PromptCache(minimum=4, step=2)
    >>> prompt = [("user", "one two three four five six")]
    >>> cache.automatic(prompt), cache.automatic(prompt)   # (read, written) in tokens
    (0, 6)
    """

    def __init__(self, minimum: int = _MIN, step: int = _STEP) -> None:
        self.minimum = minimum
        self.step = step
        self._seen: set[bytes] = set()

    def _prefixes(
        self, parts: Sequence[tuple[str, str]], cut_after: Iterable[int] | None
    ) -> list[tuple[int, bytes]]:
        """(tokens, digest) of each cacheable prefix: at every ``step`` from ``minimum`` on
        (``cut_after`` None), or at the end of each piece listed in ``cut_after``."""
        marks = None if cut_after is None else set(cut_after)
        h = blake2b(digest_size=16)
        n = 0
        out: list[tuple[int, bytes]] = []
        for i, (role, text) in enumerate(parts):
            h.update(b"\x00" + role.encode() + b"\x01")
            for token in tokenize(text):
                h.update(token.encode() + b"\x02")
                n += 1
                if marks is None and n >= self.minimum and (n - self.minimum) % self.step == 0:
                    out.append((n, h.copy().digest()))
            if marks is not None and i in marks and n >= self.minimum:
                out.append((n, h.copy().digest()))
        return out

    def _settle(self, prefixes: list[tuple[int, bytes]]) -> tuple[int, int]:
        """(tokens read, tokens written): the longest prefix seen before is read, the rest up
        to the longest one is written; every prefix is cached from now on."""
        read = max((n for n, d in prefixes if d in self._seen), default=0)
        longest = max((n for n, _ in prefixes), default=0)
        if len(self._seen) > _MAX_ENTRIES:
            self._seen.clear()
        self._seen.update(d for _, d in prefixes)
        return read, longest - read

    def automatic(self, parts: Sequence[tuple[str, str]]) -> tuple[int, int]:
        """OpenAI's automatic caching: (cached tokens, tokens newly cached)."""
        return self._settle(self._prefixes(parts, None))

    def marked(
        self, parts: Sequence[tuple[str, str]], breakpoints: Iterable[int]
    ) -> tuple[int, int]:
        """Anthropic's ``cache_control`` breakpoints: (cache read, cache write) tokens."""
        return self._settle(self._prefixes(parts, breakpoints))
