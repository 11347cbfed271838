"""Profile any program that speaks the OpenAI API: run it per size behind the proxy, fit growth.

:func:`profile` starts the recording proxy (and, when asked, the simulated server as its
upstream) on this process's event loop, then runs the user's command once per size and repeat
with ``{n}`` replaced by the size and ``OPENAI_BASE_URL``/``OPENAI_API_BASE`` pointing at the
proxy. Each execution is one run of the store (kind ``proxy``, its totals in the summary and as
a point of the profile's sweep); the profile itself is a run of kind ``profile`` whose summary
is the whole result. The per-size totals of every metric are then fitted with
:func:`hakaru.analysis.fit_series` (repeats enter as separate rows, so their scatter informs the
fit).

The command runs as a child process with the environment of this one plus the proxy's address;
its output goes to this process's stderr (stdout stays free for ``--json``). A command whose
program is ``python`` (or ``python3``) runs under :data:`sys.executable`, the interpreter
running hakaru, so that it sees the packages of hakaru's environment whether or not that
environment is activated. A command that exits non-zero stops the profile with
:class:`ProfileFailed`: a one-line cause (the last line of its stderr, e.g. the exception),
then its last lines of stderr. A profile in which no call reached the proxy fails too: the
usual cause is a program that ignores ``OPENAI_BASE_URL``.
"""

from __future__ import annotations

import asyncio
import collections
import math
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from hakaru.capture.trace import CapturedRuns
from hakaru.errors import ConfigError, HakaruError
from hakaru.proxy.recorder import Recorder
from hakaru.proxy.serving import Listening, Service, listen
from hakaru.proxy.upstream import Forwarder
from hakaru.store import RunStore

__all__ = [
    "METRICS",
    "NOISY",
    "ProfileFailed",
    "ProfilePoint",
    "ProfileResult",
    "Reseedable",
    "call_moments",
    "fit_metrics",
    "profile",
]

#: Metrics fitted per size (keys of the ledger totals), in the order they are shown.
METRICS: tuple[str, ...] = (
    "calls",
    "failed_calls",
    "input_tokens",
    "output_tokens",
    "forward_passes",
    "aalp_cost",
    "dollars",
    "depth",
    "span_forward_passes",
    "latency",
    "span_latency",
)


@runtime_checkable
class Reseedable(Protocol):
    """A simulated upstream whose seed can change between executions."""

    def reseed(self, offset: int) -> int:
        """Answer from now on with its first seed plus ``offset``; return that seed."""
        ...


class ProfileFailed(HakaruError):
    """The profiled command failed (exited non-zero, or could not be started)."""


@dataclass(frozen=True, slots=True)
class ProfilePoint:
    """One execution of the command: its size, repeat, run, exit status and totals."""

    n: int
    repeat: int
    run_id: str
    exit_code: int
    seconds: float  # wall time of the command
    totals: dict[str, Any]
    moments: dict[str, list[float]] = field(default_factory=dict)  # metric -> [m, Σx, Σx²]

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "repeat": self.repeat,
            "run_id": self.run_id,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 4),
            "totals": self.totals,
            "moments": self.moments,
        }


@dataclass(slots=True)
class ProfileResult:
    """Every execution, the mean totals per size, and a fit per metric."""

    profile_id: str
    command: list[str]
    sizes: list[int]
    repeats: int
    upstream: str
    points: list[ProfilePoint] = field(default_factory=list)
    fits: dict[str, dict[str, Any]] = field(default_factory=dict)

    def series(self, metric: str) -> tuple[list[float], list[float]]:
        """Sizes and values of ``metric``, one pair per execution."""
        xs = [float(p.n) for p in self.points]
        ys = [float(p.totals.get(metric, 0.0)) for p in self.points]
        return xs, ys

    def per_size(self) -> list[dict[str, Any]]:
        """The mean of each metric over the repeats, per size (``n`` first)."""
        rows = []
        for n in self.sizes:
            points = [p for p in self.points if p.n == n]
            if not points:
                continue
            row: dict[str, Any] = {"n": n, "repeats": len(points)}
            for metric in METRICS:
                values = [float(p.totals.get(metric, 0.0)) for p in points]
                mean = statistics.fmean(values)
                row[metric] = int(mean) if mean.is_integer() and metric != "dollars" else mean
            rows.append(row)
        return rows

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` form: command, per-size totals, every execution, a fit per metric."""
        return {
            "profile": self.profile_id,
            "command": self.command,
            "sizes": self.sizes,
            "repeats": self.repeats,
            "upstream": self.upstream,
            "metrics": list(METRICS),
            "per_size": self.per_size(),
            "points": [p.as_dict() for p in self.points],
            "fits": self.fits,
        }


def fit_metrics(result: ProfileResult) -> dict[str, dict[str, Any]]:
    """A fit per metric (:meth:`hakaru.analysis.FitResult.to_dict`, key ``class`` first).

    A metric that is zero at every size is the constant 0 (class ``1``); one that cannot be
    fitted (fewer than three sizes, say) gets ``class: None`` and the reason in ``error``.

    A noisy metric (tokens, passes, AALP cost, dollars, latency and their spans) whose class
    :func:`hakaru.analysis.robustness.class_doubts` questions — the runner-up inside the
    prediction band, one size decisive, or another class within the calls' scatter — gets
    ``uncertain: True`` and the reasons in ``uncertainty`` (and in ``warning``).
    """
    from hakaru.analysis.fit import fit_series
    from hakaru.analysis.robustness import class_doubts

    fits: dict[str, dict[str, Any]] = {}
    for metric in METRICS:
        xs, ys = result.series(metric)
        if ys and all(y == 0 for y in ys):
            fits[metric] = {"class": "1", "constant": 0.0, "formula": "0", "r2": None}
            continue
        try:
            fit = fit_series(xs, ys)
        except ConfigError as exc:
            fits[metric] = {"class": None, "error": str(exc)}
            continue
        fits[metric] = out = fit.to_dict()
        if metric in NOISY:
            kept = [p for p in result.points if float(p.totals.get(metric, 0.0)) > 0]
            noise = _noise(kept, metric) if len(kept) == len(fit.x) else None
            doubts = class_doubts(fit, noise=noise)
            out["uncertain"] = bool(doubts)
            out["uncertainty"] = "; ".join(doubts) or None
            if doubts:
                note = f"Uncertain: {out['uncertainty']}. Measure more repeats or sizes."
                out["warning"] = f"{out['warning']} {note}" if out.get("warning") else note
    return fits


#: Metrics that sum or chain the calls' draws (their classes are questioned); the counts of
#: calls, failures and depth are the program's structure.
NOISY: frozenset[str] = frozenset(METRICS) - {"calls", "failed_calls", "depth"}
#: metric -> the per-call cost model whose scatter is its noise (additive metrics only).
_PER_CALL: dict[str, str] = {
    "forward_passes": "forward_passes",
    "aalp_cost": "aalp",
    "dollars": "dollars",
    "latency": "latency",
}


def call_moments(store: RunStore, run_id: str) -> dict[str, list[float]]:
    """Per additive metric of a run: its calls' count, sum and sum of squares, [m, Σx, Σx²]."""
    from hakaru.costs import COST_MODELS

    records = [r for r in store.calls(run_id) if r.executed]
    columns: dict[str, list[float]] = {
        "input_tokens": [float(r.input_tokens) for r in records],
        "output_tokens": [float(r.output_tokens) for r in records],
    }
    for metric, model in _PER_CALL.items():
        columns[metric] = [COST_MODELS[model](r) for r in records]
    return {
        metric: [float(len(xs)), math.fsum(xs), math.fsum(x * x for x in xs)]
        for metric, xs in columns.items()
    }


def _noise(points: Sequence[ProfilePoint], metric: str) -> list[float] | None:
    """σ of each point's log total: cv/√m, cv the calls' coefficient of variation, pooled.

    Pooled over every execution of the profile, so that a heavy tail seen at one size counts
    at all of them (a handful of calls would understate it); None for a non-additive metric.
    """
    rows = [p.moments.get(metric) for p in points]
    if any(row is None or row[0] < 1 for row in rows):
        return None
    m, s1, s2 = (math.fsum(row[k] for row in rows if row) for k in range(3))
    mean = s1 / m
    if m < 2 or mean <= 0:
        return None
    cv = math.sqrt(max(s2 / m - mean * mean, 0.0) * m / (m - 1)) / mean
    return [cv / math.sqrt(row[0]) for row in rows if row]


def _stderr_fd() -> int | None:
    """This process's stderr as a file descriptor for the child (``None``: inherit)."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by an object without a descriptor
        return None


#: Programs that mean "the Python running hakaru" (its packages, venv activated or not).
PYTHONS: tuple[str, ...] = ("python", "python3")
_TAIL_LINES = 12  # lines of a failed command's stderr shown under the cause


def _argv(command: Sequence[str], n: int) -> list[str]:
    argv = [part.replace("{n}", str(n)) for part in command]
    if argv and argv[0] in PYTHONS:
        argv[0] = sys.executable
    return argv


class _Tail:
    """Relays a child's stderr to ours (unless quiet), keeping its last lines for an error."""

    def __init__(self, echo: bool) -> None:
        self.echo = echo
        self._lines: collections.deque[bytes] = collections.deque(maxlen=_TAIL_LINES)
        self._partial = b""

    async def pump(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            if self.echo:
                err = sys.stderr
                err.write(chunk.decode(errors="replace"))
                err.flush()
            lines = (self._partial + chunk).split(b"\n")
            self._partial = lines.pop()[-4096:]
            self._lines.extend(line[-4096:] for line in lines)

    def lines(self) -> list[str]:
        out = [*self._lines, self._partial] if self._partial else list(self._lines)
        text = [line.decode(errors="replace").rstrip() for line in out]
        while text and not text[-1]:
            text.pop()
        return text[-_TAIL_LINES:]


def _failure(code: int, argv: list[str], n: int, repeat: int, tail: list[str]) -> str:
    """The one-line cause of a failed execution, then the last lines of its stderr."""
    status = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
    cause = next((line.strip() for line in reversed(tail) if line.strip()), "")
    head = f"The command failed at n={n} (repeat {repeat + 1}), {status}"
    head += f": {cause}" if cause else " (nothing on stderr)"
    shown = "\n".join(f"    {line}" for line in tail)
    return f"{head}\n  Its last lines of stderr:\n{shown}" if tail else head


async def profile(
    command: Sequence[str],
    sizes: Sequence[int],
    store: RunStore,
    *,
    repeats: int = 1,
    upstream: str | None = None,
    sim: Callable[[], Service] | None = None,
    forwarder: Forwarder | None = None,
    timeout: float = 600.0,
    env: Mapping[str, str] | None = None,
    quiet: bool = False,
    on_point: Callable[[ProfilePoint], None] | None = None,
    fit: bool = True,
    capture: Literal["proxy", "in-process"] = "proxy",
) -> ProfileResult:
    """Run ``command`` once per size and repeat behind the recording proxy; fit each metric.

    ``upstream`` is the server the proxy forwards to; or ``sim`` builds a simulated server
    (:class:`~hakaru.proxy.server.SimServer`) started here as the upstream.
    ``capture="in-process"`` records the calls inside the (Python) program instead
    (:mod:`hakaru.capture`): no proxy, the program talks to the upstream itself.
    ``env`` adds to the command's environment; ``on_point`` is called after each execution.
    """
    if not command:
        raise ConfigError("No command to profile. Write it after '--', e.g. -- python agent.py {n}")
    if repeats < 1:
        raise ConfigError(f"--repeats {repeats}: give at least 1.")
    if (upstream is None) == (sim is None):
        raise ConfigError("Give the proxy an upstream: --upstream URL or --sim (not both).")
    servers: list[Listening] = []
    recorder: Recorder | CapturedRuns | None = None
    profile_run = ""
    status = "failed"
    try:
        service: Service | None = None
        if sim is not None:
            service = sim()
            sim_server = await listen(service)
            servers.append(sim_server)
            upstream = sim_server.url + "/v1"
        assert upstream is not None
        if capture == "in-process":
            recorder = CapturedRuns(store, upstream)
            base = upstream
        else:
            recorder = Recorder(upstream, store, forwarder=forwarder, timeout=timeout)
            proxy_server = await listen(recorder)
            servers.append(proxy_server)
            base = proxy_server.url + "/v1"
        shown = shlex.join(command)
        profile_run = store.new_run(
            "profile",
            shown,
            {
                "command": list(command),
                "sizes": list(sizes),
                "repeats": repeats,
                "upstream": recorder.upstream,
            },
        )
        result = ProfileResult(profile_run, list(command), list(sizes), repeats, recorder.upstream)
        child_env = {**os.environ, **(env or {})}
        child_env["OPENAI_BASE_URL"] = child_env["OPENAI_API_BASE"] = base
        if sim is not None:
            child_env.setdefault("OPENAI_API_KEY", "hakaru-sim")  # the SDK insists on one
            if capture == "in-process":  # the sim serves Anthropic's API too
                child_env["ANTHROPIC_BASE_URL"] = base.removesuffix("/v1")
                child_env.setdefault("ANTHROPIC_API_KEY", "hakaru-sim")
        output = asyncio.subprocess.DEVNULL if quiet else _stderr_fd()
        for n in sizes:
            for repeat in range(repeats):
                argv = _argv(command, n)
                child_env["HAKARU_N"] = str(n)
                params: dict[str, Any] = {"profile": profile_run, "n": n, "repeat": repeat}
                if isinstance(service, Reseedable):  # a seed per execution: draws independent
                    params["seed"] = service.reseed(len(result.points))
                run_id = recorder.begin("proxy", shown, params)
                t0 = time.perf_counter()
                try:
                    proc = await asyncio.create_subprocess_exec(
                        *argv,
                        env=(
                            recorder.child_env(child_env)
                            if isinstance(recorder, CapturedRuns)
                            else child_env
                        ),
                        stdin=asyncio.subprocess.DEVNULL,
                        stdout=output,
                        stderr=asyncio.subprocess.PIPE,
                    )
                except OSError as exc:
                    await recorder.end("failed")
                    raise ProfileFailed(
                        f"Cannot run {shlex.join(argv)}: {exc.strerror or exc}. Check the "
                        "command after '--' (a program on PATH, or python path/to/script.py)."
                    ) from None
                tail = _Tail(echo=not quiet)
                assert proc.stderr is not None
                await tail.pump(proc.stderr)
                code = await proc.wait()
                seconds = time.perf_counter() - t0
                totals = await recorder.end("done" if code == 0 else "failed", {"exit_code": code})
                point = ProfilePoint(
                    n, repeat, run_id, code, seconds, totals, call_moments(store, run_id)
                )
                store.put_point(
                    profile_run,
                    f"n={n}/r={repeat}",
                    {"n": n, "repeat": repeat},
                    point.as_dict(),
                    run_id,
                )
                if code != 0:
                    raise ProfileFailed(
                        f"{_failure(code, argv, n, repeat, tail.lines())}\n"
                        f"  The command: {shlex.join(argv)}. Its {totals['calls']} calls are in "
                        f"run {run_id}. Fix the command, then profile again."
                    )
                result.points.append(point)
                if on_point is not None:
                    on_point(point)
        if not any(p.totals.get("calls") for p in result.points) and capture == "in-process":
            assert isinstance(recorder, CapturedRuns)
            loaded = ", ".join(recorder.report.get("loaded", [])) or "none: did capture start?"
            raise ProfileFailed(
                f"No LLM call was captured: the command ran at every size "
                f"({len(result.points)} executions, exit status 0) and capture saw no call "
                f"(instrumentors: {loaded}). Check that it calls a model through one of them, "
                "or profile with --capture proxy."
            )
        if not any(p.totals.get("calls") for p in result.points):
            raise ProfileFailed(
                f"No call reached hakaru: the command ran at every size ({len(result.points)} "
                f"executions, exit status 0) and made no request to the proxy at {base}. "
                "The usual cause: the program ignores OPENAI_BASE_URL (its client is built "
                "with a fixed base_url, or it calls another provider's API). Build the "
                "client from the environment, e.g. openai.OpenAI() with no base_url, or "
                "pass base_url=os.environ['OPENAI_BASE_URL']."
            )
        if fit:
            result.fits = fit_metrics(result)
        status = "done"
        return result
    finally:
        for server in reversed(servers):
            await server.close()
        if recorder is not None:
            await recorder.aclose()
        if profile_run:
            summary = result.as_dict() if status == "done" else None
            store.finish_run(profile_run, "done" if status == "done" else "failed", summary)
