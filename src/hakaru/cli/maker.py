"""``hakaru maker`` — plan, calibrate and run reliable million-step MAKER runs.

Thin shells over the library: ``maker plan`` over :mod:`hakaru.mdap.planner`, ``maker calibrate``
over :mod:`hakaru.mdap.calibrate`, ``maker run`` over :mod:`hakaru.mdap.driver` with the Towers of
Hanoi task of :mod:`hakaru.mdap.hanoi`. Each parses options, builds the backend and the session,
and prints one JSON object or a rich table. Invalid values are left to the library, whose
``ConfigError`` messages the CLI root prints as ``Error: …``. See docs/maker.md.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from hakaru.cli.main import echo_json
from hakaru.errors import ConfigError, StepFailed
from hakaru.mdap.planner import (
    PAPER_STEPS,
    PAPER_TABLE,
    PAPER_TARGET,
    Plan,
    plan,
    reproduce_paper_table,
)

__all__ = ["maker"]


@click.group()
def maker() -> None:
    """Plan, calibrate and run million-step MDAPs (MAKER: voting with margin k, red flags)."""


@maker.command("plan")
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
    Console().print(table)


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
            _or_dash(r["paper_k_min"], "{}"),
            _or_dash(r["k_min"], "{}"),
            _or_dash(r["paper_cost"] and r["paper_cost"] / 1e3, "${:.1f}K"),
            _or_dash(r["cost"] and r["cost"] / 1e3, "${:.2f}K"),
            _or_dash(r["cost_rel_diff"], "{:+.1%}"),
        )
    Console().print(table)


def _or_dash(value: Any, fmt: str) -> str:
    return "–" if value is None else fmt.format(value)


# ---------------------------------------------------------------------------------------------
# maker run / maker calibrate


def _float_list(text: str, what: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"{what} '{text}' is not a comma-separated list of numbers.") from None
    if not values:
        raise ConfigError(f"{what} is empty. Give e.g. 0,0.1")
    return values


def _sim_backend(seed: int, sim_error: float | None, time_scale: float | None) -> Any:
    import dataclasses

    from hakaru.backends.sim import SimBackend
    from hakaru.mdap.hanoi import HANOI_MODELS

    models = list(HANOI_MODELS.values())
    if sim_error is not None:
        if not 0.0 <= sim_error <= 1.0:
            raise ConfigError(f"--sim-error is {sim_error}. Give a probability in [0, 1].")
        models = [dataclasses.replace(m, base_error=sim_error, max_error=sim_error) for m in models]
    return SimBackend(
        seed=seed,
        models=models,
        real_time=time_scale is not None,
        time_scale=time_scale or 1.0,
    )


def _backend(
    backend: str, base_url: str | None, api_key: str | None, seed: int, sim_error: float | None,
    time_scale: float | None,
) -> Any:  # fmt: skip
    from hakaru.backends.base import create_backend

    if backend == "sim":
        if base_url or api_key:
            raise ConfigError(
                "--base-url and --api-key need --backend openai. Add --backend openai"
            )
        return _sim_backend(seed, sim_error, time_scale)
    if sim_error is not None or time_scale is not None:
        raise ConfigError("--sim-error and --sim-time-scale apply to --backend sim only. Drop them")
    return create_backend(backend, base_url=base_url, api_key=api_key)


def _open_store(store: str | None, no_store: bool, *, batched: bool = False) -> Any:
    if no_store:
        return None
    if batched:  # a step driver's records, committed in large transactions (see BatchedStore)
        from hakaru.mdap.driver import BatchedStore

        return BatchedStore(store)
    from hakaru.store import RunStore

    return RunStore(store)  # None: $HAKARU_HOME/hakaru.db


def _task(name: str, disks: int, reasoning_tokens: int | None = None) -> Any:
    if name != "hanoi":
        raise ConfigError(f"Unknown MAKER task '{name}'. Known: hanoi.")
    from hakaru.mdap.hanoi import HANOI_KIND, HanoiStepKind, HanoiTask

    if reasoning_tokens is None or reasoning_tokens == HANOI_KIND.reasoning_tokens:
        return HanoiTask(disks)
    if reasoning_tokens < 0:
        raise ConfigError(f"--reasoning-tokens is {reasoning_tokens}. Give 0 or more tokens.")
    kind = HanoiStepKind(name=f"hanoi-step-r{reasoning_tokens}", reasoning_tokens=reasoning_tokens)
    return HanoiTask(disks, kind)


# Options a resumed run may change: they do not alter the answer of any step.
_RESUME_MAY_CHANGE = ("max_samples", "max_flagged", "checkpoint_every")
_RUN_DEFAULTS: dict[str, Any] = {
    "task": "hanoi",
    "disks": 20,
    "k": 3,
    "model": "sim-hanoi-mini",
    "sim_error": None,
    "seed": 0,
    "max_tokens": 750,
    "max_output_tokens": 750,
    "parser": "flag",
    "temperatures": [0.0, 0.1],
    "max_samples": 100,
    "max_flagged": 20,
    "checkpoint_every": 1000,
    "backend": "sim",
    "reasoning_tokens": None,
}


@maker.command("run")
@click.option("--task", type=click.Choice(["hanoi"]), default=None, help="The MDAP. [hanoi]")
@click.option("--disks", type=int, default=None, help="Towers of Hanoi disks (2^D − 1 steps). [20]")
@click.option("--k", "k", type=int, default=None, help="Voting margin (first to k ahead). [3]")
@click.option("--model", default=None, help="Model of every step. [sim-hanoi-mini]")
@click.option("--sim-error", type=float, default=None, help="Override the sim model's error rate.")
@click.option("--seed", type=int, default=None, help="Seed of the simulated LLM. [0]")
@click.option(
    "--max-tokens", type=int, default=None, help="Output cap; longer answers are flagged. [750]"
)
@click.option(
    "--parser", type=click.Choice(["flag", "repair"]), default=None,
    help="Strict red-flag parser, or the repairing one (comparison only). [flag]",
)  # fmt: skip
@click.option(
    "--temperatures", default=None, help="Per-draw temperatures; the last repeats. [0,0.1]"
)
@click.option("--max-samples", type=int, default=None, help="Draws per step before failing. [100]")
@click.option("--max-flagged", type=int, default=None, help="Flagged draws per step cap. [20]")
@click.option(
    "--checkpoint-every", type=int, default=None, help="Steps between checkpoints (0: none). [1000]"
)
@click.option(
    "--reasoning-tokens", type=int, default=None,
    help="Prose the simulated model writes before its answer (MAKER: ~500 in all). [40]",
)  # fmt: skip
@click.option("--resume", "resume_ref", default=None, metavar="RUN", help="Continue a killed run.")
@click.option("--target", type=float, default=0.95, show_default=True, help="For the plan shown.")
@click.option(
    "--sim-time-scale", type=float, default=None, hidden=True,
    help="Sleep simulated latency × SCALE per call (tests and demos).",
)  # fmt: skip
@click.option(
    "--backend", type=click.Choice(["sim", "openai"]), default=None, help="LLM backend. [sim]"
)
@click.option("--base-url", default=None, help="OpenAI-compatible URL (with --backend openai).")
@click.option("--api-key", default=None, help="API key (default: $OPENAI_API_KEY). Never stored.")
@click.option(
    "--store", default=None, metavar="PATH", help="Run store (default: $HAKARU_HOME/hakaru.db)."
)
@click.option("--no-store", is_flag=True, help="Do not record the run (no checkpoints).")
@click.option("--quiet", is_flag=True, help="No progress lines on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def run_cmd(
    task: str | None,
    disks: int | None,
    k: int | None,
    model: str | None,
    sim_error: float | None,
    seed: int | None,
    max_tokens: int | None,
    parser: str | None,
    temperatures: str | None,
    max_samples: int | None,
    max_flagged: int | None,
    checkpoint_every: int | None,
    reasoning_tokens: int | None,
    resume_ref: str | None,
    target: float,
    sim_time_scale: float | None,
    backend: str | None,
    base_url: str | None,
    api_key: str | None,
    store: str | None,
    no_store: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Run an MDAP step by step with voting and red flags; verify it with the simulator.

    \b
    hakaru maker run --task hanoi --disks 10 --k 3
    hakaru maker run --task hanoi --disks 20 --k 3 --checkpoint-every 10000 --json
    hakaru maker run --task hanoi --disks 8 --k 1 --sim-error 0.01     # k below k_min
    hakaru maker run --resume 0a1b2c3d4e                               # after a crash

    Exits with status 1 when the task is not solved (a wrong or illegal voted step).
    """
    import asyncio

    given = {
        "task": task, "disks": disks, "k": k, "model": model, "sim_error": sim_error,
        "seed": seed, "max_tokens": max_tokens, "max_output_tokens": max_tokens,
        "parser": parser, "max_samples": max_samples, "max_flagged": max_flagged,
        "checkpoint_every": checkpoint_every, "backend": backend,
        "reasoning_tokens": reasoning_tokens,
        "temperatures": None if temperatures is None else list(
            _float_list(temperatures, "--temperatures")
        ),
    }  # fmt: skip
    opened = _open_store(store, no_store, batched=True)
    resume = None
    if resume_ref is not None:
        if opened is None:
            raise ConfigError("--resume reads the run store; drop --no-store.")
        from hakaru.mdap.driver import find_resume

        resume = find_resume(opened, resume_ref)
        clash = [
            f"--{name.replace('_', '-')} {value}"
            for name, value in given.items()
            if value is not None
            and name not in _RESUME_MAY_CHANGE
            and resume.params.get(name) != value
        ]
        if clash:
            raise ConfigError(
                f"--resume continues run {resume.run_id} with its own parameters; "
                f"{', '.join(clash)} differ from them. Drop those options (only "
                "--max-samples, --max-flagged and --checkpoint-every may change)."
            )
        params = dict(resume.params)
        params.update({n: given[n] for n in _RESUME_MAY_CHANGE if given[n] is not None})
    else:
        params = {
            name: (given[name] if given[name] is not None else default)
            for name, default in _RUN_DEFAULTS.items()
        }
    try:
        outcome = asyncio.run(
            _run(
                params, resume, opened, base_url, api_key, sim_time_scale, target, quiet or as_json
            )
        )
    finally:
        if opened is not None:
            opened.close()
    if as_json:
        echo_json(outcome)
    else:
        _print_run(outcome)
    if not outcome["solved"]:
        sys.exit(1)  # scripts can tell a failed run by the status alone


async def _run(
    params: dict[str, Any],
    resume: Any,
    store: Any,
    base_url: str | None,
    api_key: str | None,
    time_scale: float | None,
    target: float,
    quiet: bool,
) -> dict[str, Any]:
    import time

    from hakaru.mdap.driver import DriverConfig, run_mdap
    from hakaru.mdap.planner import expected_calls, full_success, k_min
    from hakaru.session import Session

    task = _task(str(params["task"]), int(params["disks"]), params.get("reasoning_tokens"))
    config = DriverConfig(
        model=str(params["model"]),
        k=int(params["k"]),
        temperatures=tuple(params["temperatures"]),
        max_tokens=params["max_tokens"],
        max_output_tokens=params["max_output_tokens"],
        parser=params["parser"],
        max_samples=int(params["max_samples"]),
        max_flagged=int(params["max_flagged"]),
        checkpoint_every=int(params["checkpoint_every"]),
    )
    backend = _backend(
        str(params["backend"]), base_url, api_key, int(params["seed"]), params["sim_error"],
        time_scale,
    )  # fmt: skip
    run_params = dict(params)
    if resume is not None:
        run_params["resumed_from"] = resume.run_id
    t0 = time.perf_counter()

    def progress(step: int, steps: int, seconds: float) -> None:
        click.echo(
            f"  step {step:,}/{steps:,} ({step / steps:.0%}) after {seconds:,.0f} s", err=True
        )

    session = Session(
        backend,
        keep_records=False,
        store=store,
        durability="batch",
        run_kind="maker",
        run_name=str(params["task"]),
        run_params=run_params,
    )
    try:
        async with session:
            result = await run_mdap(
                session,
                task,
                config,
                resume=resume,
                progress=None if quiet or task.steps < 50_000 else progress,
                progress_every=max(task.steps // 20, 1000),
            )
    except StepFailed as exc:
        if not session.run_id:
            raise
        raise StepFailed(
            f"{str(exc).rstrip('.')}. Run {session.run_id} is stored: continue it with "
            f"'hakaru maker run --resume {session.run_id}' and a higher --max-samples or "
            "--max-flagged"
        ) from None
    out = result.to_json()
    out["wall_seconds"] = time.perf_counter() - t0
    if store is not None and result.run_id:
        summary = {**session.totals(), "outcome": "solved" if result.solved else "failed"}
        summary.update({k: out[k] for k in ("steps_done", "solved", "errors", "reason")})
        store.finish_run(result.run_id, "done", summary)
    # What the planner predicts for this k, from the per-vote accuracy and v measured here.
    p_hat, v_hat = result.diagnostics.p_hat, result.diagnostics.v_hat
    prediction: dict[str, Any] = {"p_hat": p_hat, "v_hat": v_hat}
    if p_hat is not None and v_hat and p_hat > 0.5:
        prediction.update(
            p_full=full_success(p_hat, config.k, task.steps),
            expected_calls=expected_calls(p_hat, task.steps, config.k, v=v_hat),
            k_min=k_min(p_hat, task.steps, target),
            target=target,
        )
    out["predicted"] = prediction
    return out


def _print_run(out: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 100))
    verdict = "solved" if out["solved"] else "FAILED"
    title = f"MAKER {out['task']} {out['disks']} disks, k = {out['k']}, {out['model']}: {verdict}"
    table = Table(title=title, title_justify="left")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    d = out["diagnostics"]
    pred = out["predicted"]
    rows = [
        ("steps done / steps", f"{out['steps_done']:,} / {out['steps']:,}"),
        ("errors", f"{out['errors']}"),
        ("calls (every draw)", f"{out['calls']:,}"),
        ("valid votes", f"{out['votes']:,}"),
        ("flagged (discarded)", f"{out['flagged']:,}"),
        ("votes per step", f"{d['votes_per_step'] or 0:.4f}"),
        ("most votes in one step", f"{d['max_votes']}"),
        ("per-vote accuracy p̂", _or_dash(d["p_hat"], "{:.5f}")),
        ("valid fraction v̂", _or_dash(d["v_hat"], "{:.5f}")),
        ("input / output tokens", f"{out['input_tokens']:,} / {out['output_tokens']:,}"),
        ("USD", f"{out['dollars']:,.2f}" if out["dollars"] >= 1 else f"{out['dollars']:.6f}"),
        ("wall seconds", f"{out['wall_seconds']:,.1f}"),
        ("simulated seconds (critical path)", f"{out['sim_seconds']:,.0f}"),
    ]
    if "expected_calls" in pred:
        rows += [
            ("planner: calls expected (p̂, v̂)", f"{pred['expected_calls']:,.0f}"),
            (f"planner: P(solved) at k = {out['k']}", f"{pred['p_full']:.6f}"),
            (f"planner: k_min for t = {pred['target']:g}", f"{pred['k_min']}"),
        ]
    c = d["collisions"]
    rows.append(
        (
            "collisions: observed / if independent",
            f"{c['observed']} / {c['predicted_independent']:.2f}",
        )
    )
    if out.get("resumed_at"):
        rows.append(("resumed after step", f"{out['resumed_at']:,}"))
    if out.get("run_id"):
        rows.append(("run id", out["run_id"]))
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    undecided = d["undecided"][:8]
    if undecided:
        line = "  ".join(
            f"{r['votes']}:{r['undecided']:,}"
            + ("" if r["predicted"] is None else f"({r['predicted']:,.0f})")
            for r in undecided
        )
        console.print(f"undecided steps after n votes (predicted): {line}")
    if not out["solved"]:
        console.print(f"FAILED: {out['reason']}", markup=False, highlight=False)


@maker.command("calibrate")
@click.option("--task", type=click.Choice(["hanoi"]), default="hanoi", show_default=True)
@click.option("--disks", type=int, default=20, show_default=True, help="Towers of Hanoi disks.")
@click.option(
    "--model", "models", multiple=True,
    help="A model to calibrate (repeat for several). [every sim-hanoi-* model]",
)  # fmt: skip
@click.option("--samples", type=int, default=1000, show_default=True, help="Samples per model.")
@click.option("--per-step", type=int, default=1, show_default=True, help="Samples per step.")
@click.option("--target", type=float, default=0.95, show_default=True, help="Target P(solved).")
@click.option(
    "--parser", type=click.Choice(["flag", "repair"]), default="flag", show_default=True,
    help="Strict red-flag parser, or MAKER's repairing parser.",
)  # fmt: skip
@click.option("--max-tokens", type=int, default=750, show_default=True, help="Output cap.")
@click.option(
    "--reasoning-tokens", type=int, default=None,
    help="Prose the simulated models write before their answer. [40]",
)  # fmt: skip
@click.option("--temperature", type=float, default=0.1, show_default=True)
@click.option("--confidence", type=float, default=0.95, show_default=True, help="CI level.")
@click.option("--conservative", is_flag=True, help="Plan with the lower bound of p̂'s interval.")
@click.option("--sim-error", type=float, default=None, help="Override the sim models' error rate.")
@click.option("--seed", type=int, default=0, show_default=True, help="Steps and sim seed.")
@click.option("--backend", type=click.Choice(["sim", "openai"]), default="sim", show_default=True)
@click.option("--base-url", default=None, help="OpenAI-compatible URL (with --backend openai).")
@click.option("--api-key", default=None, help="API key (default: $OPENAI_API_KEY). Never stored.")
@click.option(
    "--store", default=None, metavar="PATH", help="Run store (default: $HAKARU_HOME/hakaru.db)."
)
@click.option("--no-store", is_flag=True, help="Do not record the calls.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def calibrate_cmd(
    task: str,
    disks: int,
    models: tuple[str, ...],
    samples: int,
    per_step: int,
    target: float,
    parser: str,
    max_tokens: int,
    reasoning_tokens: int | None,
    temperature: float,
    confidence: float,
    conservative: bool,
    sim_error: float | None,
    seed: int,
    backend: str,
    base_url: str | None,
    api_key: str | None,
    store: str | None,
    no_store: bool,
    as_json: bool,
) -> None:
    """Measure p, v, tokens and cost per call on random steps; plan k; pick the cheapest model.

    \b
    hakaru maker calibrate --disks 20 --samples 2000
    hakaru maker calibrate --model sim-hanoi-mini --parser repair --max-tokens 2048 --per-step 2
    """
    import asyncio

    from hakaru.mdap.hanoi import HANOI_MODELS

    chosen = list(models) or (list(HANOI_MODELS) if backend == "sim" else [])
    if not chosen:
        raise ConfigError("Name the models to calibrate with --model (repeat it for several).")
    opened = _open_store(store, no_store)
    try:
        cals = asyncio.run(
            _calibrate(
                _task(task, disks, reasoning_tokens), chosen, samples, per_step, parser,
                max_tokens, temperature, confidence, sim_error, seed, backend, base_url, api_key,
                opened,
            )
        )  # fmt: skip
    finally:
        if opened is not None:
            opened.close()
    from hakaru.mdap.calibrate import choose

    steps = _task(task, disks).steps
    choice = choose(cals, steps, target, conservative=conservative)
    rows = []
    for cal, option in zip(cals, choice.options, strict=True):
        row = cal.to_json()
        row["plan"] = None if option.plan is None else option.plan.to_dict()
        row["reason"] = option.reason
        rows.append(row)
    best = None if choice.best is None else choice.best.candidate.name
    if as_json:
        echo_json(
            {
                "task": task,
                "disks": disks,
                "steps": steps,
                "target": target,
                "conservative": conservative,
                "models": rows,
                "cheapest": best,
            }
        )
        return
    _print_calibration(rows, steps, target, best, conservative)


async def _calibrate(
    task: Any, models: list[str], samples: int, per_step: int, parser: str,
    max_tokens: int, temperature: float, confidence: float, sim_error: float | None, seed: int,
    backend: str, base_url: str | None, api_key: str | None, store: Any,
) -> list[Any]:  # fmt: skip
    from hakaru.mdap.calibrate import calibrate
    from hakaru.session import Session

    params = {
        **task.params(), "models": models, "samples": samples,
        "per_step": per_step, "parser": parser, "max_tokens": max_tokens, "seed": seed,
        "temperature": temperature, "sim_error": sim_error,
    }  # fmt: skip
    cals = []
    async with Session(
        _backend(backend, base_url, api_key, seed, sim_error, None),
        keep_records=False,
        store=store,
        durability="batch",
        run_kind="maker-calibrate",
        run_name=task.name,
        run_params=params,
    ) as session:
        for model in models:
            cals.append(
                await calibrate(
                    session, task, model, samples=samples, per_step=per_step, seed=seed,
                    parser=parser,  # type: ignore[arg-type]
                    temperature=temperature, max_tokens=max_tokens,
                    max_output_tokens=max_tokens if parser == "flag" else None,
                    confidence=confidence,
                )
            )  # fmt: skip
    return cals


def _print_calibration(
    rows: list[dict[str, Any]], steps: int, target: float, best: str | None, conservative: bool
) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    pct = f"{rows[0]['confidence']:.0%}" if rows else ""
    table = Table(
        box=box.SIMPLE_HEAD,
        title=f"MAKER calibration: {steps:,} steps, target {target:g}"
        + (" (planned at p̂'s lower bound)" if conservative else ""),
        caption=f"1−p̂: error rate of one valid sample, with its {pct} Wilson interval; v̂: valid "
        "fraction; tokens and USD per call; collisions: observed / if independent. * = cheapest",
        title_justify="left",
    )
    for col in ("model", "samples", "1−p̂", "interval", "v̂", "out tok", "USD/call", "k_min",
                r"E\[calls]", r"E\[USD]", "collisions"):  # fmt: skip
        table.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)
    for r in rows:
        pl = r["plan"]
        err = r["error_rate"]
        interval = f"{1 - r['p_high']:.4f}–{1 - r['p_low']:.4f}"
        c = r["collisions"]
        table.add_row(
            r["model"] + ("*" if r["model"] == best else ""),
            f"{r['samples']:,}",
            "–" if err is None else f"{err:.4f}",
            interval,
            f"{r['v_hat']:.4f}",
            f"{r['out_tokens']:.0f}",
            f"{r['cost_per_call']:.6f}",
            "–" if pl is None else f"{pl['k_min']}",
            "–" if pl is None else f"{pl['expected_calls']:,.0f}",
            "–" if pl is None else f"{pl['expected_cost']:,.2f}",
            f"{c['observed']} / {c['predicted_independent']:.2f}" if c["steps"] else "–",
        )
    Console(width=max(Console().width, 132)).print(table)
    if best is None:
        click.echo("No model can reach the target: every p̂ is at most 0.5.")
        return
    row = next(r for r in rows if r["model"] == best)
    click.echo(
        f"cheapest: {best} (k_min {row['plan']['k_min']}, about "
        f"{row['plan']['expected_calls']:,.0f} calls, ${row['plan']['expected_cost']:,.2f})"
    )
