"""Concurrency slots, rate limits (requests and tokens per minute) and the retry policy of the
session.

Both are small on purpose: a token bucket per limit, and exponential backoff with jitter that
honours a server's Retry-After. The session owns the only retry loop — backends never retry — so
every attempt is accounted as its own record (a retried call may be billed twice).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from dataclasses import dataclass

from hakaru.errors import BackendError, ConfigError

__all__ = ["RateLimiter", "RetryPolicy", "Slots"]


class RateLimiter:
    """A token bucket refilled continuously at ``per_minute`` units per minute.

    The bucket holds at most one minute's worth, so a burst up to the limit passes at once.

    >>> limiter = RateLimiter(600)   # 600 requests per minute = 10 per second
    """

    def __init__(self, per_minute: float, *, what: str = "requests") -> None:
        if per_minute <= 0:
            raise ConfigError(f"A rate limit of {per_minute} {what}/minute is invalid. Give > 0.")
        self.rate = per_minute / 60.0  # units per second
        self.capacity = float(per_minute)
        self.level = float(per_minute)
        self.what = what
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self, amount: float = 1.0) -> None:
        """Wait until ``amount`` units are available, then take them."""
        if amount > self.capacity:
            raise ConfigError(
                f"One call needs {amount:,.0f} {self.what} but the limit is "
                f"{self.capacity:,.0f} per minute. Raise the limit or lower max_tokens"
            )
        async with self._lock:  # first come, first served
            while True:
                now = time.monotonic()
                self.level = min(self.capacity, self.level + (now - self._stamp) * self.rate)
                self._stamp = now
                if self.level >= amount:
                    self.level -= amount
                    return
                await asyncio.sleep((amount - self.level) / self.rate)

    def refund(self, amount: float) -> None:
        """Give back units reserved for a worst case that did not happen."""
        self.level = min(self.capacity, self.level + amount)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter; honours Retry-After.

    Attempt ``a`` (1-based) that failed with a retryable error waits
    ``min(max_delay, initial * factor**(a-1))`` seconds, scaled by a uniform factor in
    [1 − jitter, 1], or the server's Retry-After when it sent one (capped at ``max_retry_after``).
    429, 5xx, connection errors, timeouts and malformed responses are retried; other 4xx never.
    """

    max_attempts: int = 4
    initial: float = 0.5  # seconds
    factor: float = 2.0
    max_delay: float = 30.0  # seconds
    jitter: float = 0.5  # fraction of the delay drawn at random
    max_retry_after: float = 120.0  # seconds

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(f"max_attempts is {self.max_attempts}. Give at least 1.")
        if self.initial < 0 or self.factor < 1 or not 0 <= self.jitter <= 1:
            raise ConfigError(
                "Invalid retry policy. Use initial >= 0 s, factor >= 1 and 0 <= jitter <= 1"
            )

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        return isinstance(error, BackendError) and error.retryable and attempt < self.max_attempts

    def delay(self, error: BaseException, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt ``attempt``."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return float(min(max(retry_after, 0.0), self.max_retry_after))
        base = min(self.max_delay, self.initial * self.factor ** (attempt - 1))
        return base * (1.0 - self.jitter * rng.random())


class Slots:
    """A counting semaphore whose uncontended take costs no await (the hot path)."""

    __slots__ = ("free", "waiters")

    def __init__(self, n: int) -> None:
        self.free = n
        self.waiters: deque[asyncio.Future[None]] = deque()

    def try_take(self) -> bool:
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return True
        return False

    async def take(self) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.give()  # the slot was handed to us as we were cancelled: pass it on
            else:
                self.waiters.remove(fut)
            raise

    def give(self) -> None:
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # hand the slot over directly
                return
        self.free += 1
