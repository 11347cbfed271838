"""``hakaru profile --sizes 4,8,16 -- CMD … {n}`` — how an agent program's cost grows with n.

A thin layer over :func:`hakaru.proxy.profile.profile`: it builds the upstream (``--sim`` starts
the simulated server in this process; ``--upstream URL`` forwards to a real one), runs the
command per size behind the recording proxy, and prints the per-size totals and a complexity
class per metric (``--json``: one object with both); ``--html FILE`` writes the same, with
log-log plots of every metric and its fit, as a report (:mod:`hakaru.report.profile_section`).
docs/profile.md explains the method.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from hakaru.cli.main import echo_json
from hakaru.cli.options import store_path_option
from hakaru.cli.proxy import client_option
from hakaru.cli.sizes import parse_sizes
from hakaru.errors import ConfigError

if TYPE_CHECKING:
    from hakaru.proxy.server import SimServer

__all__ = ["profile"]

_SHOWN = (  # metric, column title
    ("calls", "calls"),
    ("failed_calls", "failed"),
    ("input_tokens", "in tok"),
    ("output_tokens", "out tok"),
    ("aalp_cost", "AALP"),
    ("depth", "depth"),
    ("span_forward_passes", "span"),
    ("span_latency", "wall s"),
)


def _num(x: Any) -> str:
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer()):
        return f"{int(x):,}"
    if isinstance(x, float):
        return f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"
    return str(x)


def _estimated(result: dict[str, Any]) -> dict[int, tuple[int, int]]:
    """Per size: calls whose tokens were estimated, and all calls (over the repeats)."""
    out: dict[int, tuple[int, int]] = {}
    for point in result["points"]:
        e, c = out.get(point["n"], (0, 0))
        totals = point["totals"]
        out[point["n"]] = (e + int(totals.get("estimated_calls", 0)), c + int(totals["calls"]))
    return out


def _print(result: dict[str, Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from hakaru.report.fit_width import print_table

    console = Console()
    console.print(
        f"Profile {result['profile']}: {' '.join(result['command'])}\n"
        f"upstream {result['upstream']}, {result['repeats']} run(s) per size; span in forward "
        "passes, wall s = critical path of call latencies",
        markup=False,
        highlight=False,
    )
    shown = (
        [(m, t) for m, t in _SHOWN if m != "failed_calls"]
        if not any(row["failed_calls"] for row in result["per_size"])
        else list(_SHOWN)
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("n", justify="right")
    for _, name in shown:
        table.add_column(name, justify="right")
    estimated = _estimated(result)
    for row in result["per_size"]:
        star = "*" if estimated.get(row["n"], (0, 0))[0] else ""
        table.add_row(
            str(row["n"]),
            *(_num(row[m]) + (star if "tokens" in m else "") for m, _ in shown),
        )
    print_table(console, table)
    if any(e for e, _ in estimated.values()):
        e, c = (sum(v[k] for v in estimated.values()) for k in (0, 1))
        console.print(
            f"* tokens estimated for {e:,} of {c:,} calls ({e / max(c, 1):.0%}): their server "
            "sent no usage, so hakaru counted their prompts and answers with its tokenizer.",
            markup=False,
            highlight=False,
        )
    fits = result["fits"]
    if not fits:
        return
    grid = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title="Growth (fitted on log scale)",
        title_justify="left",
    )
    for name in ("metric", "class", "fit", "R²", "note"):
        grid.add_column(name)
    footnotes: dict[str, int] = {}  # a note shown once, under the table, however many rows

    def mark(text: str) -> str:
        return f"[{footnotes.setdefault(text, len(footnotes) + 1)}]"

    for metric, fit in fits.items():
        if fit.get("class") is None:
            grid.add_row(metric, "-", "-", "-", mark(str(fit.get("error", ""))))
            continue
        r2 = fit.get("r2")
        notes = [f"ambiguous with {fit.get('runner_up')}"] if fit.get("ambiguous") else []
        if fit.get("uncertain"):
            notes.append(f"uncertain {mark(str(fit.get('uncertainty')))}")
        grid.add_row(
            metric,
            f"O({fit['class']})",
            str(fit.get("formula", "")),
            "-" if r2 is None else f"{r2:.3f}",
            "; ".join(notes),
        )
    print_table(console, grid)
    for text, k in footnotes.items():
        console.print(f"[{k}] {text}", markup=False, highlight=False)


def _capture_mode(asked: str | None, command: tuple[str, ...]) -> Literal["in-process", "proxy"]:
    """``--capture`` as asked; by default in-process for a Python command when OpenTelemetry's
    SDK is installed (the ``capture`` extra), else the proxy."""
    import importlib.util

    from hakaru.proxy.profile import PYTHONS

    installed = importlib.util.find_spec("opentelemetry.sdk") is not None
    if asked == "in-process" and not installed:
        raise ConfigError(
            "--capture in-process needs the capture extra: pip install 'hakaru[capture]' "
            "(or use --capture proxy)"
        )
    if asked is not None:
        return "in-process" if asked == "in-process" else "proxy"
    return "in-process" if installed and command and command[0] in PYTHONS else "proxy"


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--sizes", required=True, metavar="N,N,…", help="Sizes to run, e.g. 4,8,16,32.")
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Runs per size (their scatter informs the fits; with --sim every execution draws "
    "its answers from its own seed, so repeats differ).",
)
@click.option("--sim", is_flag=True, help="Start the simulated LLM here as the upstream.")
@click.option(
    "--upstream",
    default=None,
    metavar="URL",
    help="OpenAI-compatible server to forward to (instead of --sim).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the --sim server: the k-th execution (sizes in order, repeats within a "
    "size) uses seed + k.",
)
@click.option(
    "--latency-scale",
    type=click.FloatRange(min=0),
    default=0.5,
    show_default=True,
    help="--sim: sleep each call's simulated latency times this factor, so that concurrent "
    "calls overlap (dependencies are inferred from timing).",
)
@store_path_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=600.0,
    show_default=True,
    help="Seconds the proxy waits for the upstream.",
)
@client_option
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the profile's report to this HTML file (self-contained, works offline).",
)
@click.option(
    "--capture",
    type=click.Choice(["in-process", "proxy"]),
    default=None,
    help="How calls are recorded: in-process (OpenTelemetry instrumentors inside a Python "
    "program; the default for 'python' commands when the capture extra is installed) or "
    "proxy (any language, over HTTP).",
)
@click.option("--quiet", is_flag=True, help="Discard the command's output.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def profile(
    sizes: str,
    repeats: int,
    sim: bool,
    upstream: str | None,
    seed: int,
    latency_scale: float,
    store_path: Path | None,
    timeout: float,
    client: str,
    html_path: Path | None,
    capture: str | None,
    quiet: bool,
    as_json: bool,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND once per size with {n} replaced, recording its calls (in-process capture or
    the recording proxy), and fit how
    every metric grows (calls, tokens, forward passes, AALP cost, depth, span).

    COMMAND reaches the upstream (or the proxy) through OPENAI_BASE_URL and OPENAI_API_BASE
    (and finds the size in HAKARU_N too). Its output goes to stderr. 'python' (or 'python3')
    as COMMAND's program is the interpreter hakaru runs under (its packages, venv activated
    or not).

    Example: hakaru profile --sim --sizes 4,8,16,32 -- python examples/openai_chain.py {n}
    """
    from hakaru.proxy.profile import ProfilePoint
    from hakaru.proxy.profile import profile as run_profile
    from hakaru.proxy.upstream import make_forwarder
    from hakaru.store import RunStore, default_store_path

    size_list = parse_sizes(sizes, "--sizes")
    if html_path is not None:
        from hakaru.report.html import check_writable

        check_writable(html_path)  # before the runs, not after them
    if sim == (upstream is not None):
        raise ConfigError(
            "Give the proxy an upstream: --sim (the simulated LLM) or --upstream URL, not both"
        )
    if not any("{n}" in part for part in command):
        click.echo("Note: no '{n}' in the command; it gets the size only from $HAKARU_N.", err=True)
    sim_factory: Callable[[], SimServer] | None = None
    if sim:

        def sim_factory() -> SimServer:
            from hakaru.backends.sim import SimBackend
            from hakaru.proxy import server

            backend = SimBackend(seed=seed, real_time=latency_scale > 0, time_scale=latency_scale)
            return server.SimServer(backend)

    def progress(point: ProfilePoint) -> None:
        t = point.totals
        click.echo(
            f"hakaru profile: n={point.n} repeat {point.repeat + 1}: {t['calls']} calls, "
            f"{t['input_tokens']:,} input and {t['output_tokens']:,} output tokens, depth "
            f"{t['depth']} ({point.seconds:.2f} s; run {point.run_id})",
            err=True,
        )

    mode = _capture_mode(capture, command)
    with RunStore(store_path or default_store_path()) as store:
        result = asyncio.run(
            run_profile(
                list(command),
                size_list,
                store,
                repeats=repeats,
                upstream=upstream,
                sim=sim_factory,
                forwarder=make_forwarder(client, timeout),
                timeout=timeout,
                quiet=quiet,
                on_point=progress,
                capture=mode,
            )
        )
    payload = result.as_dict()
    if html_path is not None:
        from hakaru.report.html import write_report
        from hakaru.report.profile_section import EXTRAS_KEY
        from hakaru.report.sections import ReportData

        written = write_report(
            html_path,
            ReportData(
                title=f"hakaru profile: {' '.join(command)}",
                subtitle=f"profile {result.profile_id} in {store.path}",
                extras={EXTRAS_KEY: [payload]},
            ),
        )
        click.echo(f"hakaru profile: report written to {written}", err=True)
        payload = {**payload, "html": str(written)}
    if as_json:
        echo_json(payload)
    else:
        _print(payload)
