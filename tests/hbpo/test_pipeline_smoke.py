"""The whole reproduction on a tiny model for a few steps: mechanics, not the scientific result.

One module-scoped run of ``hakaru train hbpo --preset smoke`` (SFT, GRPO, GRPO+cosine, HBPO,
evaluation, results and plots), then checks of what it wrote; plus the forced budget token in
sampling and the loss mask, and resuming from a checkpoint giving the same weights.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from hakaru.cli.main import main  # noqa: E402
from hakaru.hbpo import preset  # noqa: E402
from hakaru.hbpo.checkpoint import build_model, load, vocab_of  # noqa: E402
from hakaru.hbpo.model import sample  # noqa: E402
from hakaru.hbpo.trainer import rl_problems, train_rl  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("hbpo") / "run"
    main(["train", "hbpo", "--preset", "smoke", "--out", str(out), "--json", "--no-progress"])
    return out, json.loads((out / "results.json").read_text())


def test_pipeline_writes_results_and_plots(run: tuple[Path, dict[str, Any]]) -> None:
    out, results = run
    cfg = preset("smoke")
    for name in (
        "sft/sft.pt",
        "grpo/model.pt",
        "cosine/model.pt",
        "hbpo/model.pt",
        "results.json",
        "config.json",
        "accuracy_tokens.png",
        "training.png",
    ):
        assert (out / name).is_file(), name
    assert not list(out.rglob("ckpt.pt")) and not list(out.rglob("sft_ckpt.pt"))
    assert set(results["models"]) == {"sft", "grpo", "cosine", "hbpo", "sft@b4", "hbpo@b4"}
    n = cfg.eval_per_k * (cfg.k_max - cfg.k_min + 1)
    for summary in results["models"].values():
        assert summary["overall"]["n"] == n
        assert len(summary["bins"]) == 5 and sum(b["n"] for b in summary["bins"]) == n
        lo, hi = summary["overall"]["ci95"]
        assert 0.0 <= lo <= summary["overall"]["accuracy"] <= hi <= 1.0
    assert set(results["targets"]) == {"vs_sft", "vs_grpo", "spearman"}
    assert set(results["style_gate"]) == {"direct", "stride4", "stride2", "compact", "verbose"}
    assert results["config"] == cfg.to_dict()


def test_training_metrics_per_step(run: tuple[Path, dict[str, Any]]) -> None:
    _, results = run
    cfg = preset("smoke")
    for method in ("grpo", "cosine", "hbpo"):
        d = results["training"][method]
        assert len(d["len_mean"]) == len(d["len_std"]) == cfg.rl_steps
        assert all(1 <= m <= cfg.l_max for m in d["len_mean"])
        assert [v["step"] for v in d["val"]] == [0, 2, 3]
    per_budget = results["training"]["hbpo"]["per_budget"]
    assert len(per_budget) == cfg.rl_steps and set(per_budget[0]) == {"4", "8", "16", "20"}


def test_rollouts_force_the_budget_token() -> None:
    cfg = preset("smoke")
    vocab = vocab_of(cfg)
    torch.manual_seed(0)
    model = build_model(cfg)
    prompts = torch.tensor([vocab.prompt(p) for p in rl_problems(cfg, 0)])
    budget = vocab.budget_token(8)
    prefix = torch.cat([prompts, torch.full((len(prompts), 1), budget)], dim=1)
    roll = sample(
        model,
        prefix,
        1,
        cfg.l_max,
        eos=vocab.eos,
        pad=vocab.pad,
        generator=torch.Generator().manual_seed(0),
    )
    assert (roll.tokens[:, 0] == budget).all()  # the budget token starts the response
    assert (roll.lengths >= 1).all()  # and counts in its length
    assert (roll.logp[:, 0] < 0).all()  # it has a log-probability: it is in the loss
    after = torch.arange(cfg.l_max)[None, :] >= roll.lengths[:, None]
    assert (roll.tokens[after] == vocab.pad).all() and (roll.logp[after] == 0).all()


def test_resume_gives_the_same_weights(run: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    out, _ = run
    cfg = preset("smoke")
    sft = out / "sft" / "sft.pt"
    reference = load(out / "hbpo" / "model.pt")

    class Stop(Exception):
        pass

    def stop_at_last_step(line: str) -> None:  # the checkpoint of step 2 is written by now
        if line.startswith(f"hbpo step {cfg.rl_steps}/"):
            raise Stop

    with pytest.raises(Stop):
        train_rl(cfg, "hbpo", sft, tmp_path, log=stop_at_last_step, progress=False)
    assert load(tmp_path / "ckpt.pt")["step"] == 2
    lines: list[str] = []
    history = train_rl(cfg, "hbpo", sft, tmp_path, log=lines.append, progress=False)
    assert lines[0] == "hbpo: resuming at step 2"
    resumed = load(tmp_path / "model.pt")
    for key, value in reference["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    assert history["steps"] == reference["history"]["steps"] or all(
        {k: v for k, v in a.items() if not k.startswith("seconds")}
        == {k: v for k, v in b.items() if not k.startswith("seconds")}
        for a, b in zip(history["steps"], reference["history"]["steps"], strict=True)
    )
    shutil.rmtree(tmp_path)
