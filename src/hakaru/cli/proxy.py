"""``hakaru proxy --upstream URL`` — record the OpenAI-compatible traffic of any program.

A thin layer over :class:`hakaru.proxy.recorder.Recorder` served by
:func:`hakaru.proxy.serving.listen`: every call becomes a record of one run (kind ``proxy``)
in the run store, finished with its totals when the proxy stops (Ctrl-C or SIGTERM). Point a
program at it with ``OPENAI_BASE_URL=http://127.0.0.1:PORT/v1``; read the run with
``hakaru runs show RUN``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from hakaru.cli.options import store_path_option
from hakaru.cli.sim import limit_options, server_limits, wait_for_signal, warn_if_exposed

__all__ = ["client_option", "proxy"]


def client_option(fn: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--client",
        type=click.Choice(["aiohttp", "httpx2"]),
        default="aiohttp",
        show_default=True,
        help="Upstream HTTP client: aiohttp, or httpx2 (honours HTTP(S)_PROXY and NO_PROXY).",
    )(fn)


@click.command()
@click.option(
    "--upstream",
    required=True,
    metavar="URL",
    help="Base URL to forward to, e.g. http://127.0.0.1:8000/v1.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (another than 127.0.0.1 only when you mean it).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port (0: any free port, printed on start).",
)
@store_path_option
@click.option("--name", default="", help="Name of the run [default: the upstream URL].")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=600.0,
    show_default=True,
    help="Seconds to wait for the upstream before answering 504.",
)
@client_option
@limit_options
def proxy(
    upstream: str,
    host: str,
    port: int,
    store_path: Path | None,
    name: str,
    timeout: float,
    client: str,
    head_timeout: float,
    body_timeout: float,
) -> None:
    """Forward OpenAI-compatible requests to --upstream and record every call.

    Tokens come from the upstream's usage (estimated, and marked so, when it has none); the
    X-Hakaru-Role header names the calling agent; which call may depend on which is inferred
    from timing. Authorization headers are passed on and never stored.

    Prints its base URL (http://HOST:PORT/v1) alone on the first line of stdout once it
    listens, everything else on stderr.
    """
    from hakaru.proxy.recorder import Recorder
    from hakaru.proxy.serving import listen
    from hakaru.proxy.upstream import make_forwarder
    from hakaru.store import RunStore, default_store_path

    path = store_path or default_store_path()
    store = RunStore(path)
    recorder = Recorder(
        upstream,
        store,
        forwarder=make_forwarder(client, timeout),
        timeout=timeout,
        limits=server_limits(head_timeout, body_timeout),
    )
    warn_if_exposed(host, "proxy")

    async def main() -> None:
        server = await listen(recorder, host, port)
        run_id = recorder.begin("proxy", name or recorder.upstream, {"upstream": upstream})
        click.echo(f"{server.url}/v1")  # alone on stdout: URL=$(… | head -1)
        click.echo(
            f"hakaru proxy: recording at {server.url}/v1\n"
            f"  forwarding to {recorder.upstream}; run {run_id} in {path}\n"
            f"  point your program at it: OPENAI_BASE_URL={server.url}/v1; stop with Ctrl-C",
            err=True,
        )
        try:
            await wait_for_signal()
        finally:
            await server.close()
            totals = await recorder.end()
            await recorder.aclose()
        click.echo(
            f"hakaru proxy: run {run_id}: {totals['calls']} calls ({totals['failed_calls']} "
            f"failed), {totals['input_tokens']:,} input and {totals['output_tokens']:,} output "
            f"tokens, depth {totals['depth']}. See 'hakaru runs show {run_id}'.",
            err=True,
        )

    try:
        asyncio.run(main())
    finally:
        store.close()
