"""``neural-hanoi``: its tokenizer, the committed weights, batching, and MAKER on it.

The real model runs everywhere here (no fakes of it); the tests skip where torch is missing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hakaru.errors import RequestRejected
from hakaru.mdap.hanoi import HANOI_KIND, parse_flag
from hakaru.mdap.hanoi.rules import move_at, state_at
from hakaru.types import Request

torch = pytest.importorskip("torch")

from tests.test_neural import hakaru  # noqa: E402  (the CLI in a subprocess)

from hakaru.neural.backend import NeuralBackend  # noqa: E402
from hakaru.neural.hanoi_data import (  # noqa: E402
    HanoiStep,
    HanoiTokenizer,
    evaluate_hanoi,
    hanoi_held_out,
)
from hakaru.neural.train import TrainConfig, train  # noqa: E402
from hakaru.neural.weights import default_weights, load_card, load_weights  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def step_request(disks: int, t: int, **kw: object) -> Request:
    payload = HANOI_KIND.payload(disks, state_at(disks, t), None if t == 0 else move_at(disks, t))
    return Request(messages=HANOI_KIND.messages(payload), model="neural-hanoi", **kw)  # type: ignore[arg-type]


def test_tokenizer_writes_what_the_strict_parser_reads() -> None:
    tok = HanoiTokenizer()
    for step in hanoi_held_out(40):
        text = tok.answer_text(tok.encode_answer(step.answer), step.disks)
        assert parse_flag(text, step.disks) == step.answer
        assert len(tok.encode_step(step)) == tok.prompt_length(step.disks)
    with pytest.raises(Exception, match="next_state|move"):
        parse_flag(tok.answer_text([tok.disk(1), 0, 1, tok.eos], 4), 4)  # too short: flagged


def test_training_smoke_loss_falls() -> None:
    cfg = TrainConfig(task="hanoi", steps=40, minutes=5, held_out=0, n_embd=32, n_layer=2)
    result = train(cfg, log_every=10)
    assert result.steps == 40 and len(result.losses) == 4
    assert result.losses[-1] < result.losses[0] - 0.3


def test_committed_weights_reach_their_card_accuracy() -> None:
    path = default_weights("hanoi")
    card = load_card(path)
    model = load_weights(path, "hanoi")
    held = card["held_out"]
    accuracy, by_disks = evaluate_hanoi(model, held["examples"])
    assert abs(accuracy - held["accuracy"]) <= 0.01
    assert set(by_disks) == set(range(3, 11))
    assert card["parameters"] == model.n_params() and card["task"] == "hanoi"


def test_counts_are_the_models_tokens() -> None:
    backend = NeuralBackend("neural-hanoi", max_wait=0)
    response = asyncio.run(backend.complete(step_request(6, 5, temperature=0.0)))
    # prompt: <bos>, N, the previous move (3), the peg of 6 disks, '='; answer: 3 + 6 + <eos>
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 10)
    assert backend.work.forward_passes == 10 and backend.work.positions == 12 + 9
    assert parse_flag(response.text, 6) == HANOI_KIND.solve(
        HANOI_KIND.payload(6, state_at(6, 5), move_at(6, 5))
    )


async def _answers(backend: NeuralBackend, reqs: list[Request], together: bool) -> list[str]:
    if together:
        return [r.text for r in await asyncio.gather(*(backend.complete(q) for q in reqs))]
    return [(await backend.complete(q)).text for q in reqs]


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_batching_gives_the_answers_of_one_by_one(temperature: float) -> None:
    reqs = [step_request(3 + i % 4, i % 7, temperature=temperature, seed=5) for i in range(32)]
    batched, single = (
        NeuralBackend("neural-hanoi", max_wait=0.05),
        NeuralBackend("neural-hanoi", max_wait=0),
    )
    together = asyncio.run(_answers(batched, reqs, together=True))
    alone = asyncio.run(_answers(single, reqs, together=False))
    assert together == alone
    assert batched.work.batches == 4  # one group per number of disks (prompt length)
    assert single.work.batches == 32


def test_other_prompts_and_sizes_are_refused() -> None:
    backend = NeuralBackend("neural-hanoi", max_wait=0)
    with pytest.raises(RequestRejected, match="hanoi-step"):
        asyncio.run(backend.complete(Request.chat("neural-hanoi", "Add these numbers: 1, 2")))
    with pytest.raises(RequestRejected, match="3 to 10 disks"):
        asyncio.run(backend.complete(step_request(12, 3)))


def test_step_is_the_one_the_prompt_asks_for() -> None:
    tok = HanoiTokenizer()
    step = HanoiStep(4, (1, 0, 1), ((4, 3, 2), (1,), ()))
    assert tok.decode(tok.encode_step(step)) == "<bos> N4 d1 0 1 1 0 0 0 ="


def test_cli_maker_calibrate_on_the_model() -> None:
    p = hakaru(
        "maker", "calibrate", "--backend", "neural", "--disks", "6", "--samples", "60",
        "--no-store", "--json",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    (row,) = json.loads(p.stdout)["models"]
    assert row["model"] == "neural-hanoi" and row["samples"] == 60
    assert row["p_hat"] is not None and 0.5 < row["p_hat"] <= 1.0
    assert row["in_tokens"] == 12 and row["out_tokens"] == 10  # N + 6 in, N + 4 out


def test_cli_maker_run_on_the_model() -> None:
    p = hakaru("maker", "run", "--backend", "neural", "--disks", "4", "--k", "2", "--no-store",
               "--json")  # fmt: skip
    if p.returncode != 0:  # the model may vote a wrong step: then the run says so, exit 1
        assert p.returncode == 1 and json.loads(p.stdout)["solved"] is False, p.stderr
        return
    result = json.loads(p.stdout)
    assert result["solved"] and result["model"] == "neural-hanoi"
    assert result["calls"] >= 2 * 15


def test_cli_maker_neural_refuses_a_base_url() -> None:
    p = hakaru("maker", "run", "--backend", "neural", "--disks", "4", "--base-url", "http://x",
               "--no-store")  # fmt: skip
    assert p.returncode != 0 and "--base-url" in p.stderr


def test_voting_experiment_quick(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[1] / "experiments" / "neural" / "voting.py"
    p = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert p.returncode == 0, p.stderr
    data = json.loads((tmp_path / "voting-quick.json").read_text())
    assert data["disks"] == [4, 5] and data["ks"][0] == 1
    assert len(data["runs"]) == 2 * len(data["ks"]) * 2  # two schedules, two N
    for row in data["runs"]:
        assert 0.0 <= row["observed"] <= 1.0 and 0.0 <= row["predicted"] <= 1.0
        assert row["solved"] == round(row["observed"] * row["runs"])
    assert {tuple(s["schedule"]) for s in data["schedules"]} >= {(0.0, 0.1), (1.0, 1.0)}
    assert "## Verdicts" in (tmp_path / "voting-quick.md").read_text()


def test_sum_weights_are_refused_for_hanoi() -> None:
    from hakaru.errors import ConfigError

    with pytest.raises(ConfigError, match="trained for task 'sum'.*neural-sum"):
        NeuralBackend("neural-hanoi", weights=default_weights("sum"))
