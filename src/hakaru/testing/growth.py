"""``assert_growth``: the cost of a program grows at most like a complexity class.

The program runs at every size in a fresh session, the chosen metric of each run's totals is
fitted with :func:`hakaru.analysis.fit_series` (the fitter of ``hakaru fit``: log-scale
least squares, classes ranked by AICc), and the assertion passes when the fitted class is no
faster than the bound in the order of :data:`hakaru.analysis.CLASSES`. A fit is *ambiguous*
when the runner-up is within the criterion's threshold (ΔAICc < 2); when the classes that tie
lie on both sides of the bound, the data cannot say whether the bound holds, so the assertion
fails and says so — unless ``allow_ambiguous=True``, which judges by the best class alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hakaru.analysis import CLASSES, FitResult, fit_series, parse_class
from hakaru.analysis.result import AMBIGUITY
from hakaru.errors import ConfigError
from hakaru.testing.running import Program, SessionFactory, measure, run_sync

__all__ = ["Growth", "assert_growth", "metric_key"]

MIN_SIZES = 4  # distinct sizes below which a growth assertion is refused

# Friendly metric names → keys of Session.totals().
_ALIASES = {"aalp": "aalp_cost", "tokens": "total_tokens", "primitives": "forward_passes"}


def metric_key(metric: str, totals: dict[str, Any]) -> str:
    """The key of ``totals`` that ``metric`` names, or a ConfigError listing the choices."""
    key = _ALIASES.get(metric, metric)
    if key == "total_tokens" or key in totals:
        return key
    numeric = sorted(k for k, v in totals.items() if isinstance(v, (int, float)) and k != "")
    raise ConfigError(f"unknown metric {metric!r}. Use one of: {', '.join(numeric)}")


def _value(key: str, totals: dict[str, Any]) -> float:
    if key == "total_tokens":
        return float(totals["input_tokens"] + totals["output_tokens"])
    return float(totals[key])


@dataclass(frozen=True)
class Growth:
    """What :func:`assert_growth` measured: the sizes, the values, the fit and the bound."""

    metric: str
    bound: str
    sizes: tuple[int, ...]
    values: tuple[float, ...]
    fit: FitResult

    @property
    def contenders(self) -> tuple[str, ...]:
        """The fitted class and every class within the ambiguity threshold of it."""
        fit = self.fit
        limit = AMBIGUITY[fit.criterion]
        best = fit.best.score
        out = []
        for c in fit.candidates:
            close = c.score / best if fit.criterion == "loo" else c.score - best
            if c is fit.best or close < limit:
                out.append(c.complexity)
        return tuple(out)

    def within(self, name: str) -> bool:
        return CLASSES.index(name) <= CLASSES.index(self.bound)

    def report(self, verdict: str) -> str:
        """The failure message: verdict, fitted class and constant, runner-up, the table."""
        fit = self.fit
        best = fit.best
        lines = [verdict, ""]
        offset = f" + {best.offset:.4g}" if best.offset is not None else ""
        lines.append(
            f"  fitted class   {best.complexity}   ({self.metric} ≈ {best.constant:.4g}·"
            f"{_g(best.complexity)}{offset})"
        )
        if len(fit.candidates) > 1:
            second = fit.candidates[1]
            gap = {"aicc": "ΔAICc", "bic": "ΔBIC", "loo": "LOO error ratio"}[fit.criterion]
            delta = "—" if fit.delta is None else f"{fit.delta:.3g}"
            lines.append(
                f"  runner-up      {second.complexity}   ({gap} = {delta}; "
                f"constant {second.constant:.4g})"
            )
        lines.append(f"  bound          at most {self.bound}")
        lines.append("")
        width = max(len("n"), *(len(str(n)) for n in self.sizes))
        lines.append(f"  {'n':>{width}}  {self.metric:>14}  {'fitted':>14}")
        for n, y in zip(self.sizes, self.values, strict=True):
            lines.append(f"  {n:>{width}}  {y:>14.6g}  {best.predict(float(n)):>14.6g}")
        for warning in fit.warnings:
            lines.append(f"  note: {warning}")
        return "\n".join(lines)


def _g(name: str) -> str:
    return "1" if name == "1" else name


def _check_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    try:
        out = tuple(int(n) for n in sizes)
    except (TypeError, ValueError):
        raise ConfigError(f"sizes must be whole numbers, got {sizes!r}") from None
    if any(n < 1 for n in out):
        raise ConfigError(f"sizes must be >= 1, got {list(out)}. Use positive problem sizes")
    distinct = len(set(out))
    if distinct < MIN_SIZES:
        raise ConfigError(
            f"assert_growth needs at least {MIN_SIZES} distinct sizes to fit a class, got "
            f"{distinct} ({', '.join(map(str, sorted(set(out))))}). Give 6 or more sizes "
            "spread over 10x or more, e.g. sizes=[4, 8, 16, 32, 64, 128]"
        )
    return out


async def _measure_all(
    program: Program,
    sizes: tuple[int, ...],
    metric: str,
    source: SessionFactory,
    options: dict[str, Any],
) -> tuple[str, list[float]]:
    values: list[float] = []
    key = ""
    for n in sizes:
        totals, _ = await measure(program, n, source, options)
        key = key or metric_key(metric, totals)
        values.append(_value(key, totals))
    return key, values


def assert_growth(
    run: Program,
    sizes: Sequence[int],
    *,
    metric: str = "calls",
    at_most: str = "n log n",
    allow_ambiguous: bool = False,
    criterion: str = "aicc",
    session: SessionFactory = "sim",
    **session_options: Any,
) -> Growth:
    """Fail unless ``metric`` of ``run`` grows at most like the class ``at_most``.

    ``run`` is ``async def run(session, n)``; it runs once per entry of ``sizes`` (repeat a
    size to measure it several times), each time in a fresh ``Session(session,
    **session_options)`` — the simulated LLM by default; ``session`` may also be a backend or
    a ``() -> Session`` factory. ``metric`` is a key of ``Session.totals()`` (``calls``,
    ``dollars``, ``forward_passes``, ``aalp_cost``, ``input_tokens``, ``depth``, …; also
    ``tokens`` and ``aalp``). Returns the :class:`Growth` measured.

    >>> async def run(session, n):
    ...     await session.map(lambda i: session.call(Request.chat("sim-small", f"{i}")), range(n))
    >>> assert_growth(run, [4, 8, 16, 32, 64], at_most="n")  # doctest: +SKIP
    """
    __tracebackhide__ = True  # pytest shows the failure, not this function's code
    bound = parse_class(at_most)
    ns = _check_sizes(sizes)
    key, values = run_sync(_measure_all(run, ns, metric, session, session_options))
    if all(v <= 0 for v in values):
        raise ConfigError(
            f"{metric} is 0 at every size, so there is nothing to fit. Check that the program "
            "makes calls through the session it is given, or choose another metric"
        )
    fit = fit_series(ns, values, criterion=criterion)
    growth = Growth(metric=key, bound=bound, sizes=ns, values=tuple(values), fit=fit)
    best = fit.best.complexity
    if not growth.within(best):
        raise AssertionError(
            growth.report(f"{key} grows like {best}, faster than the bound {bound}.")
        )
    outside = [c for c in growth.contenders if not growth.within(c)]
    if fit.ambiguous and outside and not allow_ambiguous:
        raise AssertionError(
            growth.report(
                f"{key} fits {best} (within the bound {bound}), but the fit is ambiguous: "
                f"{', '.join(outside)} fits nearly as well and is above the bound. Measure "
                "larger sizes or more repeats, or pass allow_ambiguous=True to judge by the "
                "best class alone."
            )
        )
    return growth
