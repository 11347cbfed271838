"""``hakaru trace -- CMD …``: run an unchanged Python program with capture on, as one run.

The way ``opentelemetry-instrument`` does it: the program is started with the folder
``bootstrap/`` first on ``PYTHONPATH`` and the settings in environment variables
(:mod:`hakaru.capture.boot`); its ``sitecustomize`` switches capture on inside the program,
which records each LLM call into the run opened here, call by call. When the program exits,
the run is finished here with its totals, read back from the store — so a program that
crashes, or is killed, still leaves every call it finished, and its exit status is kept.

``python`` (or ``python3``) as the command's first word means this interpreter
(``sys.executable``): the one hakaru and the instrumentors are installed in.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hakaru.capture.boot import ENV_INSTRUMENTORS, ENV_OTLP, ENV_REPORT, ENV_RUN, ENV_STORE
from hakaru.errors import ConfigError, HakaruError
from hakaru.ledger import Ledger, totals_of
from hakaru.store import RunStore
from hakaru.types import CallRecord

__all__ = [
    "BOOTSTRAP",
    "CapturedRuns",
    "TraceFailed",
    "TraceResult",
    "capture_env",
    "command_argv",
    "run_traced",
    "stored_totals",
    "trace",
]

#: The folder put first on the traced program's PYTHONPATH.
BOOTSTRAP = Path(__file__).resolve().parent / "bootstrap"


class TraceFailed(HakaruError):
    """The command could not be started."""


@dataclass
class TraceResult:
    """A traced execution: its run, exit status, instrumentors and totals."""

    run_id: str
    command: list[str]
    exit_code: int
    seconds: float
    totals: dict[str, Any]
    by_role: dict[str, dict[str, float]] = field(default_factory=dict)
    loaded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    started: bool = True  # capture started inside the program
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` object: the keys of ``hakaru run --json``'s totals, and ``run_id``."""
        return {
            **self.totals,
            "by_role": self.by_role,
            "run_id": self.run_id,
            "command": self.command,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 4),
            "instrumentors": {"loaded": self.loaded, "failed": self.failed},
        }


def command_argv(command: Sequence[str], n: int | None = None) -> list[str]:
    """The argv to run: ``{n}`` replaced by the size, ``python`` by this interpreter."""
    if not command:
        raise ConfigError("No command to trace. Write it after '--', e.g. -- python agent.py")
    argv = [part.replace("{n}", str(n)) if n is not None else part for part in command]
    if argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    return argv


def capture_env(
    base: Mapping[str, str], store: RunStore, run_id: str, report: str, extra: Sequence[str] = ()
) -> dict[str, str]:
    """``base`` with what starts capture into ``run_id`` in a Python program (and ``report``:
    the file it says what happened in)."""
    env = dict(base)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(BOOTSTRAP) + (os.pathsep + path if path else "")
    env[ENV_STORE] = str(store.path.resolve())
    env[ENV_RUN] = run_id
    env[ENV_REPORT] = report
    env[ENV_INSTRUMENTORS] = ",".join(extra)
    return env


def stored_totals(store: RunStore, run_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The totals of a stored run (span from its parent links) and its per-role groups."""
    ledger = Ledger(keep_records=False)

    def feed() -> Iterator[CallRecord]:
        for record in store.calls(run_id):
            ledger.add(record)
            yield record

    totals = totals_of(feed(), store.prices(run_id))
    return totals, ledger.group_by("role")


async def run_traced(
    argv: Sequence[str],
    store: RunStore,
    run_id: str,
    *,
    env: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
    output: int | None = None,
) -> tuple[int, float, dict[str, Any]]:
    """Run ``argv`` with capture into the open run ``run_id``; its exit status, wall seconds
    and the capture's report (``{}`` when capture never started inside the program)."""
    if str(store.path) == ":memory:":
        raise ConfigError("hakaru trace needs a store file (the program writes it), not :memory:.")
    with tempfile.TemporaryDirectory(prefix="hakaru-trace-") as tmp:
        report_path = os.path.join(tmp, "report.json")
        child_env = capture_env({**os.environ, **(env or {})}, store, run_id, report_path, extra)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, env=child_env, stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output
            )
        except OSError as exc:
            raise TraceFailed(
                f"Cannot run {shlex.join(argv)}: {exc.strerror or exc}. Check the command after "
                "'--' (python path/to/script.py)."
            ) from None
        code = await proc.wait()
        seconds = loop.time() - t0
        try:
            with open(report_path, encoding="utf-8") as f:
                report: dict[str, Any] = json.load(f)
        except (OSError, ValueError):
            report = {}
    return code, seconds, report


def trace(
    command: Sequence[str],
    store: RunStore,
    *,
    name: str = "",
    n: int | None = None,
    extra: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    output: int | None = None,
    otlp_endpoint: str | None = None,
) -> TraceResult:
    """Run ``command`` (``{n}`` → ``n``) with capture on; its calls become one run of
    ``store``, finished with its totals (``failed`` when the program exits non-zero).
    ``otlp_endpoint``: the program also streams each call there as a span (docs/otel.md)."""
    argv = command_argv(command, n)
    shown = shlex.join(command)
    params: dict[str, Any] = {"command": list(command)}
    if n is not None:
        params["n"] = n
    run_id = store.new_run("capture", name or shown, params)
    child_env = dict(env or {})
    if n is not None:
        child_env["HAKARU_N"] = str(n)
    if otlp_endpoint:
        child_env[ENV_OTLP] = otlp_endpoint
    try:
        code, seconds, report = asyncio.run(
            run_traced(argv, store, run_id, env=child_env, extra=extra, output=output)
        )
    except BaseException:
        store.finish_run(run_id, "failed")
        raise
    totals, by_role = stored_totals(store, run_id)
    result = TraceResult(
        run_id,
        argv,
        code,
        seconds,
        totals,
        by_role,
        list(report.get("loaded", [])),
        dict(report.get("failed", {})),
        started=bool(report) and "error" not in report,
        problems=[*report.get("problems", []), *([report["error"]] if "error" in report else [])],
    )
    summary = {**totals, "exit_code": code, "instrumentors": result.loaded}
    summary.update(report.get("otlp") or {})  # spans streamed with --otlp-endpoint
    store.finish_run(run_id, "done" if code == 0 else "failed", summary)
    return result


class CapturedRuns:
    """Runs captured in-process, one per execution of a command (``hakaru profile --capture
    in-process``): the counterpart of the recording proxy's ``begin``/``end``.

    :meth:`begin` opens a run and :meth:`child_env` gives what the program's environment needs
    for capture into it; :meth:`end` finishes the run with its totals read back from the store.
    """

    def __init__(self, store: RunStore, upstream: str) -> None:
        if str(store.path) == ":memory:":
            raise ConfigError("In-process capture needs a store file, not :memory:.")
        self.store = store
        self.upstream = upstream
        self.run_id = ""
        self._tmp = tempfile.TemporaryDirectory(prefix="hakaru-capture-")
        self.report: dict[str, Any] = {}

    def begin(
        self, kind: str = "capture", name: str = "", params: Mapping[str, Any] | None = None
    ) -> str:
        self.run_id = self.store.new_run("capture", name, dict(params or {}))
        return self.run_id

    def child_env(self, base: Mapping[str, str]) -> dict[str, str]:
        report = os.path.join(self._tmp.name, f"{self.run_id}.json")
        return capture_env(base, self.store, self.run_id, report)

    async def end(
        self, status: str = "done", extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            with open(os.path.join(self._tmp.name, f"{self.run_id}.json"), encoding="utf-8") as f:
                self.report = json.load(f)
        except (OSError, ValueError):
            self.report = {}
        totals, _ = stored_totals(self.store, self.run_id)
        summary = {**totals, **(extra or {}), "instrumentors": self.report.get("loaded", [])}
        self.store.finish_run(self.run_id, "failed" if status == "failed" else "done", summary)
        return totals

    async def aclose(self) -> None:
        self._tmp.cleanup()
