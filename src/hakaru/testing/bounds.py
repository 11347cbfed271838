"""``assert_cost`` and ``assert_no_budget_overshoot``: one run of a program against bounds.

``assert_cost`` checks the totals of one run at one size against ``<=`` bounds (calls,
dollars, forward passes, depth, or any other key of ``Session.totals()``).
``assert_no_budget_overshoot`` runs a program under a hard :class:`~hakaru.budget.Budget` and
checks, from the run's own records (not from the guard's bookkeeping), that what was spent
never passed a limit: a call refused by the budget ends the run normally.
"""

from __future__ import annotations

from typing import Any

from hakaru.budget import Amount, Budget
from hakaru.errors import BudgetExceeded, ConfigError
from hakaru.testing.growth import metric_key
from hakaru.testing.running import Program, SessionFactory, measure, run_sync

__all__ = ["assert_cost", "assert_no_budget_overshoot"]


def _table(rows: list[tuple[str, float, float]]) -> str:
    lines = [f"  {'metric':<16} {'measured':>14} {'bound':>14}"]
    for name, got, limit in rows:
        mark = "   over" if got > limit else ""
        lines.append(f"  {name:<16} {got:>14.6g} {limit:>14.6g}{mark}")
    return "\n".join(lines)


def assert_cost(
    run: Program,
    n: int,
    *,
    calls: float | None = None,
    dollars: float | None = None,
    forward_passes: float | None = None,
    depth: float | None = None,
    bounds: dict[str, float] | None = None,
    session: SessionFactory = "sim",
    **session_options: Any,
) -> dict[str, Any]:
    """Run ``run(session, n)`` once and fail if a total exceeds its bound; return the totals.

    ``bounds`` adds bounds on other keys of ``Session.totals()`` (``input_tokens``,
    ``aalp_cost``, …). ``session`` and ``session_options`` are as in
    :func:`~hakaru.testing.assert_growth`.

    >>> assert_cost(run, 16, calls=31, depth=5)  # doctest: +SKIP
    """
    __tracebackhide__ = True  # pytest shows the failure, not this function's code
    wanted = {"calls": calls, "dollars": dollars, "forward_passes": forward_passes, "depth": depth}
    limits = {k: float(v) for k, v in wanted.items() if v is not None}
    limits.update({k: float(v) for k, v in (bounds or {}).items()})
    if not limits:
        raise ConfigError(
            "assert_cost was given no bound. Pass calls=, dollars=, forward_passes=, depth= "
            "or bounds={metric: limit}"
        )
    totals, _ = run_sync(measure(run, int(n), session, session_options))
    rows = []
    for name, limit in limits.items():
        key = metric_key(name, totals)
        got = (
            float(totals[key])
            if key != "total_tokens"
            else float(totals["input_tokens"] + totals["output_tokens"])
        )
        rows.append((key, got, limit))
    over = [name for name, got, limit in rows if got > limit]
    if over:
        which = "its bound" if len(over) == 1 else "their bounds"
        raise AssertionError(f"at n={n}, {', '.join(over)} exceeded {which}:\n{_table(rows)}")
    return totals


def assert_no_budget_overshoot(
    run: Program,
    n: int,
    budget: Budget,
    *,
    session: str = "sim",
    **session_options: Any,
) -> Amount:
    """Run ``run(session, n)`` under ``budget`` and fail if what it spent passed a limit.

    The spending is summed from the run's records (every attempt: failed ones count a call,
    cached ones nothing), the way :class:`~hakaru.budget.Amount` counts one call. A
    :class:`~hakaru.errors.BudgetExceeded` raised by the program ends the run normally — that
    is the budget working. Returns the amount spent.

    >>> assert_no_budget_overshoot(run, 64, Budget(dollars=0.01))  # doctest: +SKIP
    """
    __tracebackhide__ = True  # pytest shows the failure, not this function's code
    if not isinstance(budget, Budget):
        raise ConfigError(
            f"budget must be a hakaru.Budget, got {type(budget).__name__}. "
            "Pass Budget(calls=..., tokens=..., dollars=..., primitives=...)"
        )
    if "budget" in session_options:
        raise ConfigError("give the budget once, as the third argument")
    options = {**session_options, "budget": budget}
    _, used = run_sync(measure(run, int(n), session, options, stops=(BudgetExceeded,)))
    spent = [0.0, 0.0, 0.0, 0.0]
    for rec in used.records:
        a = Amount.used_by(rec)
        for i, v in enumerate((a.calls, a.tokens, a.dollars, a.primitives)):
            spent[i] += v
    names = ("calls", "tokens", "dollars", "primitives")
    limits = (budget.calls, budget.tokens, budget.dollars, budget.primitives)
    rows = [
        (k, s, float(lim))
        for k, s, lim in zip(names, spent, limits, strict=True)
        if lim is not None
    ]
    over = [k for k, s, lim in rows if s > lim * (1 + 1e-9)]
    if over:
        raise AssertionError(
            f"at n={n}, the run spent more than its budget allows ({', '.join(over)}):\n"
            f"{_table(rows)}"
        )
    return Amount(int(spent[0]), int(spent[1]), spent[2], int(spent[3]))
