"""A Markdown summary of ``results.json`` — the figures for experiments/hbpo/README.md.

Tables only, generated from the results file so that no number in the README is typed by
hand: overall accuracy and tokens per model, per-bin accuracy and tokens, the targets with
their rules, HBPO's budget choice per bin, the style gate, and rollout-length dynamics.

    python -m hakaru.hbpo.summary experiments/hbpo/results/results.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["markdown_summary"]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _signed(x: float) -> str:
    return f"{100 * x:+.1f}%"


def markdown_summary(results: dict[str, Any]) -> str:
    """The summary as Markdown text."""
    lines: list[str] = []
    add = lines.append
    cfg = results["config"]
    bins = [f"k {lo}-{hi}" if lo != hi else f"k {lo}" for lo, hi in results["bins"]]
    add(f"Command: `{results.get('command') or '(not recorded)'}`  ")
    add(f"Seeds: {results['seeds']}; threads {cfg['threads']}; timings (s): {results['timing_s']}")
    add("")
    add(
        "| model | accuracy (95% CI) | mean tokens | tokens vs SFT | acc vs SFT (95% CI) "
        "| tokens vs GRPO | acc vs GRPO | Spearman ρ(k, tokens) |"
    )
    add("|---|---|---|---|---|---|---|---|")
    for name, s in results["models"].items():
        o = s["overall"]
        c = results["comparisons"].get(name, {})
        vs, vg = c.get("vs_sft"), c.get("vs_grpo")
        tok_sft = acc_sft = tok_grpo = acc_grpo = "—"
        if vs:
            lo, hi = vs["accuracy_delta_ci95_pts"]
            tok_sft = _signed(-vs["token_reduction"])
            acc_sft = f"{vs['accuracy_delta_pts']:+.1f} pt ({lo:+.1f}, {hi:+.1f})"
        if vg:
            tok_grpo = _signed(-vg["token_reduction"])
            acc_grpo = f"{vg['accuracy_delta_pts']:+.1f} pt"
        add(
            f"| {name} | {o['accuracy']:.3f} ({o['ci95'][0]:.3f}–{o['ci95'][1]:.3f}) "
            f"| {o['mean_tokens']:.1f} | {tok_sft} | {acc_sft} | {tok_grpo} | {acc_grpo} "
            f"| {s['spearman_problems']:.3f} (per-k means {s['spearman_k_means']:.3f}) |"
        )
    add("")
    add("Per difficulty bin — accuracy / mean tokens:")
    add("")
    add("| model | " + " | ".join(bins) + " |")
    add("|---|" + "---|" * len(bins))
    for name, s in results["models"].items():
        cells = [f"{b['accuracy']:.2f} / {b['mean_tokens']:.0f}" for b in s["bins"]]
        add(f"| {name} | " + " | ".join(cells) + " |")
    add("")
    if results.get("targets"):
        add("Targets (rules fixed before the run):")
        add("")
        for name, t in results["targets"].items():
            figures = {
                k: round(v, 4) if isinstance(v, float) else v
                for k, v in t.items()
                if k not in ("rule", "met")
            }
            add(f"- **{name}**: {'met' if t['met'] else 'NOT met'} — rule `{t['rule']}`; {figures}")
        add("")
    if "hbpo" in results["models"]:
        add("HBPO, natural mode — budget token it emits, share per bin:")
        add("")
        add("| budget | " + " | ".join(bins) + " |")
        add("|---|" + "---|" * len(bins))
        hb = results["models"]["hbpo"]["bins"]
        keys = sorted({k for b in hb for k in b["budget"]}, key=lambda k: (k == "None", k.zfill(6)))
        for key in keys:
            cells = [_pct(b["budget"].get(key, 0) / b["n"]) for b in hb]
            add(f"| {'none' if key == 'None' else '<b' + key + '>'} | " + " | ".join(cells) + " |")
        add("")
    add("Reasoning style per bin (share of responses), natural mode:")
    add("")
    add("| model | " + " | ".join(bins) + " |")
    add("|---|" + "---|" * len(bins))
    for name, s in results["models"].items():
        cells = []
        for b in s["bins"]:
            top = sorted(b["style"].items(), key=lambda kv: -kv[1])[:2]
            cells.append(", ".join(f"{st} {_pct(c / b['n'])}" for st, c in top))
        add(f"| {name} | " + " | ".join(cells) + " |")
    add("")
    add("Style gate of the SFT model (teacher-forced: right state digits and answer, per bin):")
    add("")
    add("| style | " + " | ".join(bins) + " |")
    add("|---|" + "---|" * len(bins))
    for style, accs in results["style_gate"].items():
        add(f"| {style} | " + " | ".join(f"{a:.2f}" for a in accs) + " |")
    add("")
    add("Rollout length during RL (tokens; first → last step; mean ± std; hardest quarter of k):")
    add("")
    add(
        "| method | mean ± std, first | mean ± std, last | min of mean | hard-k mean first → last "
        "| s/step |"
    )
    add("|---|---|---|---|---|---|")
    for name, d in results["training"].items():
        m, sd, hard = d["len_mean"], d["len_std"], d["len_hard_mean"]
        if not m:
            continue
        add(
            f"| {name} | {m[0]:.1f} ± {sd[0]:.1f} | {m[-1]:.1f} ± {sd[-1]:.1f} | {min(m):.1f} "
            f"| {hard[0] or float('nan'):.1f} → {hard[-1] or float('nan'):.1f} "
            f"| {d['seconds_per_step']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m hakaru.hbpo.summary RESULTS.json", file=sys.stderr)
        raise SystemExit(2)
    print(markdown_summary(json.loads(Path(args[0]).read_text())), end="")


if __name__ == "__main__":
    main()
