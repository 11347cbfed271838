"""The rollout partition and the config: shapes, and the exact error messages for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hakaru.errors import ConfigError
from hakaru.hbpo import (
    Config,
    check_budgets,
    check_partition,
    group_budgets,
    preset,
    rollout_budgets,
)
from hakaru.hbpo.task import Problem, Vocab, chain, classify, difficulty_bins, style_tokens

BUDGETS = (512, 1024, 2048, 2560)


def error(fn: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as err:
        fn(*args, **kwargs)  # type: ignore[operator]
    return str(err.value)


def test_rollouts_split_evenly_in_budget_order() -> None:
    assert rollout_budgets(BUDGETS, 16) == [512] * 4 + [1024] * 4 + [2048] * 4 + [2560] * 4
    batch = group_budgets(BUDGETS, 16, 3, l_max=4096)
    assert len(batch) == 48
    for g in range(3):
        check_partition(batch[g * 16 : (g + 1) * 16], BUDGETS)
    # the paper's 6-budget ablation gives some budgets more rollouts: an explicit partition
    six = (512, 1024, 1536, 2048, 2560, 3072)
    assert rollout_budgets(six, 16, (2, 2, 4, 4, 2, 2)).count(1536) == 4


def test_group_size_not_divisible() -> None:
    assert error(rollout_budgets, BUDGETS, 10) == (
        "group_size 10 is not divisible by the 4 budgets. Give a multiple of 4 so that every "
        "budget gets the same number of rollouts (or list them in budget_counts)."
    )
    assert error(Config, group_size=10) == error(rollout_budgets, (16, 32, 64, 80), 10)


def test_not_a_partition() -> None:
    expected = (
        "budget_counts (4, 4, 4) are not a partition of the 16 rollouts of a group over 4 "
        "budgets. Give one count > 0 per budget, summing to group_size."
    )
    assert error(rollout_budgets, BUDGETS, 16, (4, 4, 4)) == expected
    assert error(Config, budget_counts=(4, 4, 4)) == expected.replace(" (4, 4, 4)", " (4, 4, 4)")
    assert "(8, 8, 8, 8) are not a partition of the 16" in error(
        rollout_budgets, BUDGETS, 16, (8, 8, 8, 8)
    )
    assert error(check_partition, [512, 512, 1024, 512], (512, 1024)) == (
        "The rollouts' budgets [512, 512, 1024, 512] are not a partition over the budgets "
        "(512, 1024): budget 512 has 3 rollouts, expected 2."
    )
    assert error(check_partition, [512, 999], (512, 1024)) == (
        "The rollouts' budgets [512, 999] are not a partition over the budgets (512, 1024): "
        "999 is not one of them."
    )


@pytest.mark.parametrize(
    ("budgets", "message"),
    [
        ((0, 32), "Budget 0 is not positive. Give every budget as a number of tokens > 0."),
        ((-16, 32), "Budget -16 is not positive. Give every budget as a number of tokens > 0."),
        ((16, 200), "Budget 200 is above the window l_max = 128 tokens. Give budgets <= l_max."),
        (
            (32, 16),
            "Budgets (32, 16) are not strictly ascending. List each budget once, smallest first.",
        ),
        ((), "No budgets given. Give at least one budget in tokens."),
    ],
)
def test_bad_budgets(budgets: tuple[int, ...], message: str) -> None:
    assert error(check_budgets, budgets, 128) == message
    if budgets:
        assert error(Config, budgets=budgets, group_size=4 * len(budgets)) == message


def test_unknown_config_key(tmp_path: Path) -> None:
    message = error(Config.from_dict, {"learning_rate": 1e-3})
    assert message.startswith("Unknown config key: 'learning_rate'. Known keys: alpha, beta, ")
    assert message.endswith("val_prompts, weight_decay.")
    bad = tmp_path / "cfg.json"
    bad.write_text(json.dumps({"rl_steps": 5, "rl_step": 6}))
    assert error(Config.load, bad).startswith("Unknown config key: 'rl_step'.")
    assert error(preset, "huge") == "Unknown preset 'huge'. Choose from full, quick, smoke."
    assert (
        error(Config, methods=("ppo",)) == "Unknown method(s) ppo. Choose from grpo, cosine, hbpo."
    )


def test_config_round_trip_and_defaults() -> None:
    cfg = Config()
    assert Config.from_dict(cfg.to_dict()) == cfg
    assert cfg.alpha_value() == 1 / 128
    assert [b / cfg.l_max for b in cfg.budgets] == [1 / 8, 1 / 4, 1 / 2, 5 / 8]  # paper ratios
    assert (cfg.eps_low, cfg.eps_high, cfg.beta, cfg.group_size) == (0.2, 0.28, 4.0, 16)
    assert preset("smoke").rollouts_per_budget() == (2, 2, 2, 2)


def test_task_styles_and_grading() -> None:
    v = Vocab(k_max=24, budgets=(16, 32, 64, 80))
    p = Problem(table=(3, 0, 1, 2, 4, 5, 6, 7, 8, 9), x0=0, k=5)
    assert chain(p.table, 0, 5) == [0, 3, 2, 1, 0, 3]
    for style in ("direct", "stride4", "stride2", "compact", "verbose"):
        response = v.response(p, style, budget=32)
        graded = v.grade(p, [*response, v.pad, v.pad])
        assert graded.correct and graded.finished
        assert graded.tokens == len(response)  # the budget token counts
        assert graded.budget == 32
        assert graded.style == style or (style, graded.style) == ("stride4", "stride2")
    assert len(v.response(p, "verbose")) == 6 * 5 + 4
    wrong = v.response(p, "compact")
    wrong[-2] = 7
    assert not v.grade(p, wrong).correct
    unfinished = v.response(p, "compact")[:-1]
    assert v.grade(p, unfinished).style == "unfinished"
    assert classify(v, style_tokens(v, p, "compact"), 5) == "compact"
    assert difficulty_bins(1, 24) == [(1, 3), (4, 6), (7, 12), (13, 18), (19, 24)]
