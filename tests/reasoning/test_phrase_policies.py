"""Budget phrase insertion, output caps, policies and statistics (no backend needed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hakaru.errors import ConfigError
from hakaru.reasoning import (
    BudgetPrompt,
    BudgetStats,
    DifficultyBudget,
    FixedBudget,
    LadderBudget,
    NoBudget,
    check_levels,
    with_budget,
)
from hakaru.types import CallRecord, Message, Request


def error(fn: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as err:
        fn(*args, **kwargs)  # type: ignore[operator]
    return str(err.value)


def test_phrase_goes_after_the_thinking_tag_as_a_prefill() -> None:
    req = Request.chat("m", "What is 17 * 23?", system="Be brief.")
    out = with_budget(req, 1024)
    assert out.messages[:2] == req.messages
    assert out.messages[-1] == Message(
        "assistant", "<think>\nI will answer the question within 1024 tokens."
    )
    assert (out.reasoning_budget, out.max_tokens) == (1024, 1344)  # ceil(1024 * 1.25) + 64
    assert with_budget(req, None) is req


def test_template_tag_placement_and_cap_are_configurable() -> None:
    prompt = BudgetPrompt(
        template="Think for at most {b} tokens.",
        think_tag="<reasoning>",
        placement="user",
        cap_factor=None,
    )
    out = with_budget(Request.chat("m", "Hi"), 300, prompt)
    assert out.messages == (Message("user", "Hi\n\n<reasoning>\nThink for at most 300 tokens."),)
    assert (out.reasoning_budget, out.max_tokens) == (300, None)
    # an existing smaller cap wins; a cap factor of 1 with no answer room is the budget itself
    tight = BudgetPrompt(cap_factor=1.0, answer_tokens=0)
    assert with_budget(Request.chat("m", "Hi", max_tokens=100), 512, tight).max_tokens == 100
    assert with_budget(Request.chat("m", "Hi"), 512, tight).max_tokens == 512


def test_phrase_errors() -> None:
    assert error(BudgetPrompt, template="no placeholder") == (
        "Budget template 'no placeholder' has no '{b}'. Write where the budget goes, e.g. "
        "'I will answer the question within {b} tokens.'"
    )
    assert error(BudgetPrompt, cap_factor=0.5) == (
        "cap_factor is 0.5. Give at least 1 (the cap must fit the budget), or None for no cap."
    )
    assert error(with_budget, Request.chat("m", "Hi"), 0) == (
        "Budget 0 is not positive. Give a number of tokens > 0."
    )


def test_level_errors() -> None:
    assert error(check_levels, [0, 512]) == (
        "Budget 0 is not positive. Give every budget as a number of tokens > 0."
    )
    assert error(check_levels, [512, 9000], 8192) == (
        "Budget 9000 is above the window of 8192 tokens. Give budgets <= 8192."
    )
    assert error(check_levels, [512, 512]) == (
        "Budgets (512, 512) are not strictly ascending. List each budget once, smallest first."
    )
    assert error(check_levels, []) == "No budgets given. Give at least one budget in tokens."


def test_fixed_none_and_ladder() -> None:
    d = [0.1, 0.5, 0.9]
    assert NoBudget().allocate(d) == [None, None, None]
    assert FixedBudget(512).allocate(d) == [512, 512, 512]
    ladder = LadderBudget((256, 512, 1024))
    assert ladder.allocate(d) == [256, 256, 256]
    assert [ladder.escalate(b) for b in (256, 512, 1024)] == [512, 1024, None]
    assert NoBudget().escalate(None) is None and FixedBudget(512).escalate(512) is None


def _stats() -> BudgetStats:
    # bucket 0 (easy): 256 is enough; bucket 1 (hard): 256 fails, 1024 works
    s = BudgetStats(buckets=2)
    for _ in range(30):
        s.observe(0.2, 256, tokens=200, correct=True)
        s.observe(0.2, 1024, tokens=600, correct=True)
        s.observe(0.8, 256, tokens=256, correct=False)
        s.observe(0.8, 1024, tokens=900, correct=True)
    return s


def test_difficulty_allocation_spends_where_it_buys_accuracy() -> None:
    d = [0.1, 0.3, 0.7, 0.9]
    # enough for the hard half at 1024: (2 * 200 + 2 * 900) / 4 = 550 per task
    assert DifficultyBudget((256, 1024), _stats(), 550).allocate(d) == [256, 256, 1024, 1024]
    # too little to upgrade anyone: everything stays on the cheapest level
    assert DifficultyBudget((256, 1024), _stats(), 300).allocate(d) == [256] * 4
    # plenty: easy tasks still get 256 (1024 buys them nothing)
    assert DifficultyBudget((256, 1024), _stats(), 5000).allocate(d) == [256, 256, 1024, 1024]
    assert error(DifficultyBudget, (256,), _stats(), 0) == (
        "tokens_per_task is 0. Give a positive average token budget."
    )


def test_stats_from_ledger_records_and_json() -> None:
    records = [
        CallRecord(id=1, parents=(), role="r", model="m", output_tokens=120, reasoning_budget=256),
        CallRecord(id=2, parents=(), role="r", model="m", output_tokens=250, reasoning_budget=256),
        CallRecord(id=3, parents=(), role="r", model="m", status="cached", reasoning_budget=256),
        CallRecord(id=4, parents=(), role="r", model="m", output_tokens=999, reasoning_budget=None),
        CallRecord(id=5, parents=(), role="r", model="m", output_tokens=50, reasoning_budget=256),
    ]
    outcomes = {1: (0.1, True), 2: (0.15, False), 3: (0.1, True), 4: (0.9, True)}
    s = BudgetStats.from_records(records, outcomes, buckets=2)
    assert s.calls(0, 256) == 2  # the cached call and the call without an outcome are skipped
    assert s.mean_tokens(0, 256) == 185.0
    assert s.accuracy(0, 256) == 0.5  # (1 + 1) / (2 + 2)
    assert s.calls(1, None) == 1
    assert s.mean_tokens(1, 512) == 512.0  # unseen: costs its budget
    back = BudgetStats.from_dict(s.to_dict())
    assert back.to_dict() == s.to_dict()
    assert error(s.bucket, 1.5) == "difficulty is 1.5. Give an estimate in [0, 1]."


def test_importing_reasoning_and_hbpo_stays_light() -> None:
    code = (
        "import sys, hakaru.reasoning, hakaru.hbpo, hakaru.cli.reasoning, hakaru.cli.train;"
        "print(','.join(m for m in ('torch', 'numpy', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
