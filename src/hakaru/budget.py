"""Hard budgets that never overshoot under concurrency: reserve the worst case, settle the actual.

Check-then-record budgets overshoot when many calls are in flight (every caller sees room, all
spend it — e.g. LiteLLM issues #34732 and #26672, in docs/papers.md). Here a call
first *reserves* its worst case — estimated input plus ``max_tokens`` of output, priced — and is
refused with :class:`~hakaru.errors.BudgetExceeded` before it is made if spent + reserved +
worst case would pass a limit. When it returns, the reservation is replaced by what it really
cost. Reservation is a synchronous check-and-add, so it is atomic on one event loop — and a session
stays on its driver whatever the executor. Several drivers sharing one budget use the budget
actor of ``hakaru.executors.budget_actor``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hakaru.errors import BudgetExceeded, ConfigError
from hakaru.pricing.prices import Prices
from hakaru.types import CallRecord

__all__ = ["Amount", "Budget", "BudgetGuard", "worst_dollars"]


@dataclass(frozen=True, slots=True)
class Amount:
    """What one call may use or did use."""

    calls: int = 0
    tokens: int = 0  # input + output tokens
    dollars: float = 0.0  # USD
    primitives: int = 0  # forward passes = output tokens

    @staticmethod
    def used_by(rec: CallRecord) -> Amount:
        """What one recorded attempt really used: a failed or cached one no tokens."""
        if not rec.executed:
            return Amount(calls=0 if rec.status == "cached" else 1)
        n, o = rec.input_tokens, rec.output_tokens
        return Amount(1, n + o, rec.dollars or 0.0, o)


@dataclass(frozen=True, slots=True)
class Budget:
    """Limits for a session; ``None`` means unlimited.

    >>> Budget(tokens=10_000, dollars=0.5)
    Budget(calls=None, tokens=10000, dollars=0.5, primitives=None)
    """

    calls: int | None = None
    tokens: int | None = None
    dollars: float | None = None  # USD
    primitives: int | None = None  # forward passes

    def __post_init__(self) -> None:
        for name in ("calls", "tokens", "dollars", "primitives"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(f"Budget {name} is {value}. Give a limit >= 0, or None.")


_UNITS = {"calls": "calls", "tokens": "tokens", "dollars": "USD", "primitives": "forward passes"}


class BudgetGuard:
    """Tracks spent and reserved amounts against a :class:`Budget`."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.spent = [0.0, 0.0, 0.0, 0.0]
        self.reserved = [0.0, 0.0, 0.0, 0.0]
        self._limits = (budget.calls, budget.tokens, budget.dollars, budget.primitives)

    def reserve(self, worst: Amount) -> Amount:
        """Reserve ``worst`` or raise :class:`BudgetExceeded` (nothing is reserved then)."""
        want = (worst.calls, worst.tokens, worst.dollars, worst.primitives)
        for i, (name, limit) in enumerate(zip(_UNITS, self._limits, strict=True)):
            if limit is None:
                continue
            used = self.spent[i] + self.reserved[i]
            if used + want[i] > limit + 1e-12:
                unit = _UNITS[name]
                raise BudgetExceeded(
                    f"The {name} budget of {_fmt(limit)} {unit} would be exceeded: "
                    f"{_fmt(used)} {unit} spent or reserved, and this call may use up to "
                    f"{_fmt(want[i])}. Raise the budget, or lower max_tokens so calls reserve less",
                    resource=name,
                )
        for i, w in enumerate(want):
            self.reserved[i] += w
        return worst

    def settle(self, reservation: Amount, actual: Amount) -> None:
        """Replace a reservation by the amount really used."""
        res = (reservation.calls, reservation.tokens, reservation.dollars, reservation.primitives)
        act = (actual.calls, actual.tokens, actual.dollars, actual.primitives)
        for i in range(4):
            self.reserved[i] -= res[i]
            self.spent[i] += act[i]

    def remaining(self) -> dict[str, float | None]:
        """What is left of each limit (``None`` for unlimited)."""
        return {
            name: None if limit is None else limit - self.spent[i] - self.reserved[i]
            for i, (name, limit) in enumerate(zip(_UNITS, self._limits, strict=True))
        }


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.6g}"


def worst_dollars(
    prices: Prices | None, model: str, budget: Budget, input_tokens: int, output_tokens: int
) -> float:
    """The USD to reserve for a call of ``model`` with at most these token counts.

    A dollar limit cannot hold for a model whose price is unknown: that is a
    :class:`~hakaru.errors.ConfigError` before any call, never a reservation of $0.
    """
    if prices is not None:
        return prices.worst(input_tokens, output_tokens)
    if budget.dollars is not None:
        raise ConfigError(
            f"The dollar budget cannot be kept: the price of model '{model}' is unknown. Give "
            "its prices (ModelSpec(price_in=…, price_out=…) or a --prices file), or drop the "
            "dollar limit"
        )
    return 0.0
