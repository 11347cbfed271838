"""The tiny neural model: training, the committed weights, counting, batching and bad input.

Everything here runs the real model (no fakes of it). The tests that need torch skip where it is
not installed; the one about its absence blocks it in a subprocess of its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hakaru.errors import ConfigError, ContextOverflow, RequestRejected
from hakaru.tasks import task_kind
from hakaru.types import Request

torch = pytest.importorskip("torch")

from hakaru.backends.base import create_backend  # noqa: E402
from hakaru.neural.backend import NeuralBackend  # noqa: E402
from hakaru.neural.train import TrainConfig, build, evaluate, k_max, train  # noqa: E402
from hakaru.neural.weights import default_weights, load_card, load_weights, save_weights  # noqa: E402

SUM = task_kind("sum")


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def request(numbers: list[int], **kw: object) -> Request:
    return SUM.request("neural-sum", {"numbers": numbers}, **kw)  # type: ignore[arg-type]


def test_training_smoke_loss_falls() -> None:
    cfg = TrainConfig(steps=40, minutes=5, held_out=0, n_embd=32, n_layer=2)
    result = train(cfg, log_every=10)
    assert result.steps == 40
    assert len(result.losses) == 4
    assert result.losses[-1] < result.losses[0] - 0.2


def test_committed_weights_reach_their_card_accuracy() -> None:
    path = default_weights("sum")
    card = load_card(path)
    model = load_weights(path, "sum")
    held = card["held_out"]
    accuracy = evaluate(model, held["examples"], held["max_numbers"])
    assert abs(accuracy - held["accuracy"]) <= 0.01
    assert card["steps"] > 0 and card["parameters"] == model.n_params()


def test_counts_equal_a_hand_computation() -> None:
    backend = NeuralBackend(max_wait=0)
    response = asyncio.run(backend.complete(request([12, 345])))
    # <bos>, 2 numbers of 4 digits, '+' and '=': 1 + 2·5 = 11 prompt tokens; 4 answer digits
    # and <eos>: 5 response tokens, so 5 forward passes (prefill + 4 fed-back tokens).
    assert response.finish_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (11, 5)
    work = backend.work
    assert (work.batches, work.forward_passes) == (1, 5)
    assert work.positions == work.positions_cached == 11 + 4
    assert work.positions_uncached == sum(11 + j for j in range(5)) == 65


async def _answers(backend: NeuralBackend, reqs: list[Request], together: bool) -> list[str]:
    if together:
        return [r.text for r in await asyncio.gather(*(backend.complete(q) for q in reqs))]
    return [(await backend.complete(q)).text for q in reqs]


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_batching_gives_the_answers_of_one_by_one(temperature: float) -> None:
    reqs = [
        request([7 * i + j for j in range(1 + i % 5)], temperature=temperature, seed=3)
        for i in range(30)
    ]
    batched, single = NeuralBackend(max_wait=0.05), NeuralBackend(max_wait=0)
    together = asyncio.run(_answers(batched, reqs, together=True))
    alone = asyncio.run(_answers(single, reqs, together=False))
    assert together == alone
    assert batched.work.batches == 5  # one group per prompt length (1..5 numbers)
    assert single.work.batches == 30
    assert batched.work.forward_passes < single.work.forward_passes / 5


def test_missing_weights_say_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="hakaru neural train sum"):
        NeuralBackend(weights=tmp_path / "none.pt")


def test_corrupt_weights_say_how_to_train(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(default_weights("sum").read_bytes()[:1000])
    with pytest.raises(ConfigError, match=r"corrupt or unreadable.*hakaru neural train sum"):
        NeuralBackend(weights=bad)


def test_weights_for_another_task_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "hanoi.pt"
    save_weights(other, build(TrainConfig(n_embd=32, n_layer=1)), "hanoi", {})
    with pytest.raises(ConfigError, match="trained for task 'hanoi', not 'sum'"):
        NeuralBackend(weights=other)


def test_weights_of_another_vocabulary_are_refused(tmp_path: Path) -> None:
    old = tmp_path / "old.pt"
    model = build(TrainConfig(n_embd=32, n_layer=1))
    model = type(model)(type(model.cfg)(15, model.cfg.block_size, 1, 4, 32))  # 15 tokens
    save_weights(old, model, "sum", {})
    with pytest.raises(ConfigError, match="15-token vocabulary.*hakaru neural train sum"):
        NeuralBackend(weights=old)


def test_prompt_longer_than_the_context_overflows() -> None:
    backend = NeuralBackend()
    with pytest.raises(ContextOverflow, match="Add fewer numbers per call"):
        asyncio.run(backend.complete(request(list(range(17)))))
    with pytest.raises(RequestRejected, match="task kind 'sum'"):
        asyncio.run(backend.complete(Request.chat("neural-sum", "hello")))
    with pytest.raises(RequestRejected, match="from 0 to 9999"):
        asyncio.run(backend.complete(request([10**4])))


def test_registry_builds_it_lazily() -> None:
    backend = create_backend("neural", seed=1)
    assert isinstance(backend, NeuralBackend)
    spec = backend.model_spec("neural-sum")
    assert spec is not None and spec.context_window == backend.net.cfg.block_size


def hakaru(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HAKARU_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "hakaru.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )


def test_cli_trains_and_writes_a_card(tmp_path: Path) -> None:
    out = tmp_path / "sum.pt"
    p = hakaru("neural", "train", "sum", "--steps", "5", "--held-out", "16", "--out", str(out))
    assert p.returncode == 0, p.stderr
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["steps"] == 5 and card["held_out"]["examples"] == 16
    assert "neural train sum --steps 5" in card["command"]
    assert isinstance(load_weights(out, "sum"), torch.nn.Module)


def test_cli_runs_tree_sum_on_the_model() -> None:
    p = hakaru(
        "run", "tree-sum", "--backend", "neural", "--n", "8", "--leaf-max", "9", "--no-store",
        "--json",
    )  # fmt: skip
    if p.returncode != 0:  # the model's answers may be flagged until a step fails: its errors
        assert p.stderr.startswith("Error: ") and len(p.stderr.strip().splitlines()) == 1
        return
    result = json.loads(p.stdout)
    assert result["calls"] >= 3 and result["input_tokens"] >= 2 * 21 + 11  # 2 + 1 calls at f = 4


def test_cli_sweeps_tree_sum_on_the_model(tmp_path: Path) -> None:
    p = hakaru(
        "sweep", "tree-sum", "--backend", "neural", "--param", "n=4,8", "--param", "leaf_max=9",
        "--variant", "tree", "--store", str(tmp_path / "runs.db"), "--json",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    points = json.loads(p.stdout)["points"]
    assert sorted(pt["params"]["n"] for pt in points) == [4, 8]


def test_sim_serve_neural_answers_over_http() -> None:
    """A program calls the model over HTTP: the OpenAI-compatible server in another process,
    and hakaru's own openai backend running tree-sum against it."""
    sys.path.insert(0, str(Path(__file__).parent / "proxy"))
    from proxy_servers import spawn, stop

    proc, url = spawn("sim", "serve", "--neural", "--port", "0")
    try:
        body = json.dumps(
            {
                "model": "neural-sum",
                "messages": [{"role": "user", "content": "Add these numbers: 2, 3"}],
            }
        ).encode()
        req = urllib.request.Request(
            url + "/chat/completions", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=60) as reply:
            answer = json.loads(reply.read())
        assert answer["choices"][0]["message"]["content"].startswith("sum = ")
        assert answer["usage"]["prompt_tokens"] == 11  # <bos> 2 0 0 0 + 3 0 0 0 =
        assert answer["usage"]["completion_tokens"] <= 5
        bad = urllib.request.Request(
            url + "/chat/completions",
            data=json.dumps(
                {"model": "neural-sum", "messages": [{"role": "user", "content": "hi"}]}
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:  # not a 'sum' prompt: 400
            urllib.request.urlopen(bad, timeout=60)
        assert refused.value.code == 400
        assert "task kind 'sum'" in json.loads(refused.value.read())["error"]["message"]
        with urllib.request.urlopen(url + "/models", timeout=60) as reply:
            assert [m["id"] for m in json.loads(reply.read())["data"]] == ["neural-sum"]
        p = hakaru(
            "run", "tree-sum", "--backend", "openai", "--base-url", url, "--api-key", "x",
            "--model", "neural-sum", "--n", "8", "--leaf-max", "9", "--no-store", "--json",
        )  # fmt: skip
        if p.returncode == 0:
            assert json.loads(p.stdout)["calls"] >= 3
        else:  # the model's own errors: a step flagged ten times
            assert p.stderr.startswith("Error: ") and len(p.stderr.strip().splitlines()) == 1
    finally:
        stop(proc)


def test_demo_neural_row_measures_both_designs() -> None:
    from hakaru.demo import run_neural_row

    rows = asyncio.run(run_neural_row((4, 32), runs=2))
    assert [(r["n"], r["variant"]) for r in rows] == [
        (4, "single"), (4, "tree f=2"), (32, "single"), (32, "tree f=2")
    ]  # fmt: skip
    assert rows[2]["failed"] == {"ContextOverflow": 2}  # 32 numbers: beyond its context
    assert rows[2]["calls"] is None and rows[2]["accuracy"] == 0
    assert rows[3]["calls"] is None or rows[3]["calls"] >= 31  # the tree's calls, or more


def test_cli_unknown_model_is_one_line() -> None:
    p = hakaru("run", "tree-sum", "--backend", "neural", "--model", "neural-chess", "--no-store")
    assert p.returncode == 2
    assert p.stderr.strip() == (
        "Error: Unknown neural model 'neural-chess'. Choose one of: neural-hanoi, neural-sum."
    )


def test_curriculum_grows_k_max_from_two_to_eight() -> None:
    cfg = TrainConfig(curriculum=0.5)
    assert [k_max(cfg, done) for done in (0.0, 0.25, 0.5, 0.9)] == [2, 5, 8, 8]
    assert k_max(TrainConfig(curriculum=0), 0.0) == 8
