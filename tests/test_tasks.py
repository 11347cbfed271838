"""Task kinds: the registry, the built-in ``sum`` and ``generic`` kinds, capability checks."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import pytest

from hakaru import tasks
from hakaru.errors import CapabilityError, ConfigError, RedFlag
from hakaru.tasks import (
    GenericKind,
    SumKind,
    TaskKind,
    check_capability,
    filler_text,
    known_task_kinds,
    register_task_kind,
    task_kind,
)
from hakaru.tokenizer import count_tokens
from hakaru.types import Message, ModelSpec, Task

SUM = SumKind()


# --- registry -------------------------------------------------------------------------------


def test_builtin_kinds_are_registered() -> None:
    assert {"sum", "generic"} <= set(known_task_kinds())
    assert isinstance(task_kind("sum"), SumKind)
    assert isinstance(task_kind("generic"), GenericKind)


def test_unknown_kind_message() -> None:
    with pytest.raises(ConfigError) as info:
        task_kind("sort-xyz")
    assert str(info.value) == (
        f"Unknown task kind 'sort-xyz'. Known: {', '.join(known_task_kinds())}. "
        "Register new kinds with hakaru.tasks.register_task_kind()."
    )


class EchoKind(TaskKind):
    """A third-party kind: answer with the payload's word, upper-cased."""

    name = "test-echo"

    def messages(self, payload: Mapping[str, Any]) -> tuple[Message, ...]:
        return (Message("user", f"Shout: {payload['word']}"),)

    def solve(self, payload: Mapping[str, Any]) -> str:
        return str(payload["word"]).upper()

    def render(self, answer: Any) -> str:
        return f"> {answer}"

    def parse(self, text: str) -> str:
        if not text.startswith("> "):
            raise RedFlag("no '> ' prefix")
        return text[2:]

    def wrong(self, payload: Mapping[str, Any], answer: Any, rng: random.Random) -> str:
        return str(answer).lower()


def test_third_party_kind_registers_like_a_builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "_KINDS", dict(tasks._KINDS))
    register_task_kind(EchoKind())
    kind = task_kind("test-echo")
    request = kind.request("m", {"word": "hi"}, role="shouter", max_tokens=5)
    assert request.model == "m"
    assert request.messages == (Message("user", "Shout: hi"),)
    assert request.task == Task("test-echo", {"word": "hi"}, 1)
    assert (request.role, request.max_tokens) == ("shouter", 5)
    assert kind.parse(kind.render(kind.solve({"word": "hi"}))) == "HI"


def test_invalid_kind_name() -> None:
    class Bad(EchoKind):
        name = "sum:4"

    with pytest.raises(ConfigError) as info:
        register_task_kind(Bad())
    assert str(info.value) == (
        "Task kind name 'sum:4' is invalid. Use letters, digits, '_', '.' or '-' "
        "(no ':' or '*': they mean capability bounds)."
    )


# --- capability ------------------------------------------------------------------------------

ADDER = ModelSpec("sim-adder", capabilities=frozenset({"sum:4"}))


def test_capability_error_message_exact() -> None:
    with pytest.raises(CapabilityError) as info:
        check_capability(ADDER, Task("sum", {}, items=9))
    assert str(info.value) == (
        "Model 'sim-adder' cannot perform 'sum' on 9 items: its capability is sum on at most 4. "
        "Use a model with that capability or split the task."
    )


def test_capability_missing_kind_message_exact() -> None:
    with pytest.raises(CapabilityError) as info:
        check_capability(ADDER, Task("sort", {}, items=2))
    assert str(info.value) == (
        "Model 'sim-adder' cannot perform 'sort': its capabilities are sum:4. "
        "Use a model with that capability."
    )


def test_capability_within_bounds_passes() -> None:
    check_capability(ADDER, Task("sum", {}, items=4))
    check_capability(ADDER, Task("sum", {}, items=None))
    small = ModelSpec("s", capabilities=frozenset({"*:16"}))
    check_capability(small, Task("sort", {}, items=16))
    with pytest.raises(CapabilityError):
        check_capability(small, Task("sort", {}, items=17))
    check_capability(ModelSpec("big"), Task("anything", {}, items=10**6))


# --- sum -------------------------------------------------------------------------------------


def test_sum_prompt_truth_and_items() -> None:
    payload = {"numbers": [12, 7, -3, 40]}
    system, user = SUM.messages(payload)
    assert system.role == "system" and "sum = <integer>" in system.content
    assert user == Message("user", "Add these numbers: 12, 7, -3, 40")
    assert SUM.solve(payload) == 56
    assert SUM.items(payload) == 4
    assert SUM.render(56) == "sum = 56"
    assert SUM.parse(SUM.render(-56)) == -56


def test_sum_payload_is_validated() -> None:
    with pytest.raises(ConfigError) as info:
        SUM.solve({"numbers": [1, "2"]})
    assert str(info.value) == (
        "The 'sum' task needs a payload {'numbers': [int, ...]}; got {'numbers': [1, '2']}."
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("sum = 5", 5),
        ("sum = -17", -17),
        ("sum = 3\nsum = 5", 5),  # the last answer line wins
        ("12 + 7 = 19\n19 + 1 = 20\nsum = 20", 20),
        ("sum = 8\n\n", 8),  # blank lines after the answer are fine
        ("sum = 007", 7),
    ],
)
def test_sum_parser_accepts(text: str, value: int) -> None:
    assert SUM.parse(text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no answer line: expected a last line 'sum = <integer>'"),
        ("The answer is 5.", "no answer line: expected a last line 'sum = <integer>'"),
        ("Sum = 5", "no answer line: expected a last line 'sum = <integer>'"),
        ("sum = 5.0", "malformed answer line 'sum = 5.0': expected 'sum = <integer>'"),
        ("sum: 5", "malformed answer line 'sum: 5': expected 'sum = <integer>'"),
        ("sum = 5 apples", "malformed answer line 'sum = 5 apples': expected 'sum = <integer>'"),
        ("sum = 5 ", "malformed answer line 'sum = 5 ': expected 'sum = <integer>'"),
        ("sum =5", "malformed answer line 'sum =5': expected 'sum = <integer>'"),
        ("sum = five", "malformed answer line 'sum = five': expected 'sum = <integer>'"),
        ("  sum = 5", "malformed answer line '  sum = 5': expected 'sum = <integer>'"),
        ("sum = 5\nsum = x", "malformed answer line 'sum = x': expected 'sum = <integer>'"),
        ("sum = 5\nDone.", "text after the answer line 'sum = <integer>'"),
    ],
)
def test_sum_parser_flags(text: str, reason: str) -> None:
    with pytest.raises(RedFlag) as info:
        SUM.parse(text)
    assert info.value.reason == reason


def _plausible(truth: int, wrong: int) -> bool:
    if abs(wrong - truth) in (1, 10, 100):
        return True
    a, b = str(abs(truth)), str(abs(wrong))
    diffs = [i for i in range(len(a)) if len(a) == len(b) and a[i] != b[i]]
    return len(diffs) == 2 and diffs[1] == diffs[0] + 1 and sorted(a) == sorted(b)


def test_sum_wrong_answers_are_plausible_and_never_right() -> None:
    rng = random.Random(7)
    seen_kinds = set()
    for _ in range(3000):
        payload = {"numbers": [rng.randrange(-500, 1000) for _ in range(rng.randrange(1, 6))]}
        truth = SUM.solve(payload)
        wrong = SUM.wrong(payload, truth, random.Random(rng.random()))
        assert wrong != truth
        assert _plausible(truth, wrong), (truth, wrong)
        seen_kinds.add(abs(wrong - truth) if abs(wrong - truth) in (1, 10, 100) else "swap")
    assert seen_kinds == {1, 10, 100, "swap"}


def test_sum_malformed_text_is_always_flagged() -> None:
    rng = random.Random(3)
    for _ in range(500):
        answer = rng.randrange(-10_000, 10_000)
        with pytest.raises(RedFlag):
            SUM.parse(SUM.malformed({"numbers": [answer]}, answer, rng))


# --- generic ---------------------------------------------------------------------------------


def test_filler_text_has_exact_token_counts() -> None:
    rng = random.Random(0)
    for n in (0, 1, 4, 9, 10, 11, 99, 1000):
        assert count_tokens(filler_text(n, rng)) == n


def test_generic_answers_are_deterministic_and_sized() -> None:
    kind = GenericKind(median_tokens=40, sigma=0)
    payload = {"prompt": "Tell me about sorting."}
    assert kind.solve(payload) == kind.solve(dict(payload))
    assert count_tokens(kind.solve(payload)) == 40
    assert count_tokens(kind.solve({"prompt": "x", "tokens": 7})) == 7
    assert kind.solve(payload) != kind.solve({"prompt": "Tell me about hashing."})
    assert kind.messages(payload) == (Message("user", "Tell me about sorting."),)
    assert kind.messages({"messages": [["system", "s"], ["user", "u"]]}) == (
        Message("system", "s"),
        Message("user", "u"),
    )


def test_generic_lengths_follow_the_configured_distribution() -> None:
    kind = GenericKind(median_tokens=100, sigma=0.5, min_tokens=10, max_tokens=300)
    lengths = sorted(count_tokens(kind.solve({"prompt": f"q{i}"})) for i in range(1001))
    assert 85 <= lengths[500] <= 115  # the median
    assert lengths[0] >= 10 and lengths[-1] <= 300
    assert lengths[900] > 150  # a real spread: exp(0.5·1.28) ≈ 1.9 × the median


def test_generic_parse_and_wrong() -> None:
    kind = task_kind("generic")
    truth = kind.solve({"prompt": "hi"})
    assert kind.parse(kind.render(truth)) == truth
    assert kind.wrong({"prompt": "hi"}, truth, random.Random(1)) != truth
    with pytest.raises(RedFlag) as info:
        kind.parse(kind.malformed({"prompt": "hi"}, truth, random.Random(1)))
    assert info.value.reason == "empty response"


def test_generic_rejects_bad_configuration() -> None:
    with pytest.raises(ConfigError) as info:
        GenericKind(min_tokens=10, max_tokens=5)
    assert str(info.value) == "GenericKind has max_tokens 5 < min_tokens 10. Raise max_tokens."
