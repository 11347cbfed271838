"""Decomposition on the real tiny model: tree-sum at fan-in 2, 4 and 8 against one call, over n.

For each n (2 … 256) and variant, ``--runs`` instances (seeds 0 …) of tree-sum (leaves 0 … 9,
``leaf_max`` 9, the distribution the model was trained for) run on ``--backend neural --model
neural-sum`` (the committed weights, greedy) through hakaru's own workload, session and backend.
Recorded: end-to-end accuracy, calls and AALP cost per run, and why a run failed (a step flagged
ten times, or a prompt beyond the context). The predictions beside each tree row assume every
call must be right and errors are independent:

- ``Π a_k``: the model's per-call accuracy a_k on k numbers, measured on ``--calls`` held-out
  calls (:func:`hakaru.neural.data.held_out`, all tree levels mixed), compounded over the tree's
  calls (a call of k numbers counts a_k: f, or fewer for the last group of a level);
- ``Π a_{k,m}``: per-call accuracy measured for each kind of call the tree makes — k numbers,
  each the sum of m leaves (``--calls`` calls per kind) — compounded over its calls.

The single call reads at most 16 numbers (the model's context); at larger n the backend refuses
the prompt (ContextOverflow) and the run counts as a failure. Measured on a model (its errors
come from training), not exact by construction.

Run: ``python experiments/neural/decomposition.py [--runs 20] [--out experiments/neural]``
(writes decomposition.json, decomposition.md and decomposition.png).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
from pathlib import Path
from typing import Any

from hakaru.demo import measure_tree_sum
from hakaru.neural.backend import NeuralBackend
from hakaru.neural.data import LEAF_MAX, Example, held_out
from hakaru.patterns.tree_reduce import tree_shape
from hakaru.tasks import task_kind
from hakaru.workloads.tree_sum import TreeSum

NS = (2, 4, 8, 16, 32, 64, 128, 256)
FAN_INS = (2, 4, 8)


async def accuracy_on(backend: NeuralBackend, examples: list[Example]) -> float:
    kind = task_kind("sum")
    reqs = [kind.request("neural-sum", {"numbers": list(ex.numbers)}) for ex in examples]
    out = await asyncio.gather(*(backend.complete(r) for r in reqs))
    return sum(r.text == f"sum = {ex.answer}" for r, ex in zip(out, examples, strict=True)) / len(
        examples
    )


async def per_call_accuracy(backend: NeuralBackend, k: int, count: int) -> float:
    """a_k: held-out calls of k numbers, all tree levels mixed."""
    examples = held_out(count * k, max_numbers=k)
    return await accuracy_on(backend, [ex for ex in examples if len(ex.numbers) == k][:count])


async def kind_accuracy(backend: NeuralBackend, k: int, m: int, count: int) -> float:
    """a_{k,m}: calls of k numbers, each the sum of m leaves of 0..9."""
    examples = []
    for i in range(count):
        leaves = TreeSum.numbers(k * m, 2 * 10**9 + 10**6 * k + 1000 * i + m, LEAF_MAX)
        examples.append(Example(tuple(sum(leaves[j * m : (j + 1) * m]) for j in range(k))))
    return await accuracy_on(backend, examples)


def tree_calls(n: int, fan_in: int) -> list[tuple[int, int]]:
    """(k, m) of every call of tree-sum's tree (:func:`hakaru.patterns.tree_reduce`: groups of
    consecutive nodes, a lone node carried up): k numbers, the largest the sum of m leaves."""
    calls, level = [], [1] * n
    while len(level) > 1:
        groups = [level[i : i + fan_in] for i in range(0, len(level), fan_in)]
        calls += [(len(g), max(g)) for g in groups if len(g) > 1]
        level = [sum(g) for g in groups]
    return calls


async def main_async(runs: int, calls: int) -> dict[str, Any]:
    backend = NeuralBackend(threads=1)
    accuracy = {k: await per_call_accuracy(backend, k, calls) for k in range(2, max(FAN_INS) + 1)}
    kinds = sorted({c for n in NS for f in FAN_INS for c in tree_calls(n, f)})
    by_kind = {c: await kind_accuracy(backend, *c, calls) for c in kinds}
    print(json.dumps({"per_call_accuracy": accuracy}), flush=True)
    rows = []
    for n in NS:
        variants = [("single", 0)] + [("tree", f) for f in FAN_INS]
        for variant, f in variants:
            fan = f or 2
            row = await measure_tree_sum(backend, variant, n, fan, runs)
            if variant == "tree":
                made = tree_calls(n, f)
                assert len(made) == sum(tree_shape(n, f))
                row["predicted"] = math.prod(accuracy[k] for k, _ in made)
                row["predicted_kinds"] = math.prod(by_kind[c] for c in made)
            rows.append(row)
            print(json.dumps(row), flush=True)
    await backend.aclose()
    return {
        "runs": runs,
        "calls": calls,
        "per_call_accuracy": accuracy,
        "per_kind_accuracy": [{"k": k, "m": m, "accuracy": a} for (k, m), a in by_kind.items()],
        "rows": rows,
    }


def table(data: dict[str, Any]) -> str:
    lines = [
        "| n | variant | accuracy | predicted Π a_k | predicted Π a_{k,m} "
        "| mean calls | mean AALP (m = params/1e9) | failed runs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in data["rows"]:
        pred = f"{r['predicted']:.3f}" if "predicted" in r else ""
        pred_l = f"{r['predicted_kinds']:.3f}" if "predicted_kinds" in r else ""
        calls = f"{r['calls']:.1f}" if r["calls"] is not None else "—"
        aalp = f"{r['aalp_cost']:.3g}" if r["aalp_cost"] is not None else "—"
        failed = ", ".join(f"{v} {k}" for k, v in r.get("failed", {}).items())
        lines.append(
            f"| {r['n']} | {r['variant']} | {r['accuracy']:.3f} | {pred} | {pred_l} | {calls} "
            f"| {aalp} | {failed} |"
        )
    acc = ", ".join(f"a_{f} = {a:.3f}" for f, a in data["per_call_accuracy"].items())
    kinds = ", ".join(
        f"({c['k']}, {c['m']}) {c['accuracy']:.3f}" for c in data["per_kind_accuracy"]
    )
    return (
        f"Per-call accuracy (greedy, held-out, {data['calls']} calls each): {acc}. Per kind of "
        f"call (k numbers, of m leaves each): {kinds}. Runs per row: {data['runs']}.\n\n"
        + "\n".join(lines)
        + "\n"
    )


def plot(data: dict[str, Any], path: Path) -> None:
    """Accuracy (observed, and predicted Π a_k dashed) and mean AALP cost against n."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (acc_ax, cost_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    variants = dict.fromkeys(r["variant"] for r in data["rows"])
    for i, variant in enumerate(variants):
        rows = [r for r in data["rows"] if r["variant"] == variant]
        color = f"C{i}"
        acc_ax.plot(
            [r["n"] for r in rows],
            [r["accuracy"] for r in rows],
            "o-",
            color=color,
            label=f"{variant} observed",
        )
        if "predicted" in rows[0]:
            acc_ax.plot(
                [r["n"] for r in rows],
                [r["predicted"] for r in rows],
                "--",
                color=color,
                label=f"{variant} predicted Π a_k",
            )
        costed = [r for r in rows if r["aalp_cost"] is not None]
        cost_ax.plot(
            [r["n"] for r in costed],
            [r["aalp_cost"] for r in costed],
            "o-",
            color=color,
            label=variant,
        )
    for ax in (acc_ax, cost_ax):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("n (numbers to add)")
    acc_ax.set_ylabel("end-to-end accuracy")
    acc_ax.set_ylim(-0.02, 1.02)
    cost_ax.set_yscale("log")
    cost_ax.set_ylabel("mean AALP cost per run")
    acc_ax.legend(fontsize=7)
    cost_ax.legend(fontsize=7)
    fig.suptitle(f"tree-sum on neural-sum (measured, {data['runs']} runs per point)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--out", default=str(Path(__file__).parent))
    args = parser.parse_args()
    data = asyncio.run(main_async(args.runs, args.calls))
    out = Path(args.out)
    (out / "decomposition.json").write_text(json.dumps(data, indent=2) + "\n")
    (out / "decomposition.md").write_text(table(data))
    plot(data, out / "decomposition.png")
    print(table(data))


if __name__ == "__main__":
    main()
