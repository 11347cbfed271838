"""``hakaru reasoning probe`` against ``hakaru sim serve`` in its three reasoning modes: the
verdict for every API must be honoured, ignored and starved respectively."""

from __future__ import annotations

import json

import pytest
from proxy_servers import Servers

from hakaru.cli.main import main
from hakaru.errors import BackendError, ConfigError
from hakaru.proxy.sim_reasoning import ReasoningSim
from hakaru.reasoning.probe import ProbeCall, probe, verdict

CASES = [
    ("openai-chat", "o4-mini"),
    ("openai-responses", "o4-mini"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-opus-4-7"),
    ("gemini", "gemini-2.5-flash"),
    ("gemini", "gemini-3-pro"),
    ("vllm", "Qwen/Qwen3-8B"),
    ("sglang", "Qwen/Qwen3-8B"),
]


@pytest.mark.parametrize("mode", ["honour", "ignore", "starve"])
def test_the_probe_tells_the_three_modes_apart(servers: Servers, mode: str) -> None:
    base = servers.start_sim(reasoning=ReasoningSim(mode, natural=6000))
    want = {"honour": "honoured", "ignore": "ignored", "starve": "starved"}[mode]
    for api, model in CASES:
        result = probe(api, base, model, budgets=(1024, 2048))
        assert result.verdict == want, (api, model, result)
        if mode == "starve":
            assert not all(c.answered for c in result.calls)
        else:
            assert all(c.answered for c in result.calls)


def test_verdict_edge_cases() -> None:
    ref = ProbeCall("p", "ref", 16384, 500, 510, True, "stop")
    small = ProbeCall("p", "1024", 1024, 500, 510, True, "stop")
    assert verdict([ref, small])[0] == "inconclusive"  # the budget never bound
    none = ProbeCall("p", "ref", 16384, 0, 10, True, "stop")
    assert verdict([none, none])[0] == "inconclusive"
    over = ProbeCall("p", "1024", 1024, 1200, 1210, True, "stop")
    big = ProbeCall("p", "ref", 16384, 5000, 5010, True, "stop")
    assert verdict([big, over], tolerance=0.1)[0] == "ignored"
    assert verdict([big, over], tolerance=0.25)[0] == "honoured"


def test_probe_cli_and_errors(servers: Servers, capsys: pytest.CaptureFixture[str]) -> None:
    base = servers.start_sim(reasoning=ReasoningSim("ignore", natural=6000))
    main(["reasoning", "probe", "--backend", "vllm", "--model", "q", "--base-url", base, "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert payload["verdict"] == "ignored" and payload["param"] == "thinking_token_budget"
    assert [c["asked"] for c in payload["calls"]] == ["ref", "1024", "2048"]
    main(["reasoning", "probe", "--backend", "anthropic", "--model", "claude-sonnet-4-5",
          "--base-url", base])  # fmt: skip
    out = capsys.readouterr().out
    assert "verdict: ignored" in out and "thinking.budget_tokens" in out
    # the same ignoring server starves the answer under the translation's usual cap
    tight = probe("vllm", base, "q", room=1024)
    assert tight.verdict == "starved" and "no answer" in tight.detail
    with pytest.raises(ConfigError, match="Unknown API"):
        probe("bard", base, "m")
    with pytest.raises(BackendError, match="could not reach"):
        probe("vllm", "http://127.0.0.1:9/v1", "m", timeout=2)
