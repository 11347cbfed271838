"""The reproduction: SFT → GRPO / GRPO+cosine / HBPO → evaluation → results JSON and plots.

Stages (each skipped when its output exists, so a killed run resumes where it stopped):

1. ``sft/sft.pt`` — the verbose starting model (:mod:`hakaru.hbpo.sft`);
2. the *style gate* — how reliable each reasoning style is per difficulty bin for that model,
   teacher-forced (:func:`~hakaru.hbpo.evaluate.style_accuracy`), so the reader can see that
   writing steps helps and where the short styles fail;
3. ``<method>/model.pt`` for each RL method, all from the same checkpoint and seeds;
4. evaluation on fresh problems (``eval_per_k`` per k, seed ``eval_seed``), greedy, up to
   ``eval_max_new`` tokens: every model in natural mode, and SFT and HBPO with the smallest
   budget forced (the analogue of the paper's "efficiency prompting");
5. ``results.json`` (everything below), ``summary.md`` (its tables in Markdown) and the
   figures ``accuracy_tokens.png``, ``training.png``.

The targets of issue 6 are evaluated exactly as fixed before any run (README): against SFT,
tokens −50 % or more with accuracy not lower by more than 1 point; against GRPO, accuracy not
lower by more than 1 point and mean tokens no higher; Spearman ρ(k, tokens) >= 0.8 per problem.
Accuracy differences carry a 95 % interval (Newcombe's hybrid score interval).
"""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hakaru.hbpo.checkpoint import load_model, set_threads, vocab_of
from hakaru.hbpo.config import Config
from hakaru.hbpo.evaluate import eval_problems, generate, style_accuracy, summarise, wilson
from hakaru.hbpo.sft import train_sft
from hakaru.hbpo.task import STYLES, bin_of, difficulty_bins
from hakaru.hbpo.trainer import train_rl

__all__ = ["diff_ci", "run_experiment", "targets"]

Log = Callable[[str], None]


def diff_ci(a_ok: int, a_n: int, b_ok: int, b_n: int) -> tuple[float, float]:
    """95 % interval of p_a − p_b (Newcombe's hybrid score method, from Wilson intervals).

    >>> [round(x, 4) for x in diff_ci(56, 70, 48, 80)]  # Newcombe (1998): 0.0524 to 0.3339
    [0.0524, 0.3339]
    """
    pa, pb = a_ok / a_n, b_ok / b_n
    la, ua = wilson(a_ok, a_n)
    lb, ub = wilson(b_ok, b_n)
    d = pa - pb
    return (
        d - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2),
        d + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2),
    )


def _compare(method: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    m, r = method["overall"], ref["overall"]
    ok_m, ok_r = round(m["accuracy"] * m["n"]), round(r["accuracy"] * r["n"])
    lo, hi = diff_ci(ok_m, m["n"], ok_r, r["n"])
    return {
        "token_reduction": 1 - m["mean_tokens"] / r["mean_tokens"],
        "accuracy_delta_pts": 100 * (m["accuracy"] - r["accuracy"]),
        "accuracy_delta_ci95_pts": [round(100 * lo, 2), round(100 * hi, 2)],
    }


def targets(models: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The issue's targets for HBPO (natural mode), each with its figures and whether it is met."""
    hb, sft = models["hbpo"], models["sft"]
    vs_sft = _compare(hb, sft)
    out: dict[str, Any] = {
        "vs_sft": {
            **vs_sft,
            "rule": "token_reduction >= 0.50 and accuracy_delta_pts >= -1.0",
            "met": vs_sft["token_reduction"] >= 0.5 and vs_sft["accuracy_delta_pts"] >= -1.0,
        },
        "spearman": {
            "value": hb["spearman_problems"],
            "k_means": hb["spearman_k_means"],
            "rule": "Spearman rho(k, tokens) over problems >= 0.8",
            "met": hb["spearman_problems"] >= 0.8,
        },
    }
    if "grpo" in models:
        vs_grpo = _compare(hb, models["grpo"])
        out["vs_grpo"] = {
            **vs_grpo,
            "rule": "accuracy_delta_pts >= -1.0 and token_reduction >= 0",
            "met": vs_grpo["accuracy_delta_pts"] >= -1.0 and vs_grpo["token_reduction"] >= 0,
        }
    return out


def _gate(cfg: Config, model: Any, problems: list[Any]) -> dict[str, list[float]]:
    bins = difficulty_bins(cfg.k_min, cfg.k_max)
    vocab = vocab_of(cfg)
    table: dict[str, list[float]] = {}
    for style in STYLES:
        ok = style_accuracy(model, vocab, problems, style)
        table[style] = [
            round(
                sum(o for p, o in zip(problems, ok, strict=True) if bin_of(p.k, bins) == b)
                / max(1, sum(1 for p in problems if bin_of(p.k, bins) == b)),
                4,
            )
            for b in range(len(bins))
        ]
    return table


def _dynamics(history: dict[str, Any]) -> dict[str, Any]:
    steps = history["steps"]
    keys = ("reward", "accuracy", "len_mean", "len_std", "len_hard_mean", "len_hard_std")
    out: dict[str, Any] = {k: [s[k] for s in steps] for k in keys}
    out["seconds_per_step"] = sum(s["seconds"] for s in steps) / max(1, len(steps))
    out["val"] = history["val"]
    if steps and "per_budget" in steps[0]:
        out["per_budget"] = [s["per_budget"] for s in steps]
    return out


def run_experiment(
    cfg: Config, out: str | Path, *, log: Log = print, progress: bool = True, command: str = ""
) -> dict[str, Any]:
    """Run (or resume) the whole reproduction in ``out``; return and write ``results.json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    set_threads(cfg.threads)
    timing: dict[str, float] = {}

    t = time.perf_counter()
    sft_record = train_sft(cfg, out / "sft", log=log, progress=progress)
    timing["sft_s"] = time.perf_counter() - t

    problems = eval_problems(cfg.n_symbols, cfg.k_min, cfg.k_max, cfg.eval_per_k, cfg.eval_seed)
    sft_model, _ = load_model(out / "sft" / "sft.pt")
    t = time.perf_counter()
    gate = _gate(cfg, sft_model, problems)
    timing["gate_s"] = time.perf_counter() - t
    log(
        "style gate (teacher-forced accuracy per bin): "
        + "; ".join(f"{s} {' '.join(f'{a:.2f}' for a in v)}" for s, v in gate.items())
    )

    histories: dict[str, Any] = {}
    for method in cfg.methods:
        t = time.perf_counter()
        histories[method] = train_rl(
            cfg, method, out / "sft" / "sft.pt", out / method, log=log, progress=progress
        )
        timing[f"{method}_s"] = time.perf_counter() - t

    t = time.perf_counter()
    vocab = vocab_of(cfg)
    smallest = cfg.budgets[0]
    models: dict[str, dict[str, Any]] = {}
    evals: list[tuple[str, Path, int | None]] = [("sft", out / "sft" / "sft.pt", None)]
    evals += [(m, out / m / "model.pt", None) for m in cfg.methods]
    evals += [(f"sft@b{smallest}", out / "sft" / "sft.pt", smallest)]
    if "hbpo" in cfg.methods:
        evals += [(f"hbpo@b{smallest}", out / "hbpo" / "model.pt", smallest)]
    for name, path, budget in evals:
        model, _ = load_model(path)
        graded = generate(model, vocab, problems, max_new=cfg.eval_max_new, budget=budget)
        models[name] = summarise(problems, graded, cfg.k_min, cfg.k_max)
        o = models[name]["overall"]
        log(
            f"eval {name}: accuracy {o['accuracy']:.3f} {o['ci95']} | "
            f"{o['mean_tokens']:.1f} tokens | rho {models[name]['spearman_problems']:.3f}"
        )
    timing["eval_s"] = time.perf_counter() - t

    comparisons = {
        name: {
            "vs_sft": _compare(s, models["sft"]),
            **({"vs_grpo": _compare(s, models["grpo"])} if "grpo" in models else {}),
        }
        for name, s in models.items()
        if name != "sft"
    }
    results: dict[str, Any] = {
        "command": command,
        "config": cfg.to_dict(),
        "seeds": {"train": cfg.seed, "eval": cfg.eval_seed, "validation": cfg.eval_seed + 1},
        "machine": {
            "python": platform.python_version(),
            "processor": platform.machine(),
            "threads": cfg.threads,
        },
        "timing_s": {k: round(v, 1) for k, v in timing.items()},
        "sft": {"final_loss": sft_record["loss"][-1] if sft_record["loss"] else None},
        "bins": difficulty_bins(cfg.k_min, cfg.k_max),
        "style_gate": gate,
        "models": models,
        "comparisons": comparisons,
        "targets": targets(models) if "hbpo" in models else {},
        "training": {m: _dynamics(h) for m, h in histories.items()},
    }
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    from hakaru.hbpo.summary import markdown_summary

    (out / "summary.md").write_text(markdown_summary(results))
    try:
        from hakaru.hbpo.plots import plot_results

        plot_results(results, out)
    except ImportError as exc:  # matplotlib is a core dependency; a broken install still gets JSON
        log(f"plots skipped: {exc}")
    log(f"wrote {out / 'results.json'}")
    return results
