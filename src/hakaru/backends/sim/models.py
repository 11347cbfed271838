"""Simulated models: a :class:`~hakaru.types.ModelSpec` plus an error model and a latency model.

A :class:`SimModel` *is* a ``ModelSpec`` (size, context window, prices, capabilities) with the
knobs the simulated backend needs to behave like a real, imperfect LLM:

- **errors** — a call answers wrongly with probability
  ``error(fill) = base_error + (max_error − base_error)·fill^error_growth``, where
  ``fill = input_tokens / context_window``: models get worse as their context fills up. A wrong
  answer is, with probability ``rho``, the *correlated* one — the same wrong answer for the same
  input whatever the sample (the failure mode that voting cannot fix and red-flagging reduces;
  MAKER §2.3). Otherwise it is an independent plausible wrong answer;
- **red-flag material** — with probability ``malformed_rate`` the answer text fails the strict
  parser; with probability ``overlong_rate`` the model rambles for ``overlong_tokens`` tokens
  before answering (truncated at ``max_tokens`` with ``finish_reason="length"``), and a rambling
  answer is wrong with probability at least ``overlong_error`` (MAKER: errors rise once responses
  run long);
- **latency** — ``ttft + input_tokens/prefill_tps + output_tokens/decode_tps`` seconds.

The built-in catalog (:data:`BUILTIN_MODELS`) spans a tiny specialist adder to a large
generalist; sizes are billions of parameters, prices USD per 1M tokens, in the range of public
price lists of models of similar size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from hakaru.errors import ConfigError
from hakaru.types import ModelSpec

__all__ = ["BUILTIN_MODELS", "SimModel", "list_models"]


@dataclass(frozen=True, slots=True)
class SimModel(ModelSpec):
    """A simulated model: a ``ModelSpec`` with error, output and latency models.

    >>> m = SimModel("toy", size=1.0, context_window=1000, base_error=0.1, max_error=0.5)
    >>> m.error_rate(500)   # 0.1 + 0.4·0.5²
    0.2
    >>> SimModel("toy", ttft=0.1, prefill_tps=1000, decode_tps=10).latency(500, 20)
    2.6
    """

    base_error: float = 0.0  # probability of a wrong answer on an empty context
    max_error: float | None = None  # probability on a full context (None: same as base_error)
    error_growth: float = 2.0  # exponent γ of the fill term
    rho: float = 0.0  # probability that a wrong answer is the correlated one
    malformed_rate: float = 0.0  # probability that the text fails the strict parser
    overlong_rate: float = 0.0  # probability that the model rambles before answering
    overlong_tokens: int = 2048  # tokens of rambling before an overlong answer
    overlong_error: float = 0.5  # least probability that a rambling answer is wrong
    ttft: float = 0.2  # seconds to first token
    prefill_tps: float = 5000.0  # input tokens per second
    decode_tps: float = 50.0  # output tokens per second

    def __post_init__(self) -> None:
        ModelSpec.__post_init__(self)  # zero-argument super() fails in slotted dataclasses
        if self.max_error is None:
            object.__setattr__(self, "max_error", self.base_error)
        for name in ("base_error", "max_error", "rho", "malformed_rate", "overlong_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(
                    f"Model '{self.name}' has {name} {value}. Give a probability in [0, 1]."
                )
        if not 0.0 <= self.overlong_error <= 1.0:
            raise ConfigError(
                f"Model '{self.name}' has overlong_error {self.overlong_error}. "
                "Give a probability in [0, 1]."
            )
        if self.ceiling < self.base_error:
            raise ConfigError(
                f"Model '{self.name}' has max_error {self.max_error} < base_error "
                f"{self.base_error}. Errors grow with the context fill: raise max_error."
            )
        if self.error_growth <= 0:
            raise ConfigError(
                f"Model '{self.name}' has error_growth {self.error_growth}. "
                "Give a positive exponent."
            )
        if self.ttft < 0 or self.prefill_tps <= 0 or self.decode_tps <= 0:
            raise ConfigError(
                f"Model '{self.name}' has an invalid latency model (ttft {self.ttft} s, prefill "
                f"{self.prefill_tps} tok/s, decode {self.decode_tps} tok/s). Give ttft >= 0 and "
                "positive rates."
            )
        if self.overlong_tokens < 1:
            raise ConfigError(
                f"Model '{self.name}' has overlong_tokens {self.overlong_tokens}. Give at least 1."
            )

    @property
    def ceiling(self) -> float:
        """The error probability on a full context (``max_error`` resolved)."""
        return self.base_error if self.max_error is None else self.max_error

    @property
    def spec(self) -> ModelSpec:
        """The plain :class:`~hakaru.types.ModelSpec` part (what the session and ledger see)."""
        return ModelSpec(
            self.name,
            size=self.size,
            context_window=self.context_window,
            price_in=self.price_in,
            price_out=self.price_out,
            capabilities=self.capabilities,
            price_cache_read=self.price_cache_read,
            price_cache_write=self.price_cache_write,
            price_reasoning=self.price_reasoning,
        )

    def error_rate(self, input_tokens: int) -> float:
        """Probability of a wrong answer when the prompt holds ``input_tokens`` tokens."""
        fill = min(1.0, input_tokens / self.context_window)
        return self.base_error + (self.ceiling - self.base_error) * math.pow(
            fill, self.error_growth
        )

    def latency(self, input_tokens: int, output_tokens: int) -> float:
        """Seconds for one call: time to first token, prefill, then decode."""
        return self.ttft + input_tokens / self.prefill_tps + output_tokens / self.decode_tps

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SimModel:
        """Build from a mapping (a config file); unknown keys are an error, not ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"Unknown sim model key(s): {', '.join(unknown)}. "
                f"Known keys: {', '.join(sorted(known))}."
            )
        values = dict(data)
        if "capabilities" in values:
            values["capabilities"] = frozenset(values["capabilities"])
        return cls(**values)


BUILTIN_MODELS: dict[str, SimModel] = {
    m.name: m
    for m in (
        SimModel(
            "sim-adder",  # a tiny specialist: adds at most 4 numbers per call
            size=0.5,
            context_window=2048,
            price_in=0.02,
            price_out=0.04,
            capabilities=frozenset({"sum:4"}),
            base_error=0.002,
            max_error=0.05,
            rho=0.1,
            malformed_rate=0.002,
            overlong_rate=0.001,
            overlong_tokens=512,
            ttft=0.02,
            prefill_tps=50_000,
            decode_tps=400,
        ),
        SimModel(
            "sim-small",  # a small generalist: any task on at most 16 items
            size=3.0,
            context_window=8192,
            price_in=0.10,
            price_out=0.40,
            capabilities=frozenset({"*:16"}),
            base_error=0.01,
            max_error=0.2,
            rho=0.2,
            malformed_rate=0.005,
            overlong_rate=0.002,
            overlong_tokens=1024,
            ttft=0.1,
            prefill_tps=10_000,
            decode_tps=150,
        ),
        SimModel(
            "sim-medium",  # a medium generalist: any task on at most 64 items
            size=30.0,
            context_window=32_768,
            price_in=0.40,
            price_out=1.60,
            capabilities=frozenset({"*:64"}),
            base_error=0.003,
            max_error=0.1,
            rho=0.3,
            malformed_rate=0.002,
            overlong_rate=0.001,
            overlong_tokens=2048,
            ttft=0.25,
            prefill_tps=4000,
            decode_tps=70,
        ),
        SimModel(
            "sim-large",  # a large generalist: anything, but it errs more as its context fills
            size=400.0,
            context_window=131_072,
            price_in=3.00,
            price_out=12.00,
            capabilities=frozenset({"*"}),
            base_error=0.001,
            max_error=0.3,
            error_growth=1.5,
            rho=0.3,
            malformed_rate=0.001,
            overlong_rate=0.001,
            overlong_tokens=4096,
            ttft=0.6,
            prefill_tps=2000,
            decode_tps=40,
        ),
        SimModel(
            "sim-oracle",  # never wrong, never malformed: for exact-count tests and baselines
            size=1.0,
            context_window=1_048_576,
            price_in=0.0,  # free by construction: a simulated oracle bills nothing
            price_out=0.0,
            capabilities=frozenset({"*"}),
            ttft=0.1,
            prefill_tps=10_000,
            decode_tps=100,
        ),
    )
}


def list_models() -> list[SimModel]:
    """The built-in simulated models, smallest first (for ``hakaru models``)."""
    return sorted(BUILTIN_MODELS.values(), key=lambda m: (m.size, m.name))
