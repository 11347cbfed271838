"""``hakaru maker plan`` — k_min, expected votes, calls and cost from p, s and a target.

Pure arithmetic over the planner (:mod:`hakaru.mdap`): no backend, no store. ``--paper-table``
recomputes the MAKER paper's model table (Fig. 6b) beside the paper's own figures.
"""

from __future__ import annotations

from typing import Any

import click

from hakaru.cli.main import echo_json
from hakaru.errors import ConfigError
from hakaru.mdap import (
    PAPER_STEPS,
    PAPER_TABLE,
    PAPER_TARGET,
    Plan,
    plan,
    reproduce_paper_table,
)
from hakaru.report.fit_width import print_table


@click.command("plan")
@click.option(
    "--p", "p", type=float, help="Per-step success rate of one valid sample, in (0.5, 1]."
)
@click.option("--steps", type=int, help="Number of steps s of the whole task (e.g. 1048575).")
@click.option("--target", type=float, help="Target probability that the whole task is right.")
@click.option("--m", "m", type=int, default=1, show_default=True, help="Steps per subtask (call).")
@click.option(
    "--v", "v", type=float, default=1.0, show_default=True, help="Fraction of samples not flagged."
)
@click.option("--in-tokens", type=float, help="Input tokens per call.")
@click.option("--out-tokens", type=float, help="Output tokens per call.")
@click.option("--price-in", type=float, help="USD per 1M input tokens.")
@click.option("--price-out", type=float, help="USD per 1M output tokens.")
@click.option(
    "--paper-table",
    is_flag=True,
    help="Reproduce the MAKER paper's model table (s = 1,048,575, t = 0.95) beside its figures.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def plan_cmd(
    p: float | None,
    steps: int | None,
    target: float | None,
    m: int,
    v: float,
    in_tokens: float | None,
    out_tokens: float | None,
    price_in: float | None,
    price_out: float | None,
    paper_table: bool,
    as_json: bool,
) -> None:
    """k_min for a target success, with the expected votes, calls and cost.

    \b
    hakaru maker plan --p 0.998 --steps 1048575 --target 0.95
    hakaru maker plan --p 0.9978 --steps 1048575 --target 0.95 \\
        --in-tokens 600 --out-tokens 538 --price-in 0.4 --price-out 1.6 --json
    hakaru maker plan --paper-table
    """
    if paper_table:
        given = {
            "--p": p,
            "--steps": steps,
            "--target": target,
            "--m": None if m == 1 else m,
            "--out-tokens": out_tokens,
            "--price-in": price_in,
            "--price-out": price_out,
        }
        extra = [name for name, value in given.items() if value is not None]
        if extra:
            raise ConfigError(
                f"--paper-table uses the paper's own values; drop {', '.join(extra)} "
                "(only --in-tokens, --v and --json apply)."
            )
        _paper_table(in_tokens, v, as_json)
        return
    missing = [f"--{n}" for n, x in (("p", p), ("steps", steps), ("target", target)) if x is None]
    if p is None or steps is None or target is None:
        raise ConfigError(
            f"maker plan needs --p, --steps and --target; missing {', '.join(missing)}. "
            "Or use --paper-table to reproduce the paper's table."
        )
    result = plan(
        p, steps, target, m=m, v=v, in_tokens=in_tokens, out_tokens=out_tokens,
        price_in=price_in, price_out=price_out,
    )  # fmt: skip
    if as_json:
        echo_json(result.to_dict())
    else:
        _print_plan(result)


def _print_plan(pl: Plan) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"MAKER plan: p = {pl.p:g}, s = {pl.steps:,}, t = {pl.target:g}", min_width=50
    )
    table.add_column("quantity")
    table.add_column("value", justify="right")
    rows: list[tuple[str, str]] = []
    if pl.m > 1:
        rows += [
            ("steps per subtask m", f"{pl.m}"),
            ("subtask success p^m", f"{pl.p_subtask:.6g}"),
        ]
    if pl.v < 1:
        rows.append(("valid fraction v", f"{pl.v:g}"))
    rows += [
        ("k_min (voting margin)", f"{pl.k_min}"),
        ("P(whole task right) at k_min", f"{pl.p_full:.6f}"),
    ]
    if pl.p_full_k_minus_1 is not None:
        rows.append((f"  … at k = {pl.k_min - 1}", f"{pl.p_full_k_minus_1:.6f}"))
    rows += [
        ("error per voted step", f"{pl.step_error:.3e}"),
        ("valid votes per step (exact)", f"{pl.expected_votes_per_step:.4f}"),
        ("  bound k/(2p−1)", f"{pl.expected_votes_per_step_bound:.4f}"),
        ("samples per step (votes / v)", f"{pl.expected_samples_per_step:.4f}"),
        ("calls (exact)", f"{pl.expected_calls:,.0f}"),
        ("  paper's s·k/(v·(2p−1))", f"{pl.expected_calls_bound:,.0f}"),
    ]
    if pl.cost_per_call is not None and pl.expected_cost is not None:
        rows += [
            ("USD per call", f"{pl.cost_per_call:.6g}"),
            ("USD (exact)", f"{pl.expected_cost:,.2f}"),
            ("  paper's c·s·k/(v·(2p−1))", f"{pl.expected_cost_bound or 0.0:,.2f}"),
        ]
    for name, value in rows:
        table.add_row(name, value)
    print_table(Console(), table)


def _paper_table(in_tokens: float | None, v: float, as_json: bool) -> None:
    in_tok = 600.0 if in_tokens is None else in_tokens
    choice = reproduce_paper_table(in_tokens=in_tok, v=v)
    rows: list[dict[str, Any]] = []
    for paper, option in zip(PAPER_TABLE, choice.options, strict=True):
        pl = option.plan
        cost = None if pl is None else pl.expected_cost_bound
        rows.append(
            {
                "model": paper.model,
                "error_rate": paper.error_rate,
                "price_in": paper.price_in,
                "price_out": paper.price_out,
                "out_tokens": paper.out_tokens,
                "paper_k_min": paper.k_min,
                "k_min": None if pl is None else pl.k_min,
                "paper_cost": paper.cost,
                "cost": cost,
                "cost_exact": None if pl is None else pl.expected_cost,
                "cost_rel_diff": None if cost is None or not paper.cost else cost / paper.cost - 1,
                "votes_per_step": None if pl is None else pl.expected_votes_per_step,
                "feasible": pl is not None,
                "reason": option.reason,
            }
        )
    best = choice.best.candidate.name if choice.best else None
    if as_json:
        echo_json(
            {
                "steps": PAPER_STEPS,
                "target": PAPER_TARGET,
                "in_tokens": in_tok,
                "v": v,
                "cheapest": best,
                "k_min_matches": sum(r["k_min"] == r["paper_k_min"] for r in rows if r["feasible"]),
                "rows": rows,
            }
        )
        return

    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"MAKER paper table (Fig. 6b): s = {PAPER_STEPS:,}, t = {PAPER_TARGET}",
        caption=(
            f"ours = c·s·k_min/(v·(2p−1)), c = {in_tok:g}·price_in + tok·price_out, v = {v:g};\n"
            "input prices assumed; prices and exact costs in --json. * = cheapest"
        ),
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    headers = ("model", "tok", "1−p", "k_min", "ours", r"E\[cost]", "ours", "diff")
    for col in headers:
        table.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)
    for r in rows:
        table.add_row(
            r["model"] + ("*" if r["model"] == best else ""),
            f"{r['out_tokens']:g}",
            f"{r['error_rate']:.4f}".lstrip("0"),
            or_dash(r["paper_k_min"], "{}"),
            or_dash(r["k_min"], "{}"),
            or_dash(r["paper_cost"] and r["paper_cost"] / 1e3, "${:.1f}K"),
            or_dash(r["cost"] and r["cost"] / 1e3, "${:.2f}K"),
            or_dash(r["cost_rel_diff"], "{:+.1%}"),
        )
    print_table(Console(), table)


def or_dash(value: Any, fmt: str) -> str:
    """``value`` formatted with ``fmt``, or a dash for a missing value (table cells)."""
    return "–" if value is None else fmt.format(value)
