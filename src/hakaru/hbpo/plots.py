"""The reproduction's two figures, drawn from ``results.json`` alone (matplotlib, Agg).

``accuracy_tokens.png`` — per difficulty bin: accuracy with its 95 % interval, mean tokens, and
the budget HBPO announces; ``training.png`` — rollout length mean ± std per RL step for each
method (the paper's "exploration collapse" diagnostic), the hardest bin's mean length, and
validation accuracy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot_results"]


def plot_results(results: dict[str, Any], out: str | Path) -> list[Path]:
    """Write the figures into ``out``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    labels = [f"{lo}-{hi}" if lo != hi else f"{lo}" for lo, hi in results["bins"]]
    x = list(range(len(labels)))
    models = results["models"]
    paths = []

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    width = 0.8 / max(1, len(models))
    for i, (name, s) in enumerate(models.items()):
        acc = [b["accuracy"] for b in s["bins"]]
        err = [
            [b["accuracy"] - b["ci95"][0] for b in s["bins"]],
            [b["ci95"][1] - b["accuracy"] for b in s["bins"]],
        ]
        xs = [v + (i - (len(models) - 1) / 2) * width for v in x]
        axes[0].errorbar(xs, acc, yerr=err, fmt="o-", capsize=3, label=name, ms=4)
        axes[1].plot(x, [b["mean_tokens"] for b in s["bins"]], "o-", label=name, ms=4)
    axes[0].set(title="accuracy (95% CI)", xlabel="difficulty k", ylabel="accuracy", ylim=(0, 1.02))
    axes[1].set(title="mean response tokens", xlabel="difficulty k", ylabel="tokens")
    for ax in axes[:2]:
        ax.set_xticks(x, labels)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    if "hbpo" in models:
        keys = sorted(
            {k for b in models["hbpo"]["bins"] for k in b["budget"]},
            key=lambda k: (k == "None", int(k) if k.isdigit() else 0),
        )
        bottom = [0.0] * len(x)
        for key in keys:
            share = [b["budget"].get(key, 0) / b["n"] for b in models["hbpo"]["bins"]]
            name = "none" if key == "None" else f"<b{key}>"
            axes[2].bar(x, share, bottom=bottom, label=name)
            bottom = [a + b for a, b in zip(bottom, share, strict=True)]
        axes[2].set(
            title="HBPO: budget announced (natural mode)",
            xlabel="difficulty k",
            ylabel="share of responses",
        )
        axes[2].set_xticks(x, labels)
        axes[2].legend(fontsize=8)
    fig.tight_layout()
    path = out / "accuracy_tokens.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for name, d in results["training"].items():
        steps = list(range(1, len(d["len_mean"]) + 1))
        mean, std = d["len_mean"], d["len_std"]
        line = axes[0].plot(steps, mean, label=name)[0]
        axes[0].fill_between(
            steps,
            [m - s for m, s in zip(mean, std, strict=True)],
            [m + s for m, s in zip(mean, std, strict=True)],
            alpha=0.15,
            color=line.get_color(),
        )
        hard = [v if v is not None else float("nan") for v in d["len_hard_mean"]]
        axes[1].plot(steps, hard, label=name, color=line.get_color())
        axes[2].plot(
            [v["step"] for v in d["val"]],
            [v["accuracy"] for v in d["val"]],
            "o-",
            label=name,
            color=line.get_color(),
            ms=3,
        )
    axes[0].set(title="rollout length, mean ± std", xlabel="RL step", ylabel="tokens")
    axes[1].set(title="rollout length, hardest quarter of k", xlabel="RL step", ylabel="tokens")
    axes[2].set(title="validation accuracy (greedy)", xlabel="RL step", ylabel="accuracy")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / "training.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)
    return paths
