"""The ``reason`` task kind on the simulated backend, and ``hakaru reasoning compare``.

Needs the simulated backend's reasoning hook (``kind.reasoning(payload, budget, rng)``): the
backend adds the reasoning tokens to the output, cuts at ``max_tokens`` and answers wrongly with
the probability the hook gives.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from hakaru.cli.main import main
from hakaru.errors import ConfigError
from hakaru.reasoning import ReasoningKind, compare_policies, reasoning_payload, with_budget
from hakaru.session import Session
from hakaru.tasks import task_kind
from hakaru.tokenizer import count_tokens


def test_reason_kind_is_registered_and_strict() -> None:
    kind = task_kind("reason")
    assert isinstance(kind, ReasoningKind)
    payload = reasoning_payload(7, 0.5)
    truth = kind.solve(payload)
    assert kind.parse(kind.render(truth)) == truth
    assert kind.parse(f"thinking...\n{kind.render(truth)}\n") == truth
    for bad in ("", "answer: 3", "answer = 3\nmore"):
        with pytest.raises(Exception, match="answer"):
            kind.parse(bad)
    with pytest.raises(ConfigError):
        reasoning_payload(1, 1.5)


Row = tuple[int, int, str, bool, str]  # output tokens, reasoning tokens, finish, correct, text


def _calls(budget: int | None, n: int = 200, difficulty: float = 0.6) -> list[Row]:
    kind = task_kind("reason")

    async def go() -> list[Row]:
        out = []
        async with Session("sim", store=False) as s:
            for i in range(n):
                payload = reasoning_payload(i, difficulty)
                r = await s.call(with_budget(kind.request("sim-oracle", payload), budget))
                ok = r.text.strip() == kind.render(kind.solve(payload))
                out.append(
                    (r.usage.output_tokens, r.usage.reasoning_tokens, r.finish_reason, ok, r.text)
                )
            totals = s.totals()
        assert totals["output_tokens"] == sum(row[0] for row in out)
        assert totals["reasoning_tokens"] == sum(row[1] for row in out)
        return out

    return asyncio.run(go())


def test_sim_counts_reasoning_tokens_exactly() -> None:
    for out, think, finish, _ok, text in _calls(None, n=50):
        # sim-oracle never errs on its own: every miss comes from the reasoning model
        assert finish == "stop" and think > 0
        assert out == think + count_tokens(text)  # output = reasoning + answer tokens


def test_accuracy_and_tokens_grow_with_the_budget() -> None:
    kind = ReasoningKind()
    need = kind.need(0.6)  # about 776 tokens
    rows = {b: _calls(b) for b in (128, 512, 2048)}
    rows[None] = _calls(None)
    acc = {b: sum(row[3] for row in r) / len(r) for b, r in rows.items()}
    tokens = {b: sum(o for o, *_ in r) / len(r) for b, r in rows.items()}
    assert acc[128] < acc[512] < acc[2048]
    assert tokens[128] < tokens[512] < tokens[2048] < tokens[None]
    assert tokens[None] > 1.5 * need  # unprompted, the model overthinks
    assert abs(acc[2048] - acc[None]) < 0.08  # and the extra tokens buy almost nothing
    # over-budget answers are cut by the cap: no answer text, finish_reason "length"
    cut = [row for row in rows[128] if row[2] == "length"]
    assert cut and all(
        o == 128 * 5 // 4 + 64 and not ok and text == "" for o, _, _, ok, text in cut
    )


def test_compare_policies_reports_savings_against_no_budget() -> None:
    result = compare_policies(n=120, calibration=40, seed=3)
    rows = {r["policy"]: r for r in result.rows()}
    assert list(rows) == ["none", "fixed:1024", "ladder", "difficulty"]
    assert rows["none"]["tokens_saved"] == 0.0 and rows["none"]["accuracy_lost_pts"] == 0.0
    assert rows["none"]["reasoning_tokens"] > 100 * 120  # the simulated model reasons
    assert all(rows[p]["tokens_saved"] > 0.3 for p in ("fixed:1024", "ladder", "difficulty"))
    assert rows["ladder"]["calls"] >= 120  # a retry is another paid call
    assert rows["none"]["calls"] == rows["fixed:1024"]["calls"] == 120
    assert result.calibration["calls"] == 40 * 5  # every calibration task at every level
    # the difficulty policy keeps to its average budget of 1024 tokens per task (in expectation)
    assert rows["difficulty"]["tokens_per_task"] < 1.15 * 1024


def test_reasoning_compare_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    main(["reasoning", "compare", "--n", "60", "--calibration", "20", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert payload["baseline"] == "none"
    assert [p["policy"] for p in payload["policies"]] == [
        "none",
        "fixed:1024",
        "ladder",
        "difficulty",
    ]
    assert {"tokens_saved", "accuracy_lost_pts", "output_tokens", "accuracy"} <= set(
        payload["policies"][0]
    )
    page = tmp_path / "budgets.html"
    main(
        [
            "reasoning",
            "compare",
            "--n",
            "40",
            "--calibration",
            "10",
            "--levels",
            "128,512",
            "--html",
            str(page),
        ]
    )
    out = capsys.readouterr().out
    assert "difficulty" in out and "saved" in out
    html = page.read_text()
    assert "Reasoning budgets" in html and "fixed:512" in html and "tokens saved" in html
    with pytest.raises(SystemExit) as exit_:
        main(["reasoning", "compare", "--levels", "512,128"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (
        "Error: Budgets (512, 128) are not strictly ascending. List each budget once, "
        "smallest first.\n"
    )


def test_the_old_budget_spelling_still_runs_with_a_deprecation_note(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["compare", "--n", "30", "--calibration", "10", "--levels", "128,512", "--json"]
    main(["reasoning", *args])
    new = capsys.readouterr()
    main(["budget", *args])
    old = capsys.readouterr()
    assert json.loads(old.out) == json.loads(new.out) and new.err == ""
    assert old.err == (
        "Note: 'hakaru budget' is deprecated and will be removed in the next release; "
        "use 'hakaru reasoning'.\n"
    )
