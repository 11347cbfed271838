"""Calibration: measure a model on random steps, then plan k and the cost, and pick a model.

MAKER (arXiv 2511.09030, Fig. 6; docs/papers.md) estimated each model's per-step error by running
single steps on a random subset of the task's steps against the ground truth, then projected the
cost of the full run with the planner. :func:`calibrate` does that through the session (every
sample is a recorded call): it draws ``samples`` responses on random steps (``per_step`` per step;
two or more also measure collisions), validates them with the strict red-flag parser (or MAKER's
repairing parser, to compare) and reports

- p̂ — the fraction of valid samples that are right, with a Wilson score interval;
- v̂ — the fraction of samples that pass the red flags (also with its interval);
- tokens per call (input mean, output mean / median / 95th percentile / max) and USD per call
  (every sample, flagged ones included, at the model's prices);
- the diagnostics of :mod:`hakaru.mdap.diagnostics` (collisions, error against length).

:meth:`Calibration.candidate` turns it into a :class:`~hakaru.mdap.planning.ModelCandidate`;
:func:`choose` plans every calibrated model and picks the cheapest that reaches the target
(:func:`~hakaru.mdap.planning.choose_model`). ``conservative=True`` plans with the lower bound of
p̂'s interval instead of p̂ (hakaru's choice: p̂ is an estimate), which also gives a finite k when
no error was seen.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hakaru.analysis.proportions import wilson
from hakaru.errors import ConfigError, RedFlag
from hakaru.mdap.diagnostics import Diagnostics
from hakaru.mdap.planning import ModelCandidate, ModelChoice, Plan, choose_model, plan
from hakaru.patterns.validators import ParserMode, flag_kind, repairing, strict

if TYPE_CHECKING:
    from hakaru.mdap.driver import MdapTask
    from hakaru.session import Session

__all__ = ["Calibration", "calibrate", "choose", "wilson"]


@dataclass(frozen=True)
class Calibration:
    """What calibration measured for one model (tokens per call, USD per call)."""

    model: str
    task: dict[str, Any]
    parser: ParserMode
    temperature: float
    confidence: float
    steps_sampled: int
    samples: int  # all draws
    valid: int  # draws that passed the red flags
    correct: int  # valid draws equal to the ground truth
    p_hat: float | None  # correct / valid (None: nothing valid)
    p_interval: tuple[float, float]
    v_hat: float
    v_interval: tuple[float, float]
    in_tokens: float  # mean per call
    out_tokens: float  # mean per call
    out_tokens_median: float
    out_tokens_p95: float
    out_tokens_max: int
    price_in: float  # USD per 1M input tokens
    price_out: float  # USD per 1M output tokens
    cost_per_call: float  # USD, mean over all draws
    diagnostics: Diagnostics = field(repr=False, compare=False)

    def candidate(self, *, conservative: bool = False) -> ModelCandidate:
        """The planner's view of this model: p̂ (or its lower bound), v̂, tokens and prices."""
        p = self.p_interval[0] if conservative else (self.p_hat or 0.0)
        return ModelCandidate(
            self.model,
            p,
            max(self.v_hat, 1e-9),
            self.in_tokens,
            self.out_tokens,
            self.price_in,
            self.price_out,
        )

    def plan(self, steps: int, target: float, *, conservative: bool = False) -> Plan:
        """k_min, expected calls and cost of running the whole task with this model."""
        c = self.candidate(conservative=conservative)
        return plan(
            c.p, steps, target, v=c.v, in_tokens=c.in_tokens, out_tokens=c.out_tokens,
            price_in=c.price_in, price_out=c.price_out,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        d = self.diagnostics.summary()
        return {
            "model": self.model,
            **self.task,
            "parser": self.parser,
            "temperature": self.temperature,
            "confidence": self.confidence,
            "steps_sampled": self.steps_sampled,
            "samples": self.samples,
            "valid": self.valid,
            "correct": self.correct,
            "p_hat": self.p_hat,
            "p_low": self.p_interval[0],
            "p_high": self.p_interval[1],
            "error_rate": None if self.p_hat is None else 1.0 - self.p_hat,
            "v_hat": self.v_hat,
            "v_low": self.v_interval[0],
            "v_high": self.v_interval[1],
            "in_tokens": self.in_tokens,
            "out_tokens": self.out_tokens,
            "out_tokens_median": self.out_tokens_median,
            "out_tokens_p95": self.out_tokens_p95,
            "out_tokens_max": self.out_tokens_max,
            "price_in": self.price_in,
            "price_out": self.price_out,
            "cost_per_call": self.cost_per_call,
            "flag_kinds": d["flag_kinds"],
            "collisions": d["collisions"],
            "by_length": d["by_length"],
        }


async def calibrate(
    session: Session,
    task: MdapTask,
    model: str,
    *,
    samples: int = 1000,
    per_step: int = 1,
    seed: int = 0,
    parser: ParserMode = "flag",
    temperature: float = 0.1,
    max_tokens: int | None = 750,
    max_output_tokens: int | None = 750,
    confidence: float = 0.95,
    concurrency: int = 64,
) -> Calibration:
    """Sample ``samples`` single votes of ``model`` on random steps of ``task``; measure them.

    Steps are drawn uniformly without replacement (``seed``); each gets ``per_step`` samples at
    ``temperature``. ``parser="repair"`` uses the task's repairing parser with no length flag
    (MAKER's first estimates used it with 2,048 output tokens).

    >>> import asyncio, hakaru
    >>> from hakaru.backends.sim import SimBackend
    >>> from hakaru.mdap.hanoi import HANOI_MODELS, HanoiTask
    >>> async def main():
    ...     async with hakaru.Session(SimBackend(models=HANOI_MODELS.values())) as s:
    ...         return await calibrate(s, HanoiTask(10), "sim-hanoi-nano", samples=200)
    >>> cal = asyncio.run(main())
    >>> cal.samples, cal.valid + cal.diagnostics.flagged, 0.8 < cal.p_hat < 1.0
    (200, 200, True)
    """
    if samples < 1 or per_step < 1:
        raise ConfigError(
            f"Calibration needs samples >= 1 and per_step >= 1; got {samples} and {per_step}."
        )
    n_steps = math.ceil(samples / per_step)
    rng = random.Random(seed)
    if n_steps <= task.steps:
        chosen = rng.sample(range(1, task.steps + 1), n_steps)
    else:  # a small task: every step, some more than once
        chosen = [rng.randrange(1, task.steps + 1) for _ in range(n_steps)]
    chosen.sort()
    counts = [per_step] * n_steps
    counts[-1] -= n_steps * per_step - samples
    validate = (
        strict(task.parse, max_output_tokens=max_output_tokens)
        if parser == "flag"
        else repairing(task.parse_repair)
    )
    if parser not in ("flag", "repair"):
        raise ConfigError(f"Unknown parser mode '{parser}'. Use 'flag' or 'repair'.")
    prices = session.prices(model)
    if prices is None:  # the calibration's purpose is the cost of a plan
        raise ConfigError(
            f"The price of model '{model}' is unknown, so no plan could be costed. Give its "
            "prices (ModelSpec(price_in=…, price_out=…) or a --prices file)"
        )
    diag = Diagnostics(k=1)
    out_tokens: list[int] = []

    async def one_step(item: tuple[int, int]) -> None:
        step, n = item
        previous, state = task.input_at(step)
        truth = task.truth(previous, state)
        request = task.kind.request(
            model,
            task.payload(previous, state),
            role="calibration",
            step=step,
            max_tokens=max_tokens,
            temperature=temperature,
        )
        sequence: list[Any] = []
        tokens: list[int] = []
        flagged: list[int] = []
        kinds: dict[str, int] = {}
        for i in range(n):
            try:
                response = await session.call(request, validate=validate, vote=i)
            except RedFlag as flag:
                flagged.append(getattr(flag, "output_tokens", 0))
                kinds[flag_kind(flag)] = kinds.get(flag_kind(flag), 0) + 1
                continue
            sequence.append(response.parsed)
            tokens.append(response.usage.output_tokens)
        out_tokens.extend(tokens)
        out_tokens.extend(flagged)
        diag.add_samples(step, sequence, tokens, flagged, kinds, truth)

    totals_before = session.totals()
    await session.map(one_step, zip(chosen, counts, strict=True), concurrency=concurrency)
    totals = session.totals()
    spent = {k: totals[k] - totals_before.get(k, 0) for k in ("calls", "input_tokens", "dollars")}
    valid, correct = diag.votes, diag.votes - diag.wrong_votes
    calls = max(int(spent["calls"]), 1)
    out_sorted = sorted(out_tokens) or [0]
    return Calibration(
        model=model,
        task=task.params(),
        parser=parser,
        temperature=temperature,
        confidence=confidence,
        steps_sampled=n_steps,
        samples=diag.samples,
        valid=valid,
        correct=correct,
        p_hat=correct / valid if valid else None,
        p_interval=wilson(correct, valid, confidence),
        v_hat=valid / diag.samples if diag.samples else 0.0,
        v_interval=wilson(valid, diag.samples, confidence),
        in_tokens=spent["input_tokens"] / calls,
        out_tokens=statistics.fmean(out_sorted),
        out_tokens_median=statistics.median(out_sorted),
        out_tokens_p95=out_sorted[min(len(out_sorted) - 1, int(0.95 * len(out_sorted)))],
        out_tokens_max=out_sorted[-1],
        price_in=prices.input,
        price_out=prices.output,
        cost_per_call=spent["dollars"] / calls,
        diagnostics=diag,
    )


def choose(
    calibrations: list[Calibration], steps: int, target: float, *, conservative: bool = False
) -> ModelChoice:
    """Plan every calibrated model for ``steps`` steps and target ``target``; pick the cheapest.

    Models whose p (p̂, or its lower bound when ``conservative``) is not above 0.5 are kept and
    marked infeasible, with the planner's reason.
    """
    cands = [c.candidate(conservative=conservative) for c in calibrations]
    return choose_model(cands, steps, target)
