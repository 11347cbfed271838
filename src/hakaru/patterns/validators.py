"""Red-flag validators: the checks a response must pass before it may vote.

MAKER (Meyerson et al., arXiv 2511.09030: red-flagging; docs/papers.md) discards — never repairs —
a response that shows a sign of confusion, because such signs correlate with wrong answers and,
worse, with *the same* wrong answer across samples. Three kinds of flag, each its own
:class:`~hakaru.errors.RedFlag` subclass so that counts can be broken down:

- :class:`LengthFlag` — the response was cut at ``max_tokens`` (``finish_reason == "length"``)
  or is longer than a threshold (the paper: 750 output tokens; errors climb past about 700);
- :class:`FormatFlag` — the strict parser rejected it (the paper's flag parser);
- :class:`DomainFlag` — a domain check on the parsed answer failed (optional hooks).

:func:`strict` builds the validator a run uses; :func:`repairing` the one calibration may use to
compare with MAKER's first estimates (tolerant parser, no length flag). A validator is what
``Session.call(request, validate=...)`` takes: it returns the parsed candidate (recorded on the
call as ``candidate``) or raises a RedFlag (the call is recorded with status ``flagged``). Every
flag carries ``output_tokens``, the length of the rejected response, for the diagnostics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from hakaru.errors import RedFlag
from hakaru.types import Response

__all__ = [
    "DomainFlag",
    "FormatFlag",
    "LengthFlag",
    "ParserMode",
    "flag_kind",
    "repairing",
    "strict",
]

T = TypeVar("T")
ParserMode = Literal["flag", "repair"]
Check = Callable[[Any], "str | None"]


class LengthFlag(RedFlag):
    """The response was truncated at ``max_tokens`` or ran past the length threshold."""

    kind = "length"


class FormatFlag(RedFlag):
    """The strict parser rejected the response."""

    kind = "format"


class DomainFlag(RedFlag):
    """A domain check rejected the parsed answer."""

    kind = "domain"


def flag_kind(flag: RedFlag) -> str:
    """``"length"``, ``"format"``, ``"domain"``, or ``"other"`` for a plain RedFlag."""
    kind = getattr(flag, "kind", "other")
    return kind if isinstance(kind, str) else "other"


def strict(
    parse: Callable[[str], T],
    *,
    max_output_tokens: int | None = None,
    checks: Sequence[Check] = (),
) -> Callable[[Response], T]:
    """The red-flagging validator: length, then the strict parser, then the domain checks.

    ``parse(text)`` returns a hashable candidate or raises RedFlag (a ``ValueError``, as raised
    by the paper's parsers, becomes a :class:`FormatFlag`). Each check takes the candidate and
    returns ``None`` (fine) or the reason to flag it.

    >>> from hakaru.types import Usage
    >>> v = strict(int, max_output_tokens=5, checks=[lambda x: "negative" if x < 0 else None])
    >>> v(Response("42", Usage(1, 1)))
    42
    >>> v(Response("-1", Usage(1, 1)))
    Traceback (most recent call last):
    ...
    hakaru.patterns.validators.DomainFlag: negative
    """

    def validate(response: Response) -> T:
        n_out = response.usage.output_tokens
        if response.finish_reason == "length":
            raise _flag(LengthFlag(f"response truncated at {n_out} output tokens"), n_out)
        if max_output_tokens is not None and n_out > max_output_tokens:
            raise _flag(
                LengthFlag(f"{n_out} output tokens, over the {max_output_tokens} threshold"), n_out
            )
        try:
            candidate = parse(response.text)
        except RedFlag as flag:
            raise _flag(flag, n_out) from None
        except ValueError as exc:
            raise _flag(FormatFlag(str(exc) or "unparsable response"), n_out) from None
        for check in checks:
            reason = check(candidate)
            if reason:
                raise _flag(DomainFlag(reason), n_out)
        return candidate

    return validate


def repairing(parse: Callable[[str], T]) -> Callable[[Response], T]:
    """A tolerant validator for calibration comparisons: no length flag, no domain checks.

    Only a response from which ``parse`` cannot read any candidate is flagged (it cannot vote).
    MAKER measured its first error rates this way; red-flagging barely changed the error rate
    but cut collisions (two wrong first votes), which is what voting cannot fix.
    """

    def validate(response: Response) -> T:
        try:
            return parse(response.text)
        except RedFlag as flag:
            raise _flag(flag, response.usage.output_tokens) from None
        except ValueError as exc:
            bad = FormatFlag(str(exc) or "unparsable response")
            raise _flag(bad, response.usage.output_tokens) from None

    return validate


def _flag(flag: RedFlag, output_tokens: int) -> RedFlag:
    flag.output_tokens = output_tokens  # type: ignore[attr-defined]
    return flag
