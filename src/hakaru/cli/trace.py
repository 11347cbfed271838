"""``hakaru trace -- CMD …`` — run an unchanged Python program with capture on, print its totals.

A thin layer over :func:`hakaru.capture.trace.trace`: the program's calls become one run of the
store (kind ``capture``); on exit this prints which instrumentors were loaded and which could
not be, then the run's ledger (``--json``: the totals keys of ``hakaru run --json`` and
``run_id``), and exits with the program's own status. A program in which capture saw no LLM
call gets a message saying so, not a table of zeros, and a non-zero status.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hakaru.cli.main import echo_json
from hakaru.cli.options import otlp_option, store_path_option

__all__ = ["trace"]

#: Exit status of ``hakaru trace`` when the program succeeded but no LLM call was captured.
NO_CALLS = 3


@click.command(context_settings={"ignore_unknown_options": True})
@store_path_option
@click.option("--name", default="", help="Name of the run (default: the command).")
@click.option(
    "--size",
    "size",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="The problem size: replaces {n} in the command and is given as $HAKARU_N.",
)
@click.option(
    "--instrumentor",
    "instrumentors",
    multiple=True,
    metavar="MODULE:CLASS",
    help="Also switch on this OpenTelemetry instrumentor (repeatable).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object (program output → stderr)."
)
@otlp_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def trace(
    ctx: click.Context,
    store_path: Path | None,
    name: str,
    size: int | None,
    instrumentors: tuple[str, ...],
    as_json: bool,
    otlp_endpoint: str | None,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND with in-process capture on and record each LLM call it makes.

    Works on Python programs unchanged (openai, anthropic, LangGraph/LangChain, the OpenAI
    Agents SDK, pydantic-ai …): 'python' in COMMAND is the interpreter hakaru runs under.

    Example: hakaru trace -- python my_agent.py
    """
    from hakaru.capture.trace import trace as run_trace
    from hakaru.report.terminal import print_ledger
    from hakaru.store import RunStore, default_store_path

    output = None
    if as_json:
        output = sys.stderr.fileno()
    with RunStore(store_path or default_store_path()) as store:
        result = run_trace(
            list(command),
            store,
            name=name,
            n=size,
            extra=instrumentors,
            output=output,
            otlp_endpoint=otlp_endpoint,
        )
    loaded = ", ".join(result.loaded) or "none"
    click.echo(f"hakaru trace: instrumented {loaded}", err=True)
    for failed, why in result.failed.items():
        click.echo(f"hakaru trace: could not load the {failed} instrumentor: {why}", err=True)
    for problem in result.problems:
        click.echo(f"hakaru trace: problem: {problem}", err=True)
    code = result.exit_code
    if code != 0:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        click.echo(
            f"hakaru trace: the program {how}; its {result.totals['calls']} captured calls "
            f"are in run {result.run_id}.",
            err=True,
        )
        code = 128 - code if code < 0 else code  # as a shell reports a signal
    if result.totals["calls"] == 0:
        if not result.started:
            why = (
                "capture did not start inside the program. Run a Python program with the "
                "interpreter hakaru is installed in ('python' after '--' means it), and "
                "install the extra: pip install 'hakaru[capture]'."
            )
        else:
            why = (
                "the program made no LLM call that capture could see (through the "
                f"instrumentors above: {loaded}). Check that it calls a model through one of "
                "them, or add one with --instrumentor MODULE:CLASS."
            )
        click.echo(f"hakaru trace: no LLM call captured (run {result.run_id}): {why}", err=True)
        ctx.exit(code or NO_CALLS)
    if as_json:
        echo_json(result.as_json())
    else:
        title = f"hakaru trace: {' '.join(command)} (exit {code})"
        print_ledger(result.totals, result.by_role, title=title)
        click.echo(f"stored as run {result.run_id} (hakaru runs show {result.run_id})")
    ctx.exit(code)
