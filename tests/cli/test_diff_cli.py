"""``hakaru diff``: two sweeps, two runs, two cassettes, through the real entry point."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from test_runs_cli import hakaru  # the CLI run in this process: (status, stdout, stderr)

from hakaru import Request, Session, create_backend
from hakaru.store import RunStore
from hakaru.sweeps import run_sweep
from hakaru.testing.cassette import Cassette
from hakaru.testing.cassette_backend import CassetteBackend


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    db = tmp_path_factory.mktemp("diff") / "hakaru.db"
    grid = {"k": [4, 8, 16, 32, 64]}
    with RunStore(db) as store:
        ids = [
            asyncio.run(run_sweep("debugging", grid, variants=[v], store=store)).sweep_id
            for v in ("roleplay", "focused")
        ]
    return db, ids[0], ids[1]


def test_two_sweeps_of_debugging_show_the_class_change(
    sweeps: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db, roleplay, focused = sweeps
    code, out, _ = hakaru(capsys, "diff", roleplay, focused, "--store", str(db), "--json")
    assert code == 0
    payload = json.loads(out)
    classes = {c["metric"]: c for c in payload["classes"]}
    assert classes["aalp_cost"]["a"] == "n²" and classes["aalp_cost"]["b"] != "n²"
    assert classes["aalp_cost"]["changed"] and classes["aalp_cost"]["variant"] == (
        "roleplay → focused"
    )
    assert classes["calls"]["a"] == "1" and classes["calls"]["b"] == "n"  # b = 2 bugs; k checks
    rows = {(r["scope"], r["metric"]): r for r in payload["rows"]}
    assert rows["total", "aalp_cost"]["b"] < rows["total", "aalp_cost"]["a"]
    assert ("role qa", "calls") in rows and ("model sim-qa-fn", "calls") in rows
    code, out, _ = hakaru(capsys, "diff", roleplay, focused, "--store", str(db))
    assert "fitted class against k" in out and "changed" in out


def test_fail_over_exits_1_when_a_total_grew(
    sweeps: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db, roleplay, focused = sweeps
    store = ("--store", str(db))
    # focused makes more calls (k QA checks) but costs far less AALP: calls grew by 575 %.
    code, _, err = hakaru(
        capsys, "diff", roleplay, focused, "--store", str(db), "--fail-over", "10"
    )
    assert code == 1 and "grew by more than 10 %: calls" in err
    code, _, _ = hakaru(capsys, "diff", focused, roleplay, *store, "--fail-over", "1e4")
    assert code == 0
    code, out, _ = hakaru(
        capsys, "diff", roleplay, roleplay, "--store", str(db), "--fail-over", "0"
    )
    assert code == 0 and "+" not in out.split("fitted class")[0].split("total")[1]


def _record(path: Path, prompts: list[str]) -> None:
    async def main() -> None:
        with Cassette(path, "all", test="t") as cassette:
            async with Session(CassetteBackend(cassette, create_backend("sim"))) as s:
                for p in prompts:
                    await s.call(Request.chat("sim-small", p))

    asyncio.run(main())


def test_two_cassettes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _record(a, ["Add 2 and 3"])
    _record(b, ["Add 2 and 3", "Add 4 and 5", "Add 6 and 7"])
    code, out, _ = hakaru(capsys, "diff", str(a), str(b), "--json", "--fail-over", "100")
    payload = json.loads(out)
    rows = {(r["scope"], r["metric"]): r for r in payload["rows"]}
    assert rows["total", "calls"]["a"] == 1 and rows["total", "calls"]["b"] == 3
    assert rows["total", "dollars"]["b"] > rows["total", "dollars"]["a"] > 0
    assert ("total", "depth") not in rows  # a cassette keeps no awaits: depth is not known
    assert code == 1 and "calls" in payload["grew_over"]


def test_bad_sides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "calls.jsonl"
    other.write_text('{"key": "ab", "sample": 0}\n')
    code, _, err = hakaru(capsys, "diff", str(other), str(other))
    assert code != 0 and "not a hakaru cassette" in err
    code, _, err = hakaru(capsys, "diff", "nope", "nada", "--store", str(tmp_path / "x.db"))
    assert code != 0 and "Error:" in err


def test_an_sdk_cassette_and_a_session_cassette_of_one_program_agree(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # examples/ci records the same agent through the OpenAI SDK (HTTP) and through a Session
    folder = Path(__file__).resolve().parents[2] / "examples/ci/tests/cassettes/test_agent"
    sdk = folder / "test_triage_replays_through_the_openai_sdk.jsonl"
    session = folder / "test_triage_replays_through_a_session.jsonl"
    code, out, _ = hakaru(capsys, "diff", str(sdk), str(session), "--json", "--fail-over", "0")
    rows = {r["metric"]: r for r in json.loads(out)["rows"] if r["scope"] == "total"}
    assert code == 0 and rows["calls"]["a"] == rows["calls"]["b"] == 15
    for metric in ("input_tokens", "output_tokens", "dollars", "aalp_cost"):
        assert rows[metric]["a"] == rows[metric]["b"] > 0, metric
