"""The simulated backend: determinism, error model, red-flag material, overflow, latency, time."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import Sequence
from typing import Any

import pytest

from hakaru.backends import base
from hakaru.backends.base import Backend
from hakaru.backends.sim import BUILTIN_MODELS, SimBackend, SimModel, list_models
from hakaru.errors import ConfigError, ContextOverflow, RedFlag
from hakaru.tasks import GenericKind, task_kind
from hakaru.tokenizer import count_tokens
from hakaru.types import Message, ModelSpec, Request, Response

SUM = task_kind("sum")
WIDE = 1_000_000  # tokens: a context so large that its fill term is negligible


def model(name: str = "m", **kw: Any) -> SimModel:
    values: dict[str, Any] = {"context_window": WIDE, "capabilities": frozenset({"*"})}
    values.update(kw)
    return SimModel(name, **values)


def complete_all(backend: SimBackend, requests: Sequence[Request]) -> list[Response]:
    async def go() -> list[Response]:
        return [await backend.complete(r) for r in requests]

    return asyncio.run(go())


def complete(backend: SimBackend, request: Request) -> Response:
    return complete_all(backend, [request])[0]


def sum_requests(model_name: str, n: int, **kw: Any) -> list[Request]:
    return [SUM.request(model_name, {"numbers": [i, 2 * i + 1, 7, i % 13]}, **kw) for i in range(n)]


def count_wrong(backend: SimBackend, requests: Sequence[Request]) -> int:
    responses = complete_all(backend, requests)
    return sum(not is_right(q, r) for q, r in zip(requests, responses, strict=True))


def is_right(request: Request, response: Response) -> bool:
    assert request.task is not None
    try:
        return bool(SUM.parse(response.text) == SUM.solve(request.task.payload))
    except RedFlag:
        return False


# --- registry, catalog, protocol -------------------------------------------------------------


def test_registered_as_sim_and_implements_the_protocol() -> None:
    assert base._REGISTRY["sim"] is SimBackend
    assert isinstance(SimBackend(), Backend)


def test_builtin_catalog() -> None:
    names = [m.name for m in list_models()]
    assert set(names) == set(BUILTIN_MODELS)
    sizes = [m.size for m in list_models()]
    assert sizes == sorted(sizes)
    adder = BUILTIN_MODELS["sim-adder"]
    assert adder.capabilities == frozenset({"sum:4"}) and adder.context_window == 2048
    assert adder.can("sum", 4) and not adder.can("sum", 5)
    large = BUILTIN_MODELS["sim-large"]
    assert large.capabilities == frozenset({"*"}) and large.context_window >= 128_000
    assert large.error_rate(large.context_window) > 10 * large.error_rate(0)
    for m in list_models():
        assert m.price_in <= m.price_out


def test_model_spec_is_the_plain_spec() -> None:
    backend = SimBackend()
    spec = backend.model_spec("sim-adder")
    assert type(spec) is ModelSpec
    assert spec == ModelSpec(
        "sim-adder",
        size=0.5,
        context_window=2048,
        price_in=0.02,
        price_out=0.04,
        capabilities=frozenset({"sum:4"}),
    )
    assert backend.model_spec("gpt-x") is None


def test_unknown_model_message() -> None:
    backend = SimBackend(models=[model("mine")])
    with pytest.raises(ConfigError) as info:
        complete(backend, Request.chat("gpt-x", "hi"))
    assert str(info.value) == (
        "Unknown sim model 'gpt-x'. Known: mine, sim-adder, sim-large, sim-medium, sim-oracle, "
        "sim-small. Add one with SimBackend(models=[SimModel(...)])."
    )


def test_models_option_accepts_sim_models_specs_and_mappings() -> None:
    backend = SimBackend(
        models=[
            model("a", base_error=0.5),
            ModelSpec("b", size=2.0),
            {"name": "c", "size": 3.0, "capabilities": ["sum:2"], "rho": 0.5},
            dataclasses.replace(BUILTIN_MODELS["sim-adder"], base_error=1.0, max_error=1.0),
        ]
    )
    assert backend.models["a"].base_error == 0.5
    assert backend.models["b"].base_error == 0.0 and backend.models["b"].size == 2.0
    assert backend.models["c"].capabilities == frozenset({"sum:2"})
    assert backend.models["sim-adder"].base_error == 1.0
    assert BUILTIN_MODELS["sim-adder"].base_error == 0.002  # the catalog itself is untouched


def test_model_validation_messages() -> None:
    with pytest.raises(ConfigError) as info:
        SimModel("x", rho=1.5)
    assert str(info.value) == "Model 'x' has rho 1.5. Give a probability in [0, 1]."
    with pytest.raises(ConfigError) as info:
        SimModel("x", base_error=0.3, max_error=0.1)
    assert str(info.value) == (
        "Model 'x' has max_error 0.1 < base_error 0.3. Errors grow with the context fill: "
        "raise max_error."
    )
    with pytest.raises(ConfigError) as info:
        SimModel.from_dict({"name": "x", "speed": 3})
    assert str(info.value).startswith("Unknown sim model key(s): speed. Known keys: ")


# --- determinism -----------------------------------------------------------------------------

NOISY = model("noisy", base_error=0.4, rho=0.3, malformed_rate=0.1, overlong_rate=0.05)


def test_same_seed_same_outcomes_different_seed_different_outcomes() -> None:
    requests = sum_requests("noisy", 300, temperature=0.7, max_tokens=100)
    first = complete_all(SimBackend(seed=5, models=[NOISY]), requests)
    again = complete_all(SimBackend(seed=5, models=[NOISY]), requests)
    other = complete_all(SimBackend(seed=6, models=[NOISY]), requests)
    assert first == again
    assert sum(a.text != b.text for a, b in zip(first, other, strict=True)) > 30


def test_outcome_does_not_depend_on_call_order() -> None:
    requests = sum_requests("noisy", 100, temperature=1.0)
    forward = complete_all(SimBackend(seed=2, models=[NOISY]), requests)
    backward = complete_all(SimBackend(seed=2, models=[NOISY]), requests[::-1])
    assert forward == backward[::-1]


def test_temperature_zero_ignores_sample_and_seed() -> None:
    backend = SimBackend(seed=1, models=[model("coin", base_error=0.5)])
    payloads = [{"numbers": [i, i + 1]} for i in range(50)]
    for payload in payloads:
        texts = {
            complete(backend, SUM.request("coin", payload, sample=s, seed=s)).text for s in range(8)
        }
        assert len(texts) == 1


def test_positive_temperature_samples_independently() -> None:
    backend = SimBackend(seed=1, models=[model("coin", base_error=0.5)])
    requests = [
        SUM.request("coin", {"numbers": [3, 4]}, temperature=0.8, sample=s) for s in range(200)
    ]
    responses = complete_all(backend, requests)
    right = sum(is_right(q, r) for q, r in zip(requests, responses, strict=True))
    assert 60 < right < 140  # about half, drawn anew per sample
    with_seed = complete(backend, dataclasses.replace(requests[0], seed=99))
    assert with_seed == complete(backend, dataclasses.replace(requests[0], seed=99))


# --- error model -----------------------------------------------------------------------------


def test_error_rate_matches_base_error_within_four_sigma() -> None:
    n, p = 20_000, 0.2
    backend = SimBackend(seed=11, models=[model("p20", base_error=p)])
    wrong = count_wrong(backend, sum_requests("p20", n))
    assert abs(wrong - n * p) < 4 * math.sqrt(n * p * (1 - p))


def test_rho_one_gives_one_wrong_answer_per_input() -> None:
    backend = SimBackend(seed=4, models=[model("corr", base_error=0.5, rho=1.0)])
    for numbers in ([1, 2, 3], [40, 50, 60, 70], [999, 1]):
        requests = [
            SUM.request("corr", {"numbers": numbers}, temperature=1.0, sample=s) for s in range(100)
        ]
        responses = complete_all(backend, requests)
        wrong = {r.text for q, r in zip(requests, responses, strict=True) if not is_right(q, r)}
        assert len(wrong) == 1


def test_rho_zero_gives_varied_wrong_answers() -> None:
    backend = SimBackend(seed=4, models=[model("free", base_error=0.5, rho=0.0)])
    requests = [
        SUM.request("free", {"numbers": [40, 50, 60, 70]}, temperature=1.0, sample=s)
        for s in range(100)
    ]
    responses = complete_all(backend, requests)
    wrong = {r.text for q, r in zip(requests, responses, strict=True) if not is_right(q, r)}
    assert len(wrong) > 3


def test_error_grows_with_context_fill() -> None:
    sim = model("filling", context_window=4000, base_error=0.01, max_error=0.9, error_growth=1)
    backend = SimBackend(seed=8, models=[sim])
    padding = "Some context the model must hold. " * 380  # 9 tokens each: 3,420 tokens
    n = 2000
    empty = sum_requests("filling", n)
    full = [
        dataclasses.replace(r, messages=(Message("system", padding), *r.messages)) for r in empty
    ]
    fill = complete(backend, full[0]).usage.input_tokens / 4000
    assert 0.8 < fill < 1.0
    wrong_empty = count_wrong(backend, empty)
    wrong_full = count_wrong(backend, full)
    p_full = sim.error_rate(round(fill * 4000))
    assert wrong_empty < 0.05 * n
    assert abs(wrong_full - n * p_full) < 4 * math.sqrt(n * p_full * (1 - p_full))


def test_error_rate_formula() -> None:
    sim = SimModel("f", context_window=1000, base_error=0.1, max_error=0.5, error_growth=3.0)
    assert sim.error_rate(0) == 0.1
    assert sim.error_rate(500) == 0.1 + 0.4 * 0.5**3
    assert sim.error_rate(1000) == 0.5
    assert SimModel("g", base_error=0.2).error_rate(8000) == 0.2  # max_error defaults to base


# --- red-flag material -----------------------------------------------------------------------


def test_malformed_responses_are_flagged_by_the_strict_parser() -> None:
    backend = SimBackend(seed=3, models=[model("messy", malformed_rate=1.0)])
    for response in complete_all(backend, sum_requests("messy", 200)):
        with pytest.raises(RedFlag):
            SUM.parse(response.text)
        assert response.finish_reason == "stop"


def test_malformed_rate_within_four_sigma() -> None:
    n, p = 5000, 0.1
    backend = SimBackend(seed=3, models=[model("messy", malformed_rate=p)])
    flagged = 0
    for response in complete_all(backend, sum_requests("messy", n)):
        try:
            SUM.parse(response.text)
        except RedFlag:
            flagged += 1
    assert abs(flagged - n * p) < 4 * math.sqrt(n * p * (1 - p))


def test_overlong_responses_are_truncated_at_max_tokens() -> None:
    backend = SimBackend(seed=3, models=[model("rambler", overlong_rate=1.0)])
    for response in complete_all(backend, sum_requests("rambler", 50, max_tokens=40)):
        assert response.finish_reason == "length" and response.truncated
        assert response.usage.output_tokens == 40
        assert count_tokens(response.text) == 40
        with pytest.raises(RedFlag):
            SUM.parse(response.text)


def test_overlong_without_max_tokens_rambles_then_answers() -> None:
    sim = model("rambler", overlong_rate=1.0, overlong_tokens=300)
    request = SUM.request("rambler", {"numbers": [1, 2]})
    response = complete(SimBackend(models=[sim]), request)
    assert response.finish_reason == "stop"
    last = response.text.splitlines()[-1]
    assert response.usage.output_tokens == 300 + count_tokens(last)
    SUM.parse(response.text)  # well formed; right or wrong (rambling answers err more)


def test_rambling_answers_err_more() -> None:
    sim = model("rambler", overlong_rate=1.0, overlong_tokens=10, overlong_error=0.5)
    wrong = count_wrong(SimBackend(models=[sim]), sum_requests("rambler", 1000))
    assert abs(wrong - 500) < 4 * math.sqrt(1000 * 0.25)


def test_short_max_tokens_truncates_a_normal_answer() -> None:
    request = SUM.request("sim-oracle", {"numbers": [600, 6]}, max_tokens=2)
    response = complete(SimBackend(), request)
    assert (response.text, response.usage.output_tokens, response.finish_reason) == (
        "sum =",
        2,
        "length",
    )


# --- context window --------------------------------------------------------------------------


def test_context_overflow_message() -> None:
    request = SUM.request("sim-adder", {"numbers": list(range(1000))}, max_tokens=100)
    with pytest.raises(ContextOverflow) as info:
        complete(SimBackend(), request)
    assert str(info.value) == (
        "Model 'sim-adder' has a maximum context length of 2048 tokens; the request needs 2156 "
        "(2056 in the messages, 100 requested for the completion). "
        "Shorten the prompt or lower max_tokens."
    )
    assert info.value.status == 400
    assert not info.value.retryable


def test_context_exactly_full_is_accepted() -> None:
    sim = model("tight", context_window=64)
    request = Request.chat("tight", "word " * 60, max_tokens=4)
    response = complete(SimBackend(models=[sim]), request)
    assert response.usage.input_tokens == 60
    with pytest.raises(ContextOverflow) as info:
        complete(SimBackend(models=[sim]), dataclasses.replace(request, max_tokens=5))
    assert str(info.value) == (
        "Model 'tight' has a maximum context length of 64 tokens; the request needs 65 "
        "(60 in the messages, 5 requested for the completion). Shorten the prompt or lower "
        "max_tokens."
    )


# --- usage, latency, time --------------------------------------------------------------------


def test_usage_and_latency_are_exact() -> None:
    sim = model("timed", ttft=0.5, prefill_tps=100.0, decode_tps=10.0)
    request = SUM.request("timed", {"numbers": [12, 7, -3, 40]})
    response = complete(SimBackend(models=[sim]), request)
    assert response.text == "sum = 56"
    assert response.model == "timed"
    assert response.usage.input_tokens == count_tokens(request.prompt_text()) == 65
    assert response.usage.output_tokens == 3
    assert response.usage.source == "reported"
    assert response.latency == 0.5 + 65 / 100.0 + 3 / 10.0


def test_requests_without_a_task_get_generic_text() -> None:
    backend = SimBackend(seed=2, generic=GenericKind(median_tokens=25, sigma=0))
    request = Request.chat("sim-oracle", "Describe a binary heap.", system="Be brief.")
    response = complete(backend, request)
    assert response.usage.output_tokens == count_tokens(response.text) == 25
    assert response == complete(SimBackend(seed=2, generic=GenericKind(25, 0)), request)
    other = complete(backend, Request.chat("sim-oracle", "Describe a trie.", system="Be brief."))
    assert other.text != response.text


def test_real_time_mode_sleeps_for_the_scaled_latency() -> None:
    sim = model("slow", ttft=1.0, prefill_tps=1e9, decode_tps=1e9)
    backend = SimBackend(models=[sim], real_time=True, time_scale=0.05)
    requests = sum_requests("slow", 3)
    start = time.monotonic()
    responses = complete_all(backend, requests)
    elapsed = time.monotonic() - start
    assert elapsed >= sum(r.latency for r in responses) * 0.05
    assert all(r.latency == pytest.approx(1.0) for r in responses)
