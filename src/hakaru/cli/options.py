"""Options shared by several commands: backend selection, the run store, workload parameters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from hakaru.errors import ConfigError
from hakaru.workloads.base import Workload

F = TypeVar("F", bound=Callable[..., Any])


def backend_options(fn: F) -> F:
    """``--backend``, ``--base-url``, ``--model``, ``--api-key``."""
    fn = click.option(
        "--api-key",
        default=None,
        help="API key (default: $OPENAI_API_KEY, or $ANTHROPIC_API_KEY). Never stored.",
    )(fn)
    fn = click.option("--model", default=None, help="Model name (every role uses it).")(fn)
    fn = click.option(
        "--base-url", default=None, help="The API's URL, e.g. http://127.0.0.1:8000/v1."
    )(fn)
    fn = click.option(
        "--backend",
        type=click.Choice(["sim", "openai", "anthropic", "neural"]),
        default="sim",
        show_default=True,
        help="Simulated LLM, an OpenAI-compatible server, Anthropic's Messages API, or the "
        "tiny trained model (neural, --model neural-sum).",
    )(fn)
    return fn


def otlp_option(fn: F) -> F:
    """``--otlp-endpoint URL``, passed as ``otlp_endpoint``: stream the run's spans there."""
    return click.option(
        "--otlp-endpoint",
        metavar="URL",
        default=None,
        help="Stream every call as an OpenTelemetry GenAI span to this OTLP/HTTP URL while the "
        "run goes (e.g. http://localhost:4318; pip install 'hakaru[otel]'). A dead endpoint "
        "never fails the run: its spans are dropped and counted.",
    )(fn)


STORE_HELP = "Run store [default: $HAKARU_HOME/hakaru.db, HAKARU_HOME=./.hakaru]."


def store_path_option(fn: F) -> F:
    """``--store PATH``, passed as ``store_path`` (a :class:`~pathlib.Path`, or ``None``)."""
    return click.option(
        "--store",
        "store_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=STORE_HELP,
    )(fn)


def store_option(fn: F) -> F:
    """``--store PATH`` and ``--no-store``."""
    fn = click.option("--no-store", is_flag=True, help="Do not record the run.")(fn)
    fn = click.option("--store", default=None, metavar="PATH", help=STORE_HELP)(fn)
    return fn


def workload_values(
    workload: Workload, n: int | None, params: Sequence[str], extra: Sequence[str]
) -> dict[str, str]:
    """Collect workload parameters from --n, --param NAME=VALUE and --name VALUE options."""
    values: dict[str, str] = {}
    if n is not None:
        values["n"] = str(n)
    for item in params:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--param '{item}' is not NAME=VALUE. Write e.g. --param fan_in=4")
        values[name.strip().replace("-", "_")] = value.strip()
    args = list(extra)
    while args:
        flag = args.pop(0)
        if not flag.startswith("--") or not args:
            known = ", ".join("--" + p.name.replace("_", "-") for p in workload.params)
            raise ConfigError(
                f"Unexpected argument '{flag}'. Workload '{workload.name}' takes: {known}"
            )
        values[flag[2:].replace("-", "_")] = args.pop(0)
    return values


def reasoning_budgets(values: tuple[str, ...]) -> dict[str, int]:
    """``--reasoning-budget ROLE=TOKENS`` (or ``TOKENS`` for every role) as a mapping.

    >>> reasoning_budgets(("planner=2048", "256"))
    {'planner': 2048, '*': 256}
    """
    out: dict[str, int] = {}
    for value in values:
        role, _, tokens = value.rpartition("=")
        try:
            out[role or "*"] = int(tokens)
        except ValueError:
            raise ConfigError(
                f"--reasoning-budget '{value}' is not ROLE=TOKENS or TOKENS. Write e.g. "
                "--reasoning-budget developer=1024"
            ) from None
    return out
