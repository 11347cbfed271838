"""``hakaru trace``'s side in the traced program: capture switched on from the environment.

``hakaru trace`` (:mod:`hakaru.capture.trace`) opens the run and starts the program with the
folder ``bootstrap/`` first on ``PYTHONPATH``; Python imports its ``sitecustomize`` at start-up,
which calls :func:`start_from_env`. The settings come in environment variables, each removed
once read (a program this one starts is not captured into the same run):

- ``HAKARU_CAPTURE_STORE``: the store's file; ``HAKARU_CAPTURE_RUN``: the run to record into;
- ``HAKARU_CAPTURE_REPORT``: a file to write what happened to, as JSON — the instrumentors
  loaded and those that could not be (written at start), then the calls recorded and any
  problem (written at exit);
- ``HAKARU_CAPTURE_INSTRUMENTORS``: more instrumentors, ``module:Class`` separated by commas;
- ``HAKARU_CAPTURE_OTLP``: an OTLP/HTTP endpoint to stream each call to as a span (the spans
  sent and dropped are in the report, as ``otlp``).

Nothing here may break the program: a capture that cannot start says so in the report (and on
stderr) and the program runs uncaptured.
"""

from __future__ import annotations

import atexit
import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "ENV_INSTRUMENTORS",
    "ENV_OTLP",
    "ENV_REPORT",
    "ENV_RUN",
    "ENV_STORE",
    "start_from_env",
]

ENV_STORE = "HAKARU_CAPTURE_STORE"
ENV_RUN = "HAKARU_CAPTURE_RUN"
ENV_REPORT = "HAKARU_CAPTURE_REPORT"
ENV_INSTRUMENTORS = "HAKARU_CAPTURE_INSTRUMENTORS"
ENV_OTLP = "HAKARU_CAPTURE_OTLP"


def _write(path: str, report: dict[str, Any]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(report, out)
    os.replace(tmp, path)


def start_from_env(bootstrap_file: str | None = None) -> None:
    """Start capture as the environment says (nothing without ``HAKARU_CAPTURE_RUN``), then
    import the next ``sitecustomize`` on the path after ``bootstrap_file``'s folder."""
    run_id = os.environ.pop(ENV_RUN, "")
    path = os.environ.pop(ENV_STORE, "")
    report_path = os.environ.pop(ENV_REPORT, "")
    extra = [x for x in os.environ.pop(ENV_INSTRUMENTORS, "").split(",") if x]
    otlp = os.environ.pop(ENV_OTLP, "") or None
    if run_id and path:
        try:
            _start(path, run_id, report_path, extra, otlp)
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            print(f"hakaru trace: capture could not start: {message}", file=sys.stderr)
            if report_path:
                _write(report_path, {"loaded": [], "failed": {}, "error": message})
    if bootstrap_file is not None:
        _chain(Path(bootstrap_file).resolve().parent)


def _start(
    path: str, run_id: str, report_path: str, extra: list[str], otlp: str | None = None
) -> None:
    from hakaru.capture.api import attach
    from hakaru.store import RunStore

    store = RunStore(path)
    context = attach(store, run_id, extra=extra, otlp_endpoint=otlp)
    handle = context.__enter__()
    report: dict[str, Any] = {"loaded": handle.loaded, "failed": handle.failed}
    if report_path:
        _write(report_path, report)

    def stop() -> None:
        sent = handle.end_live()
        context.__exit__(None, None, None)
        store.close()
        if report_path:
            final = {"loaded": handle.loaded, "failed": handle.failed}  # as the program imported
            done = {"calls": handle.calls, "problems": handle.problems, "otlp": sent}
            _write(report_path, {**final, **done})

    atexit.register(stop)


def _chain(here: Path) -> None:
    """Run the ``sitecustomize`` this one shadows, if any (as opentelemetry-instrument does)."""
    rest = [p for p in sys.path if Path(p or ".").resolve() != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)
