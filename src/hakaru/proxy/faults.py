"""Fault injection for the simulated server: 429s, 500s, delays, dropped connections, garbage.

Clients are tested against the failures real servers produce. Each request draws once, in
arrival order, from a generator seeded by the plan, so a run with the same seed and the same
request order meets the same faults. Draws are *not* keyed by the request's content: a request
that failed is not doomed to fail again when retried — which is what makes retries worth testing.

The exclusive faults share one uniform draw (``u < r429`` → 429, then 500, then drop, then
garbage, else a normal answer); a delay is drawn separately and may precede any outcome.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from hakaru.errors import ConfigError

__all__ = ["Fault", "FaultInjector", "FaultPlan", "parse_delay"]

FaultKind = Literal["none", "429", "500", "drop", "garbage"]


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Rates (probabilities per request) of each fault.

    >>> FaultPlan(rate_429=0.1, rate_500=0.05).active
    True
    """

    rate_429: float = 0.0  # answer 429 with Retry-After
    retry_after: float = 1.0  # seconds, sent in Retry-After with each 429
    rate_500: float = 0.0  # answer 500
    delay_rate: float = 0.0  # wait `delay` seconds before answering
    delay: float = 0.0  # seconds
    drop_rate: float = 0.0  # close the connection without an answer (mid-stream when streaming)
    garbage_rate: float = 0.0  # answer 200 with malformed JSON
    seed: int = 0

    def __post_init__(self) -> None:
        names = ("rate_429", "rate_500", "delay_rate", "drop_rate", "garbage_rate")
        for name in names:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"Fault rate {name}={value} is not a probability in [0, 1].")
        exclusive = self.rate_429 + self.rate_500 + self.drop_rate + self.garbage_rate
        if exclusive > 1.0 + 1e-12:
            raise ConfigError(
                f"The 429, 500, drop and garbage rates add up to {exclusive:g} > 1. "
                "Each request meets at most one of them; lower the rates."
            )
        if self.retry_after < 0 or self.delay < 0:
            raise ConfigError("Retry-After and delay seconds must be >= 0.")

    @property
    def active(self) -> bool:
        """Whether any fault can happen."""
        return self.rate_429 + self.rate_500 + self.drop_rate + self.garbage_rate > 0 or (
            self.delay_rate > 0 and self.delay > 0
        )


@dataclass(frozen=True, slots=True)
class Fault:
    """What one request meets: ``kind`` and a delay (seconds) before it."""

    kind: FaultKind = "none"
    delay: float = 0.0  # seconds


NO_FAULT = Fault()


class FaultInjector:
    """Draws a :class:`Fault` per request from a :class:`FaultPlan`.

    >>> inject = FaultInjector(FaultPlan(rate_500=1.0))
    >>> inject.draw().kind
    '500'
    >>> inject.counts["500"]
    1
    """

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self.counts: dict[str, int] = {"429": 0, "500": 0, "drop": 0, "garbage": 0, "delay": 0}

    def draw(self) -> Fault:
        plan = self.plan
        if not plan.active:
            return NO_FAULT
        u = self._rng.random()
        delay = 0.0
        if plan.delay_rate > 0 and self._rng.random() < plan.delay_rate:
            delay = plan.delay
            self.counts["delay"] += 1
        kind: FaultKind = "none"
        for name, rate in (
            ("429", plan.rate_429),
            ("500", plan.rate_500),
            ("drop", plan.drop_rate),
            ("garbage", plan.garbage_rate),
        ):
            if u < rate:
                kind = name  # type: ignore[assignment]
                self.counts[name] += 1
                break
            u -= rate
        return Fault(kind, delay) if kind != "none" or delay else NO_FAULT


def parse_delay(text: str) -> tuple[float, float]:
    """``"0.1:2.5"`` → ``(0.1, 2.5)``: a rate and the seconds each delayed request waits.

    >>> parse_delay("0.25:1")
    (0.25, 1.0)
    """
    rate, sep, seconds = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return float(rate), float(seconds)
    except ValueError:
        raise ConfigError(
            f"--fault-delay '{text}' is not RATE:SECONDS. Write e.g. 0.1:2 "
            "(10 % of requests wait 2 s)."
        ) from None
