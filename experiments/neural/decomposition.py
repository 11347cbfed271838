"""Decomposition on the real tiny model: tree-sum at fan-in 2, 4 and 8 against one call, over n.

For each n (2 … 256) and variant, ``--runs`` instances (seeds 0 …) of tree-sum run on
``--backend neural --model neural-sum`` (the committed weights, greedy). Recorded: end-to-end
accuracy, calls and AALP cost per run. The prediction beside each tree row: the model's
per-call accuracy a_f, measured on ``--calls`` held-out calls of f numbers
(:func:`hakaru.neural.data.held_out`, all tree levels mixed), compounded over the tree's calls
— a_f ** calls(n, f), i.e. assuming every call must be right and errors are independent. The
single call reads at most 16 numbers (the model's context); larger n overflow and count as
failures. Measured on a model (its errors come from training), not exact by construction.

Run: ``python experiments/neural/decomposition.py [--runs 20] [--out experiments/neural]``
(writes decomposition.json and decomposition.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from hakaru.errors import HakaruError
from hakaru.neural.backend import NeuralBackend
from hakaru.neural.data import held_out
from hakaru.patterns.tree_reduce import tree_shape
from hakaru.runner import run_workload
from hakaru.tasks import task_kind

NS = (2, 4, 8, 16, 32, 64, 128, 256)
FAN_INS = (2, 4, 8)


async def per_call_accuracy(backend: NeuralBackend, fan_in: int, count: int) -> float:
    kind = task_kind("sum")
    examples = held_out(count * fan_in, max_numbers=fan_in)
    examples = [ex for ex in examples if len(ex.numbers) == fan_in][:count]
    reqs = [kind.request("neural-sum", {"numbers": list(ex.numbers)}) for ex in examples]
    out = await asyncio.gather(*(backend.complete(r) for r in reqs))
    return sum(r.text == f"sum = {ex.answer}" for r, ex in zip(out, examples, strict=True)) / len(
        examples
    )


async def one(
    backend: NeuralBackend, variant: str, n: int, fan_in: int, seed: int
) -> dict[str, Any]:
    try:
        outcome = await run_workload(
            "tree-sum",
            variant=variant,
            params={"n": n, "fan_in": fan_in},
            backend=backend,
            model="neural-sum",
            seed=seed,
            store=None,
        )
    except HakaruError:  # a step that failed (flagged 10 times, context overflow): wrong
        return {"correct": False, "calls": None, "aalp": None}
    return {
        "correct": bool(outcome.result.correct),
        "calls": outcome.totals["calls"],
        "aalp": outcome.totals["aalp_cost"],
    }


async def main_async(runs: int, calls: int) -> dict[str, Any]:
    backend = NeuralBackend(threads=1)
    accuracy = {f: await per_call_accuracy(backend, f, calls) for f in FAN_INS}
    rows = []
    for n in NS:
        variants = [("single", 0)] + [("tree", f) for f in FAN_INS]
        for variant, f in variants:
            fan = f or 2
            results = await asyncio.gather(
                *(one(backend, variant, n, fan, seed) for seed in range(runs))
            )
            ok = [r for r in results if r["calls"] is not None]
            row = {
                "n": n,
                "variant": variant if variant == "single" else f"tree f={f}",
                "accuracy": sum(r["correct"] for r in results) / runs,
                "mean_calls": sum(r["calls"] for r in ok) / len(ok) if ok else None,
                "mean_aalp": sum(r["aalp"] for r in ok) / len(ok) if ok else None,
            }
            if variant == "tree":
                tree_calls = sum(tree_shape(n, f))
                row["predicted"] = accuracy[f] ** tree_calls
            rows.append(row)
            print(json.dumps(row), flush=True)
    await backend.aclose()
    return {"runs": runs, "per_call_accuracy": accuracy, "rows": rows}


def table(data: dict[str, Any]) -> str:
    lines = [
        "| n | variant | accuracy | predicted (a_f^calls) | mean calls | mean AALP (m = params/1e9) |",
        "|---|---|---|---|---|---|",
    ]
    for r in data["rows"]:
        pred = f"{r['predicted']:.3f}" if "predicted" in r else ""
        calls = f"{r['mean_calls']:.1f}" if r["mean_calls"] is not None else "—"
        aalp = f"{r['mean_aalp']:.0f}" if r["mean_aalp"] is not None else "—"
        lines.append(
            f"| {r['n']} | {r['variant']} | {r['accuracy']:.3f} | {pred} | {calls} | {aalp} |"
        )
    acc = ", ".join(f"a_{f} = {a:.3f}" for f, a in data["per_call_accuracy"].items())
    return (
        f"Per-call accuracy (greedy, held-out): {acc}. Runs per row: {data['runs']}.\n\n"
        + "\n".join(lines)
        + "\n"
    )


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
    print(table(data))


if __name__ == "__main__":
    main()
