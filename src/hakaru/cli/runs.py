"""``hakaru runs list|show|export`` — the runs kept in the run store.

A thin layer over :mod:`hakaru.store`. The store is ``--store FILE`` or
``$HAKARU_HOME/hakaru.db`` (``$HAKARU_HOME`` defaults to ``./.hakaru``). Reading commands never
create a store: a missing one lists no runs, and ``show``/``export`` say the run does not exist.
``show`` streams the run's records once, feeding both the ledger totals and the per-role table.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar, cast

import click

from hakaru.cli.main import echo_json
from hakaru.cli.options import store_path_option
from hakaru.errors import ConfigError
from hakaru.ledger import Ledger, totals_of
from hakaru.pricing import Prices
from hakaru.store import RunInfo, RunNotFound, RunStore, default_store_path
from hakaru.store.database import ExportFormat
from hakaru.types import CallRecord

__all__ = ["runs"]

F = TypeVar("F", bound=Callable[..., Any])


def _json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")(fn)


def _open(store_path: Path | None) -> tuple[Path, RunStore | None]:
    """The store's path and the store opened for reading (no write access needed), or ``None``
    when no store exists there yet."""
    path = store_path or default_store_path()
    return path, (RunStore(path, readonly=True) if path.exists() else None)


def _find(store_path: Path | None, ref: str) -> tuple[RunStore, RunInfo]:
    path, store = _open(store_path)
    if store is None:
        raise RunNotFound.unknown(ref, path)
    try:
        return store, store.run(ref)
    except BaseException:
        store.close()
        raise


def _when(t: float | None) -> str:
    return "-" if t is None else datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _num(v: Any) -> str:
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1e5 else f"{v:.4g}"
    return "-" if v is None else str(v)


def _seconds(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f} s"


@click.group()
def runs() -> None:
    """List, show and export stored runs."""


@runs.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@_json_option
@store_path_option
def list_runs(limit: int, as_json: bool, store_path: Path | None) -> None:
    """List the newest runs, newest first."""
    path, store = _open(store_path)
    infos = [] if store is None else store.runs(limit=limit)
    if store is not None:
        store.close()
    if as_json:
        echo_json({"store": str(path), "runs": [info.as_dict() for info in infos]})
        return
    if not infos:
        click.echo(f"No runs in {path} yet. Start one with 'hakaru run WORKLOAD --n N'.")
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(
        box=box.SIMPLE_HEAD,
        title=f"Runs in {path}",
        title_justify="left",
        collapse_padding=True,
        pad_edge=False,
    )
    for name in ("id", "created", "kind", "name", "status", "calls", "took"):
        right = name in ("calls", "took")
        table.add_column(name, justify="right" if right else "left", no_wrap=True)
    for info in infos:
        table.add_row(
            info.id,
            _when(info.created)[:16],  # to the minute
            info.kind,
            info.name,
            info.status,
            _num(info.calls),
            _seconds(info.duration),
        )
    from hakaru.report.fit_width import print_table

    console = Console()
    print_table(console, table, shorten=("name",))  # one line per run: a long name is cut
    if len(infos) == limit:
        console.print(f"Newest {limit} shown; see more with --limit.")


@runs.command("show")
@click.argument("run")
@_json_option
@store_path_option
def show(run: str, as_json: bool, store_path: Path | None) -> None:
    """Show a run: its parameters, ledger totals and cost per role.

    RUN is a run id or a unique prefix of one.
    """
    store, info = _find(store_path, run)
    try:
        prices = store.prices(info.id)
        ledger = Ledger(keep_records=False)  # only its per-role and per-model groups are used

        estimated = 0

        def feed() -> Iterator[CallRecord]:
            nonlocal estimated
            for rec in store.calls(info.id):
                ledger.add(rec)
                estimated += rec.usage_source == "estimated"
                yield rec

        totals = totals_of(feed(), prices)
        totals["estimated_calls"] = estimated
    finally:
        store.close()
    roles, models = ledger.group_by("role"), ledger.group_by("model")
    if as_json:
        echo_json(
            {
                "run": info.as_dict(),
                "totals": totals,
                "roles": roles,
                "models": models,
                "prices": {m: None if p is None else p.as_dict() for m, p in prices.items()},
            }
        )
        return
    _print_show(info, totals, roles, prices)


# per-role columns: ledger group key -> header
_ROLE_COLUMNS = {
    "calls": "calls",
    "errors": "failed",
    "cached": "cached",
    "flagged": "flagged",
    "input_tokens": "in tok",
    "output_tokens": "out tok",
    "aalp": "aalp",
    "dollars": "USD",
}


def _print_show(
    info: RunInfo,
    totals: dict[str, Any],
    roles: dict[str, dict[str, float]],
    prices: Mapping[str, Prices | None],
) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    console.print(f"[bold]Run {info.id}[/bold]  {info.kind} {info.name}  ({info.status})")
    console.print(
        f"created {_when(info.created)}  ended {_when(info.ended)}  "
        f"took {_seconds(info.duration)}  stored calls {info.calls:,}"
    )
    for label, values in (("params", info.params), ("summary", info.summary or {})):
        if values:
            console.print(
                label + "  " + "  ".join(f"{k}={v}" for k, v in values.items()), markup=False
            )
    rest = dict(totals)
    counts = [
        rest.pop(k, 0)
        for k in ("calls", "ok_calls", "failed_calls", "cached_calls", "flagged_calls")
    ]
    console.print(
        f"calls {_num(counts[0])} (ok {_num(counts[1])}, failed {_num(counts[2])}, "
        f"cached {_num(counts[3])}, flagged {_num(counts[4])})  depth {_num(rest.pop('depth', 0))}"
        f"  parallelism {_num(rest.pop('parallelism', 0.0))}"
    )
    from hakaru.report.token_classes import (
        class_table,
        estimated_note,
        estimated_share,
        unpriced_note,
    )

    tokens = [rest.pop(k, 0) for k in ("input_tokens", "output_tokens", "reasoning_tokens")]
    share = estimated_share(totals)
    mark = "" if share is None else "*"
    rest.pop("estimated_calls", None)
    console.print(
        f"tokens in {_num(tokens[0])}{mark}  out {_num(tokens[1])}{mark}  reasoning "
        f"{_num(tokens[2])}{mark}" + ("" if share is None else f"  (* estimated for {share})")
    )
    from hakaru.report.fit_width import print_table

    print_table(console, class_table(totals))
    if prices:
        shown = [
            f"{m} ({'unknown' if p is None else p.source or 'given'})" for m, p in prices.items()
        ]
        console.print("prices  " + ", ".join(shown), markup=False, soft_wrap=True)
    for key in list(rest):  # shown in the class table
        if key.startswith("dollars_") or key in (
            "uncached_input_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "unpriced_calls",
        ):
            del rest[key]
    costs = Table("cost model", box=box.SIMPLE_HEAD)
    costs.add_column("work", justify="right")
    costs.add_column("span", justify="right")
    for name in Ledger(keep_records=False).names:
        work_key = {"aalp": "aalp_cost"}.get(name, name)  # the ledger's label for AALP work
        if work_key in rest and f"span_{name}" in rest:
            costs.add_row(name, _num(rest.pop(work_key)), _num(rest.pop(f"span_{name}")))
    print_table(console, costs)
    if rest:  # totals this view does not know yet
        console.print("  ".join(f"{k} {_num(v)}" for k, v in rest.items()))
    table = Table(
        box=box.SIMPLE_HEAD,
        title="Cost per role",
        title_justify="left",
        collapse_padding=True,
        pad_edge=False,
    )
    table.add_column("role", no_wrap=True, min_width=min(24, max(map(len, roles), default=4)))
    for header in _ROLE_COLUMNS.values():
        table.add_column(header, justify="right", no_wrap=True)
    for role, row in roles.items():
        table.add_row(role, *(_num(row.get(key)) for key in _ROLE_COLUMNS))
    print_table(console, table)
    for note in (estimated_note(totals), unpriced_note(totals)):
        if note is not None:
            console.print(note, markup=False)


@runs.command("export")
@click.argument("run")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "otlp-json"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one call record per line; csv: a header of the record fields; otlp-json: "
    "OpenTelemetry GenAI spans as OTLP/JSON lines (docs/otel.md).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write [default: stdout].",
)
@click.option(
    "--otlp-endpoint",
    metavar="URL",
    default=None,
    help="Send the run's spans over OTLP/HTTP to URL (e.g. http://localhost:4318) instead.",
)
@store_path_option
def export(
    run: str, fmt: str, out: Path | None, otlp_endpoint: str | None, store_path: Path | None
) -> None:
    """Export the call records of a run as JSONL, CSV or OpenTelemetry spans.

    RUN is a run id or a unique prefix of one.
    """
    store, info = _find(store_path, run)
    try:
        if otlp_endpoint is not None:
            if out is not None:
                raise ConfigError("Give --out or --otlp-endpoint, not both.")
            from hakaru.otel.export import export_run

            sent = export_run(store, info.id, endpoint=otlp_endpoint)
            click.echo(
                f"Sent {sent.spans:,} spans of run {info.id} (trace {sent.trace_id}) to "
                f"{otlp_endpoint}.",
                err=True,
            )
            return
        if out is None:
            _export_stdout(store, info.id, fmt)
            return
        tmp = out.with_name(out.name + ".part")  # a failed export leaves no half-written file
        try:
            with tmp.open("w", newline="", encoding="utf-8") as fh:
                n = _export_to(store, info.id, fmt, fh)
            tmp.replace(out)
        except OSError as exc:
            raise ConfigError(
                f"Cannot write {out}: {exc.strerror}. Choose another file with --out."
            ) from None
        finally:
            tmp.unlink(missing_ok=True)
        what = "spans" if fmt == "otlp-json" else "calls"
        click.echo(f"Wrote {n:,} {what} of run {info.id} to {out}.", err=True)
    finally:
        store.close()


def _export_to(store: RunStore, run_id: str, fmt: str, out: TextIO) -> int:
    if fmt == "otlp-json":
        from hakaru.otel.export import export_run

        return export_run(store, run_id, out=out).spans
    return store.export(run_id, cast(ExportFormat, fmt), out)


def _export_stdout(store: RunStore, run_id: str, fmt: str) -> None:
    stdout: TextIO = sys.stdout
    try:
        _export_to(store, run_id, fmt, stdout)
        stdout.flush()
    except BrokenPipeError:  # `hakaru runs export … | head`: the reader has gone; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        raise click.exceptions.Exit(0) from None
