"""The MDAP step driver (MAKER's Algorithm 1, ``generate_solution``), resumable.

A task of s steps is run one step at a time. Step i is one first-to-ahead-by-k vote
(:func:`hakaru.patterns.vote.vote`) on a prompt built only from the previous action and the
current state; the winning candidate is the pair (action, next state), and the voted next state
is all that is carried to step i + 1 — no history, no oracle (MAKER §3.1; docs/papers.md).

Checking. Each winner is compared with the task's ground truth when it has one (the Hanoi
strategy does), which feeds the :class:`~hakaru.mdap.diagnostics.Diagnostics`, and replayed on
the task's :class:`Verifier` (the legality-checking simulator): a wrong or illegal step ends the
run — every later step would build on it. After the last step the verifier's final check says
whether the task is solved.

Checkpoints and resume. Every ``checkpoint_every`` steps the driver writes the carried input,
the verifier and the diagnostics to the run store (``RunStore.put_checkpoint``), after the
records of those steps (the store commits records before the checkpoint that covers them, so a
checkpoint never claims a step whose calls are not on disk). A killed run is continued with
:func:`~hakaru.mdap.resume.find_resume` + ``run_mdap(..., resume=...)``: a new run (a *segment*,
whose parameters name the run it continues) starts after the last checkpoint, so no
checkpointed step is redone; steps done after that checkpoint are redone, and their first calls
stay counted in the killed segment. Totals of a resumed run add up every segment's stored calls,
so nothing is lost.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hakaru.errors import ConfigError
from hakaru.mdap.diagnostics import Diagnostics
from hakaru.mdap.resume import ADDITIVE, Resume
from hakaru.patterns.validators import ParserMode, repairing, strict
from hakaru.patterns.vote import DEFAULT_TEMPERATURES, vote
from hakaru.store import RunStore

if TYPE_CHECKING:
    from hakaru.session import Session
    from hakaru.tasks import TaskKind

__all__ = ["DriverConfig", "MdapResult", "MdapTask", "Verifier", "run_mdap"]


class Verifier(ABC):
    """Replays voted steps on a simulator of the task (e.g. a legality-checking Hanoi)."""

    @abstractmethod
    def act(self, action: Any, next_state: Any) -> str | None:
        """Apply one voted step; ``None`` if legal and consistent, else the reason."""

    @abstractmethod
    def finish(self) -> str | None:
        """After the last step: ``None`` if the task is solved, else the reason."""

    @abstractmethod
    def to_json(self) -> Any:
        """A JSON-ready snapshot for checkpoints."""

    @abstractmethod
    def restore(self, data: Any) -> None:
        """Continue from a :meth:`to_json` snapshot."""


class MdapTask(ABC):
    """A task of ``steps`` sequential steps; step i maps (previous action, state) to
    (action, next state). Subclass it for a new MDAP (see :class:`hakaru.mdap.hanoi.HanoiTask`).

    ``kind`` is the task kind whose prompt the step's request carries (the simulated backend
    answers from its oracle); ``parse`` is the strict red-flag parser (a RedFlag for anything
    malformed) and returns the candidate ``(action, next_state)``.
    """

    name: str = ""
    kind: TaskKind

    @property
    @abstractmethod
    def steps(self) -> int:
        """The number of steps s."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """What identifies the task (stored with the run, to resume it)."""

    @abstractmethod
    def start(self) -> tuple[Any, Any]:
        """The input of step 1: (previous action or None, initial state)."""

    @abstractmethod
    def payload(self, previous: Any, state: Any) -> dict[str, Any]:
        """The task payload of the step with this input (JSON-ready)."""

    @abstractmethod
    def parse(self, text: str) -> Any:
        """The strict red-flag parser: the candidate (action, next state), or a RedFlag."""

    def parse_repair(self, text: str) -> Any:
        """A tolerant parser for calibration comparisons (default: the strict one)."""
        return self.parse(text)

    def truth(self, previous: Any, state: Any) -> Any:
        """The right candidate for this input, or ``None`` when the task has no oracle."""
        return None

    def input_at(self, step: int) -> tuple[Any, Any]:
        """The true input of ``step`` (1-based), for calibration on random steps."""
        raise ConfigError(f"Task '{self.name}' cannot jump to a step; calibration needs it.")

    @abstractmethod
    def verifier(self) -> Verifier:
        """A fresh simulator at the start of the task."""

    @abstractmethod
    def encode(self, previous: Any, state: Any) -> Any:
        """A step input as JSON (for checkpoints)."""

    @abstractmethod
    def decode(self, data: Any) -> tuple[Any, Any]:
        """The step input of :meth:`encode`'s JSON."""


@dataclass(frozen=True)
class DriverConfig:
    """How to run each step. Defaults are MAKER's final run (k = 3, 750 tokens, 0 then 0.1)."""

    model: str
    k: int = 3  # voting margin
    temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES  # per draw: the first, then the rest
    max_tokens: int | None = 750  # output cap sent with each request (truncation is flagged)
    max_output_tokens: int | None = 750  # red flag: longer responses are discarded
    parser: ParserMode = "flag"  # "repair" only to compare, as MAKER's calibration did
    max_samples: int = 100  # draws per step before StepFailed
    max_flagged: int = 20  # flagged draws per step before StepFailed
    checkpoint_every: int = 1000  # steps (0: never)
    role: str = "step"

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"k is {self.k}. Use a voting margin k >= 1.")
        if self.checkpoint_every < 0:
            raise ConfigError(
                f"checkpoint_every is {self.checkpoint_every}. Use 0 (never) or a step count."
            )
        if self.parser not in ("flag", "repair"):
            raise ConfigError(f"Unknown parser mode '{self.parser}'. Use 'flag' or 'repair'.")

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "k": self.k,
            "temperatures": list(self.temperatures),
            "max_tokens": self.max_tokens,
            "max_output_tokens": self.max_output_tokens,
            "parser": self.parser,
            "max_samples": self.max_samples,
            "max_flagged": self.max_flagged,
            "checkpoint_every": self.checkpoint_every,
            "role": self.role,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DriverConfig:
        values = dict(data)
        values["temperatures"] = tuple(values["temperatures"])
        return cls(**values)


@dataclass
class MdapResult:
    """The outcome of a run (all segments, when resumed)."""

    task: dict[str, Any]
    config: DriverConfig
    steps: int  # s
    steps_done: int  # steps decided and verified
    solved: bool  # every step done, none wrong, and the verifier's final check passed
    errors: int  # wrong or illegal voted steps (the run stops at the first)
    failed_step: int | None
    reason: str  # why it failed ("" when solved)
    totals: dict[str, float]  # ADDITIVE ledger totals over all segments
    diagnostics: Diagnostics
    run_id: str = ""
    segments: tuple[str, ...] = ()
    resumed_at: int = 0  # the checkpointed step this segment started after
    wall_seconds: float = 0.0  # this segment
    sim_seconds: float = 0.0  # this segment's critical path under simulated latency
    checkpoints: int = 0  # written by this segment
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``hakaru maker run --json`` object."""
        t = self.totals
        return {
            **self.task,
            "model": self.config.model,
            "k": self.config.k,
            "steps": self.steps,
            "steps_done": self.steps_done,
            "solved": self.solved,
            "errors": self.errors,
            "failed_step": self.failed_step,
            "reason": self.reason,
            "calls": int(t.get("calls", 0)),
            "votes": self.diagnostics.votes,
            "flagged": int(t.get("flagged_calls", 0)),
            "dollars": t.get("dollars", 0.0),
            "input_tokens": int(t.get("input_tokens", 0)),
            "output_tokens": int(t.get("output_tokens", 0)),
            "forward_passes": t.get("forward_passes", 0.0),
            "run_id": self.run_id,
            "segments": list(self.segments),
            "resumed_at": self.resumed_at,
            "checkpoints": self.checkpoints,
            "wall_seconds": self.wall_seconds,
            "sim_seconds": self.sim_seconds,
            "config": self.config.to_json(),
            "diagnostics": self.diagnostics.summary(),
            **self.extra,
        }


Progress = Callable[[int, int, float], None]  # (steps done, steps, wall seconds)

# On a backend that answers at once a step never suspends (its draws run inline), so the loop
# would never turn and the store's commits and timers never run: the driver lets it turn at
# least this often (seconds).
_TURN = 0.005


async def run_mdap(
    session: Session,
    task: MdapTask,
    config: DriverConfig,
    *,
    resume: Resume | None = None,
    progress: Progress | None = None,
    progress_every: int = 0,
) -> MdapResult:
    """Run ``task`` step by step with voting; checkpoint into the session's run store.

    >>> import asyncio, hakaru
    >>> from hakaru.backends.sim import SimBackend
    >>> from hakaru.mdap.hanoi import HANOI_MODELS, HanoiTask
    >>> async def main():
    ...     backend = SimBackend(seed=1, models=HANOI_MODELS.values())
    ...     async with hakaru.Session(backend) as s:
    ...         return await run_mdap(s, HanoiTask(4), DriverConfig("sim-hanoi-mini", k=2))
    >>> result = asyncio.run(main())
    >>> result.solved, result.steps_done, result.totals["calls"] >= 2 * 15
    (True, 15, True)
    """
    t0 = time.perf_counter()
    verifier = task.verifier()
    done = 0
    diag = Diagnostics(config.k)
    prior: dict[str, float] = {}
    segments: tuple[str, ...] = ()
    previous, state = task.start()
    if resume is not None:
        prior = dict(resume.prior)
        segments = resume.segments
        if resume.checkpoint is not None:
            data = resume.checkpoint.state
            done = int(data["step"])
            previous, state = task.decode(data["input"])
            verifier.restore(data["verifier"])
            diag = Diagnostics.from_json(data["diagnostics"])
    if session.run_id:
        segments = (*segments, session.run_id)
    resumed_at = done
    validate = (
        strict(task.parse, max_output_tokens=config.max_output_tokens)
        if config.parser == "flag"
        else repairing(task.parse_repair)
    )
    kind = task.kind
    store = session.store if session.run_id else None
    every = config.checkpoint_every if store is not None else 0
    errors = 0
    failed_step: int | None = None
    reason = ""
    checkpoints = 0
    steps = task.steps
    turn = t0 + _TURN
    for step in range(done + 1, steps + 1):
        request = kind.request(
            config.model,
            task.payload(previous, state),
            role=config.role,
            step=step,
            max_tokens=config.max_tokens,
        )
        result = await vote(
            session,
            request,
            validate,
            k=config.k,
            temperatures=config.temperatures,
            max_samples=config.max_samples,
            max_flagged=config.max_flagged,
        )
        truth = task.truth(previous, state)
        right = diag.add(step, result, truth)
        action, next_state = _split(result.winner)
        problem = verifier.act(action, next_state) if action is not None else "malformed winner"
        if not right or problem:
            errors = 1
            failed_step = step
            reason = (
                f"step {step}: the vote chose {result.winner!r}, the right answer is {truth!r}"
                if not right
                else f"step {step}: {problem}"
            )
            break
        previous, state = action, next_state
        done = step
        if every and step % every == 0 and step < steps:
            await _checkpoint(session, store, task, done, previous, state, verifier, diag)
            checkpoints += 1
        if progress is not None and progress_every and step % progress_every == 0:
            progress(step, steps, time.perf_counter() - t0)
        now = time.perf_counter()
        if now >= turn:
            await asyncio.sleep(0)
            turn = now + _TURN
    if failed_step is None:
        problem = verifier.finish()
        if problem:
            errors, reason = 1, f"final check: {problem}"
    totals = _add(prior, session.totals())
    return MdapResult(
        task=task.params(),
        config=config,
        steps=steps,
        steps_done=done,
        solved=errors == 0 and done == steps,
        errors=errors,
        failed_step=failed_step,
        reason=reason,
        totals=totals,
        diagnostics=diag,
        run_id=session.run_id,
        segments=segments,
        resumed_at=resumed_at,
        wall_seconds=time.perf_counter() - t0,
        sim_seconds=float(session.totals().get("sim_seconds", 0.0)),
        checkpoints=checkpoints,
    )


def _split(winner: Any) -> tuple[Any, Any]:
    if isinstance(winner, tuple) and len(winner) == 2:
        return winner[0], winner[1]
    return None, None


async def _checkpoint(
    session: Session,
    store: RunStore | None,
    task: MdapTask,
    step: int,
    previous: Any,
    state: Any,
    verifier: Verifier,
    diag: Diagnostics,
) -> None:
    assert store is not None
    # The checkpoint never gets ahead of the calls it covers: their records are committed first.
    await session.durable()
    store.put_checkpoint(
        session.run_id,
        step,
        {
            "step": step,
            "input": task.encode(previous, state),
            "verifier": verifier.to_json(),
            "diagnostics": diag.to_json(),
        },
    )


def _add(prior: dict[str, float], totals: dict[str, Any]) -> dict[str, float]:
    return {key: prior.get(key, 0) + totals.get(key, 0) for key in ADDITIVE}
