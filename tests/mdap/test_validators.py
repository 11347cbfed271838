"""Red-flag validators: length, strict format, domain checks; the repairing mode flags less."""

from __future__ import annotations

import asyncio

import pytest

from fakes import ScriptedBackend
from hakaru import RedFlag, Request, Response, Usage
from hakaru.patterns.validators import (
    DomainFlag,
    FormatFlag,
    LengthFlag,
    flag_kind,
    repairing,
    strict,
)
from hakaru.session import Session


def resp(text: str, out: int = 5, finish: str = "stop") -> Response:
    return Response(text, Usage(10, out), finish_reason=finish)


def digits(text: str) -> int:
    if not text.isdigit():
        raise FormatFlag(f"not a number: {text!r}")
    return int(text)


def flag_of(validate: object, response: Response) -> RedFlag:
    with pytest.raises(RedFlag) as err:
        validate(response)  # type: ignore[operator]
    return err.value


def test_truncated_response_is_a_length_flag() -> None:
    flag = flag_of(strict(digits), resp("12", out=750, finish="length"))
    assert isinstance(flag, LengthFlag) and flag_kind(flag) == "length"
    assert flag.reason == "response truncated at 750 output tokens"
    assert flag.output_tokens == 750  # type: ignore[attr-defined]


def test_over_the_threshold_is_a_length_flag_even_if_complete() -> None:
    validate = strict(digits, max_output_tokens=700)
    assert validate(resp("12", out=700)) == 12
    flag = flag_of(validate, resp("12", out=701))
    assert isinstance(flag, LengthFlag)
    assert flag.reason == "701 output tokens, over the 700 threshold"


def test_parser_flags_are_kept_and_value_errors_become_format_flags() -> None:
    flag = flag_of(strict(digits), resp("twelve"))
    assert isinstance(flag, FormatFlag) and flag.reason == "not a number: 'twelve'"
    flag = flag_of(strict(int), resp("twelve"))  # int() raises ValueError, like MAKER's parsers
    assert isinstance(flag, FormatFlag)
    assert flag.reason == "invalid literal for int() with base 10: 'twelve'"


def test_domain_checks_run_in_order_after_parsing() -> None:
    checks = [lambda x: "odd" if x % 2 else None, lambda x: "big" if x > 100 else None]
    validate = strict(digits, checks=checks)
    assert validate(resp("42")) == 42
    assert isinstance(flag_of(validate, resp("43")), DomainFlag)
    assert flag_of(validate, resp("43")).reason == "odd"
    assert flag_of(validate, resp("400")).reason == "big"
    assert flag_kind(flag_of(validate, resp("400"))) == "domain"
    assert flag_kind(RedFlag("plain")) == "other"


def test_length_is_checked_before_the_parser() -> None:
    flag = flag_of(strict(digits, max_output_tokens=3), resp("nonsense", out=9))
    assert isinstance(flag, LengthFlag)


def test_repairing_mode_never_flags_length() -> None:
    validate = repairing(digits)
    assert validate(resp("12", out=5000, finish="length")) == 12
    flag = flag_of(validate, resp("x"))
    assert isinstance(flag, FormatFlag) and flag.output_tokens == 5  # type: ignore[attr-defined]
    assert isinstance(flag_of(repairing(int), resp("x")), FormatFlag)


def test_through_the_session_flagged_calls_are_records_too() -> None:
    texts = iter(["twelve", "12"])
    backend = ScriptedBackend(lambda req, n: next(texts))

    async def main() -> Session:
        async with Session(backend) as s:
            with pytest.raises(FormatFlag):
                await s.call(Request.chat("m", "n?"), validate=strict(digits))
            r = await s.call(Request.chat("m", "n?"), validate=strict(digits))
            assert r.parsed == 12
            return s

    s = asyncio.run(main())
    flagged, ok = s.records
    assert (flagged.status, flagged.error_kind, flagged.candidate) == ("flagged", "red_flag", "")
    assert flagged.error == "not a number: 'twelve'"
    assert (ok.status, ok.candidate) == ("ok", "12")
    assert s.totals()["flagged_calls"] == 1 and s.totals()["calls"] == 2
