"""``hakaru sim serve`` — the simulated LLM as an OpenAI-compatible HTTP server.

A thin layer over :class:`hakaru.proxy.server.SimServer` served by
:func:`hakaru.proxy.serving.listen`. It prints the base URL (``http://HOST:PORT/v1``) alone
on the first line of stdout once it listens, the prose on stderr — with ``--port 0`` that line
is how scripts learn the port — and serves until interrupted (Ctrl-C or SIGTERM), then prints
what it answered on stderr.
The options shared with ``hakaru proxy`` (``--head-timeout``, ``--body-timeout``) live here.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hakaru.errors import ConfigError

if TYPE_CHECKING:
    from hakaru.proxy.serving import ServerLimits

__all__ = ["limit_options", "serve", "server_limits", "sim"]

F = TypeVar("F", bound=Callable[..., Any])

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def warn_if_exposed(host: str, what: str) -> None:
    """Say so on stderr when a server listens beyond this machine."""
    if host not in LOOPBACK:
        click.echo(
            f"Warning: the {what} listens on {host}: anyone who can reach this address can use "
            "it. Use --host 127.0.0.1 to keep it on this machine.",
            err=True,
        )


def limit_options(fn: F) -> F:
    """``--head-timeout`` and ``--body-timeout``: how long a client may take to send a request."""
    for name, default, what in (
        ("--body-timeout", 30.0, "take to send a request body"),
        ("--head-timeout", 15.0, "stay idle, or take to send a request's headers"),
    ):
        fn = click.option(
            name,
            type=click.FloatRange(min=0, min_open=True),
            default=default,
            show_default=True,
            metavar="S",
            help=f"Seconds a connection may {what}.",
        )(fn)
    return fn


def server_limits(head_timeout: float, body_timeout: float) -> ServerLimits:
    """The limits of ``--head-timeout`` and ``--body-timeout`` (the others at their defaults)."""
    from hakaru.proxy.serving import ServerLimits

    return ServerLimits(head_timeout=head_timeout, body_timeout=body_timeout)


async def wait_for_signal() -> None:
    """Return on SIGINT or SIGTERM (the default handlers are restored afterwards)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in signals:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)


@click.group()
def sim() -> None:
    """The simulated LLM, served over HTTP."""


@sim.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port (0: any free port, printed on start).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the simulation.")
@click.option(
    "--model",
    "default_model",
    default=None,
    help="Model answering requests for models outside the catalog [default: sim-oracle; "
    "neural-sum with --neural].",
)
@click.option(
    "--neural",
    is_flag=True,
    help="Serve the tiny trained neural model (--model neural-sum) instead of the simulator: "
    "its answers and errors are the model's (needs torch: pip install 'hakaru[train]').",
)
@click.option(
    "--latency-scale",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Sleep each call's simulated latency times this factor (0: answer at once).",
)
@click.option(
    "--generic-tokens",
    type=click.FloatRange(min=1),
    default=120.0,
    show_default=True,
    help="Median length in tokens of answers to unrecognised prompts.",
)
@click.option(
    "--generic-sigma",
    type=click.FloatRange(min=0),
    default=0.6,
    show_default=True,
    help="Spread (lognormal sigma) of those lengths; 0 makes them all the median.",
)
@click.option(
    "--generic-max",
    type=click.IntRange(min=1),
    default=4096,
    show_default=True,
    help="Longest generic answer in tokens.",
)
@click.option(
    "--stream-words",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Words per streamed chunk.",
)
@click.option(
    "--fault-429",
    "rate_429",
    type=click.FloatRange(0, 1),
    default=0.0,
    metavar="RATE",
    help="Fraction of requests answered 429.",
)
@click.option(
    "--retry-after",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    metavar="S",
    help="Retry-After seconds sent with each 429.",
)
@click.option(
    "--fault-500",
    "rate_500",
    type=click.FloatRange(0, 1),
    default=0.0,
    metavar="RATE",
    help="Fraction of requests answered 500.",
)
@click.option(
    "--fault-delay",
    "delay",
    default=None,
    metavar="RATE:SECONDS",
    help="Fraction of requests delayed, and by how long.",
)
@click.option(
    "--fault-drop",
    "drop_rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    metavar="RATE",
    help="Fraction of connections dropped without an answer (mid-stream when streaming).",
)
@click.option(
    "--fault-garbage",
    "garbage_rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    metavar="RATE",
    help="Fraction of requests answered 200 with malformed JSON.",
)
@click.option(
    "--fault-seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the fault draws (one draw per request, in arrival order).",
)
@click.option(
    "--reasoning",
    "reasoning_mode",
    type=click.Choice(["honour", "ignore", "starve"]),
    default="honour",
    show_default=True,
    help="What the server does with a reasoning budget: honour it, ignore it, or reason until "
    "the output cap is spent (no answer).",
)
@click.option(
    "--natural-reasoning",
    type=click.IntRange(min=1),
    default=4096,
    show_default=True,
    help="Reasoning tokens the model spends when it ignores (or is not held to) a budget.",
)
@limit_options
def serve(
    host: str,
    port: int,
    seed: int,
    default_model: str | None,
    neural: bool,
    latency_scale: float,
    generic_tokens: float,
    generic_sigma: float,
    generic_max: int,
    stream_words: int,
    rate_429: float,
    retry_after: float,
    rate_500: float,
    delay: str | None,
    drop_rate: float,
    garbage_rate: float,
    fault_seed: int,
    reasoning_mode: str,
    natural_reasoning: int,
    head_timeout: float,
    body_timeout: float,
) -> None:
    """Serve /v1/chat/completions (streaming too), /v1/completions, /v1/messages,
    /v1/responses, Gemini's generateContent and /v1/models.

    Prompts recognised as a task ("Add these numbers: 1, 2, 3") get the task's answer; any
    other prompt a deterministic generic answer. Requests naming a model outside the simulated
    catalog ('hakaru models') are answered by --model. Each API's reasoning budget
    parameter is honoured, ignored or starves the answer, as --reasoning says.

    Prints the base URL (http://HOST:PORT/v1) alone on the first line of stdout once it
    listens, everything else on stderr: URL=$(hakaru sim serve --port 0 | head -1) works
    with --port 0 (a free port).
    """
    from hakaru.backends.sim import SimBackend
    from hakaru.proxy.faults import FaultPlan, parse_delay
    from hakaru.proxy.server import ServedBackend, SimServer
    from hakaru.proxy.serving import listen
    from hakaru.proxy.sim_reasoning import ReasoningSim
    from hakaru.tasks import GenericKind

    delay_rate, delay_s = parse_delay(delay) if delay else (0.0, 0.0)
    plan = FaultPlan(
        rate_429=rate_429,
        retry_after=retry_after,
        rate_500=rate_500,
        delay_rate=delay_rate,
        delay=delay_s,
        drop_rate=drop_rate,
        garbage_rate=garbage_rate,
        seed=fault_seed,
    )
    if generic_max < 1 or generic_tokens > generic_max:
        raise ConfigError(
            f"--generic-tokens {generic_tokens:g} exceeds --generic-max {generic_max}. "
            "Raise --generic-max."
        )
    generic = GenericKind(median_tokens=generic_tokens, sigma=generic_sigma, max_tokens=generic_max)
    backend: ServedBackend
    if neural:
        from hakaru.neural.backend import NeuralBackend

        default_model = default_model or "neural-sum"
        backend = NeuralBackend(default_model, seed=seed)
    else:
        default_model = default_model or "sim-oracle"
        backend = SimBackend(
            seed=seed, real_time=latency_scale > 0, time_scale=latency_scale, generic=generic
        )
    app = SimServer(
        backend,
        default_model=default_model,
        faults=plan,
        stream_words=stream_words,
        limits=server_limits(head_timeout, body_timeout),
        reasoning=ReasoningSim(reasoning_mode, natural_reasoning),
    )
    warn_if_exposed(host, "neural model's server" if neural else "simulated server")

    async def main() -> None:
        server = await listen(app, host, port)
        click.echo(f"{server.url}/v1")  # alone on stdout: URL=$(… | head -1)
        click.echo(
            f"hakaru sim: serving the {'neural model' if neural else 'simulated LLM'} at "
            f"{server.url}/v1\n"
            f"  default model {default_model}; faults {'on' if plan.active else 'off'}; "
            f"reasoning budgets: {reasoning_mode}; stop with Ctrl-C",
            err=True,
        )
        try:
            await wait_for_signal()
        finally:
            await server.close()
        stats = app.stats()
        injected = ", ".join(f"{k} {v}" for k, v in stats["faults"].items() if v) or "none"
        click.echo(
            f"hakaru sim: {stats['requests']} requests, {stats['answered']} answered; "
            f"faults injected: {injected}.",
            err=True,
        )

    asyncio.run(main())
