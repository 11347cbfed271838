"""The cassette server against upstreams that fail: errors pass through and are not recorded.

The upstream is the simulated server with injected faults (every request answered 500, or
every stream dropped midway); the client is the OpenAI SDK.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from upstreams import Upstreams

from hakaru.backends.sim import SimBackend
from hakaru.proxy.faults import FaultPlan
from hakaru.proxy.server import SimServer
from hakaru.proxy.serving import listen
from hakaru.testing.cassette import Cassette, read_cassette
from hakaru.testing.cassette_server import CassetteServer

MESSAGES = [{"role": "user", "content": "Write a note"}]


@pytest.fixture
def faulty(upstreams: Upstreams, request: pytest.FixtureRequest) -> Iterator[str]:
    plan: FaultPlan = request.param
    server = upstreams.run(listen(SimServer(SimBackend(), faults=plan)))
    yield server.url
    upstreams.run(server.close())


def _client(server: CassetteServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="sk-test", max_retries=0)


@pytest.mark.parametrize("faulty", [FaultPlan(rate_500=1.0)], indirect=True)
def test_an_error_answer_passes_through_unrecorded(tmp_path: Path, faulty: str) -> None:
    path = tmp_path / "c.jsonl"
    with Cassette(path, "all", test="t") as cassette, CassetteServer(cassette, faulty) as server:
        with pytest.raises(openai.InternalServerError):
            _client(server).chat.completions.create(model="sim-small", messages=MESSAGES)
        assert server.forwarded == 1
    assert read_cassette(path) == []  # the header alone


@pytest.mark.parametrize("faulty", [FaultPlan(drop_rate=1.0)], indirect=True)
def test_a_stream_broken_upstream_breaks_for_the_client_and_is_not_recorded(
    tmp_path: Path, faulty: str
) -> None:
    path = tmp_path / "c.jsonl"
    with (
        Cassette(path, "all", test="t") as cassette,
        CassetteServer(cassette, faulty) as server,
        pytest.raises(openai.APIError),
    ):
        stream = _client(server).chat.completions.create(
            model="sim-small", messages=MESSAGES, stream=True
        )
        list(stream)
    assert read_cassette(path) == []
