"""The OpenAI-compatible backend against real local HTTP servers, no mocks.

pytest-httpserver (werkzeug on a real socket) plays the well-behaved and the erring server; a raw
socket server in a thread produces what werkzeug cannot: a reset mid-body, a truncated chunked
body, a server that never answers.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import socket
import struct
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from hakaru.backends.base import create_backend
from hakaru.backends.openai import OpenAIBackend
from hakaru.errors import (
    BackendError,
    BackendTimeout,
    BadResponse,
    ConfigError,
    ConnectionFailed,
    ContextOverflow,
    RateLimited,
    RequestRejected,
    ServerError,
)
from hakaru.tokenizer import count_tokens
from hakaru.types import ModelSpec, Request, Response, Usage

KEY = "sk-hakaru-TEST-7f3a9c1e5b2d"  # recognisable, must never show up in an error
PATH = "/v1/chat/completions"


def completion(
    text: str = "4",
    usage: Any = None,
    *,
    finish_reason: str | None = "stop",
    model: str = "m",
    **message: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "cmpl-1",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, **message},
                "finish_reason": finish_reason,
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def call(backend: OpenAIBackend, request: Request | None = None) -> Response:
    """One completion in a fresh event loop; the backend is closed afterwards."""

    async def go() -> Response:
        try:
            return await backend.complete(request or Request.chat("m", "What is 2+2?"))
        finally:
            await backend.aclose()

    return asyncio.run(go())


def fails(backend: OpenAIBackend, request: Request | None = None) -> BackendError:
    with pytest.raises(BackendError) as info:
        call(backend, request)
    return info.value


def make(url: str, **options: Any) -> OpenAIBackend:
    options.setdefault("api_key", KEY)
    options.setdefault("model", "m")
    return OpenAIBackend(url, **options)


@pytest.fixture
def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/v1")


# -- a raw socket server for faults --------------------------------------------------------------


class RawServer:
    """Accepts connections on 127.0.0.1, reads one request, then lets ``behave`` misbehave."""

    def __init__(self, behave: Callable[[socket.socket, threading.Event], None]) -> None:
        self.behave = behave
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(body) < length:
                body += conn.recv(65536)
            self.behave(conn, self.stop)

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(timeout=1)


@pytest.fixture
def raw() -> Iterator[Callable[[Callable[[socket.socket, threading.Event], None]], RawServer]]:
    servers: list[RawServer] = []

    def start(behave: Callable[[socket.socket, threading.Event], None]) -> RawServer:
        servers.append(RawServer(behave))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def hang(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait(2.0)


def reset_mid_body(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
        b'{"choices": [{"message": {"content": "par'
    )
    # Linger 0: close() sends RST instead of FIN.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def truncated_chunked(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'14\r\n{"choices": [{"messa\r\n'
    )


def refused_url() -> str:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# -- answers -------------------------------------------------------------------------------------


def test_completion_reads_usage_and_sends_the_request(httpserver: HTTPServer, base: str) -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        completion("4", usage, model="m-2025")
    )
    request = Request.chat("m", "What is 2+2?", system="Be brief.", max_tokens=8, seed=7)
    response = call(make(base), request)
    assert response.text == "4"
    assert response.usage == Usage(12, 3, 0, 0, 0, "reported")
    assert response.model == "m-2025"
    assert response.finish_reason == "stop"
    assert response.reasoning == ""
    assert response.latency > 0
    sent, _ = httpserver.log[0]
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.data) == {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is 2+2?"},
        ],
        "temperature": 0.0,
        "max_tokens": 8,
        "seed": 7,
    }


def test_unset_options_are_not_sent_and_no_key_means_no_header(
    httpserver: HTTPServer, base: str
) -> None:
    httpserver.expect_request(PATH).respond_with_json(completion())
    call(make(base, api_key="", headers={"X-Trace": "abc"}))
    sent, _ = httpserver.log[0]
    assert "Authorization" not in sent.headers
    assert sent.headers["X-Trace"] == "abc"
    assert json.loads(sent.data) == {
        "model": "m",
        "messages": [{"role": "user", "content": "What is 2+2?"}],
        "temperature": 0.0,
    }


def test_missing_usage_is_estimated_and_marked(httpserver: HTTPServer, base: str) -> None:
    httpserver.expect_request(PATH).respond_with_json(completion("The answer is 4."))
    response = call(make(base))
    assert response.usage == Usage(
        input_tokens=count_tokens("What is 2+2?"),
        output_tokens=count_tokens("The answer is 4."),
        source="estimated",
    )


def test_null_usage_fields_are_tolerated(httpserver: HTTPServer, base: str) -> None:
    usage = {
        "prompt_tokens": 12,
        "completion_tokens": 3,
        "prompt_tokens_details": None,
        "completion_tokens_details": {"reasoning_tokens": None},
    }
    httpserver.expect_request(PATH).respond_with_json(completion("4", usage))
    assert call(make(base)).usage == Usage(12, 3, 0, 0, 0, "reported")


def test_a_null_main_count_is_estimated(httpserver: HTTPServer, base: str) -> None:
    usage = {"prompt_tokens": None, "completion_tokens": 3}
    httpserver.expect_request(PATH).respond_with_json(completion("4", usage))
    assert call(make(base)).usage == Usage(count_tokens("What is 2+2?"), 3, 0, 0, 0, "estimated")


def test_reasoning_and_cached_tokens_are_read(httpserver: HTTPServer, base: str) -> None:
    usage = {
        "prompt_tokens": 120,
        "completion_tokens": 50,
        "completion_tokens_details": {"reasoning_tokens": 40},
        "prompt_tokens_details": {"cached_tokens": 64},
    }
    body = completion("4", usage, reasoning_content="2 plus 2 makes 4.")
    httpserver.expect_request(PATH).respond_with_json(body)
    response = call(make(base))
    assert response.usage == Usage(120, 50, 40, 64, 0, "reported")
    assert response.reasoning == "2 plus 2 makes 4."


def test_vllm_reasoning_without_a_count_is_estimated_from_its_text(
    httpserver: HTTPServer, base: str
) -> None:
    # Mainline vLLM: reasoning_content, but no completion_tokens_details.
    usage = {"prompt_tokens": 20, "completion_tokens": 30}
    body = completion("4", usage, reasoning_content="Two and two are four.")
    httpserver.expect_request(PATH).respond_with_json(body)
    response = call(make(base))
    assert response.usage == Usage(20, 30, count_tokens("Two and two are four."), 0, 0, "reported")


def test_null_content_and_length_finish(httpserver: HTTPServer, base: str) -> None:
    body = completion(None, {"prompt_tokens": 5, "completion_tokens": 8}, finish_reason="length")  # type: ignore[arg-type]
    body["choices"][0]["message"]["reasoning"] = "Thinking about"
    httpserver.expect_request(PATH).respond_with_json(body)
    response = call(make(base))
    assert (response.text, response.reasoning, response.finish_reason) == (
        "",
        "Thinking about",
        "length",
    )
    assert response.truncated


def test_many_concurrent_calls_share_one_client(httpserver: HTTPServer, base: str) -> None:
    httpserver.expect_request(PATH).respond_with_json(completion())
    backend = make(base)

    async def go() -> list[Response]:
        try:
            requests = [Request.chat("m", f"q{i}") for i in range(20)]
            return await asyncio.gather(*(backend.complete(r) for r in requests))
        finally:
            await backend.aclose()

    assert [r.text for r in asyncio.run(go())] == ["4"] * 20
    assert len(httpserver.log) == 20


def test_a_backend_survives_a_second_event_loop(httpserver: HTTPServer, base: str) -> None:
    httpserver.expect_request(PATH).respond_with_json(completion())
    backend = make(base)

    async def once() -> str:
        return (await backend.complete(Request.chat("m", "hi"))).text

    assert asyncio.run(once()) == "4"
    assert asyncio.run(once()) == "4"  # the pool of the first loop is not reused
    asyncio.run(backend.aclose())


# -- models and options --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "default"])
def test_default_model_answers_unnamed_requests(
    httpserver: HTTPServer, base: str, name: str
) -> None:
    httpserver.expect_request(PATH).respond_with_json(completion())
    call(make(base, model="qwen3"), Request.chat(name, "hi"))
    assert json.loads(httpserver.log[0][0].data)["model"] == "qwen3"


def test_no_model_anywhere_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer, base: str
) -> None:
    monkeypatch.delenv("HAKARU_MODEL", raising=False)
    with pytest.raises(ConfigError) as info:
        call(OpenAIBackend(base), Request.chat("default", "hi"))
    assert str(info.value) == (
        "No model given for the OpenAI-compatible backend. Name one in the request, "
        "pass model= (--model) or set HAKARU_MODEL."
    )


def test_environment_supplies_url_key_and_model(
    monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer, base: str
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", base)
    monkeypatch.setenv("OPENAI_API_BASE", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("HAKARU_MODEL", "env-model")
    httpserver.expect_request(PATH).respond_with_json(completion())
    backend = OpenAIBackend()
    assert backend.url == f"{base}/chat/completions"
    call(backend, Request.chat("default", "hi"))
    sent, _ = httpserver.log[0]
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert json.loads(sent.data)["model"] == "env-model"


def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_API_BASE", "http://127.0.0.1:11434/v1/")
    assert OpenAIBackend().url == "http://127.0.0.1:11434/v1/chat/completions"
    monkeypatch.delenv("OPENAI_API_BASE")
    assert OpenAIBackend().url == "https://api.openai.com/v1/chat/completions"


def test_options_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("HAKARU_MODEL", "env-model")
    backend = OpenAIBackend("http://127.0.0.1:2/v1", model="opt-model")
    assert (backend.url, backend.model) == ("http://127.0.0.1:2/v1/chat/completions", "opt-model")


@pytest.mark.parametrize("url", ["127.0.0.1:8000/v1", "ftp://host/v1", "http://"])
def test_a_bad_base_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        OpenAIBackend(url)
    assert str(info.value) == (
        f"Invalid base URL '{url}': it needs http:// or https:// and a host. "
        "Give one like http://127.0.0.1:8000/v1."
    )


def test_model_spec_from_the_given_models() -> None:
    spec = ModelSpec("qwen3", size=8.0, context_window=32768)
    backend = OpenAIBackend("http://127.0.0.1:8000/v1", model="qwen3", models=[spec])
    assert backend.model_spec("qwen3") is spec
    assert backend.model_spec("default") is spec
    assert backend.model_spec("other") is None
    assert OpenAIBackend("http://127.0.0.1:8000/v1", models={"q": spec}).model_spec("q") is spec


def test_registered_as_openai() -> None:
    backend = create_backend("openai", base_url="http://127.0.0.1:8000/v1", model="m")
    assert isinstance(backend, OpenAIBackend)


# -- errors --------------------------------------------------------------------------------------


def test_429_with_retry_after_seconds(httpserver: HTTPServer, base: str) -> None:
    body = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit"}}
    httpserver.expect_request(PATH).respond_with_json(body, 429, {"Retry-After": "2"})
    exc = fails(make(base))
    assert isinstance(exc, RateLimited) and exc.retryable
    assert (exc.status, exc.retry_after) == (429, 2.0)
    assert str(exc) == (
        f"Rate limited: {base}/chat/completions answered HTTP 429 (Rate limit reached "
        "(code rate_limit)); it asks to wait 2 s. The session retries it; lower the "
        "concurrency or the requests per minute if it keeps happening."
    )


def test_429_retry_after_ms_wins(httpserver: HTTPServer, base: str) -> None:
    headers = {"retry-after-ms": "250", "Retry-After": "9"}
    httpserver.expect_request(PATH).respond_with_data("slow down", 429, headers)
    exc = fails(make(base))
    assert isinstance(exc, RateLimited) and exc.retry_after == 0.25


def test_429_retry_after_http_date(httpserver: HTTPServer, base: str) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    httpserver.expect_request(PATH).respond_with_data("", 429, {"Retry-After": when})
    exc = fails(make(base))
    assert isinstance(exc, RateLimited) and exc.retry_after is not None
    assert 27.0 <= exc.retry_after <= 30.0


@pytest.mark.parametrize("header", [None, "soon", "-3"])
def test_429_without_a_usable_retry_after(
    httpserver: HTTPServer, base: str, header: str | None
) -> None:
    headers = {"Retry-After": header} if header else None
    httpserver.expect_request(PATH).respond_with_data("busy", 429, headers)
    exc = fails(make(base))
    assert isinstance(exc, RateLimited) and exc.retry_after is None
    assert "(busy). The session retries it" in str(exc)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_a_server_error(httpserver: HTTPServer, base: str, status: int) -> None:
    httpserver.expect_request(PATH).respond_with_data("upstream overloaded", status)
    exc = fails(make(base))
    assert isinstance(exc, ServerError) and exc.retryable and exc.status == status
    assert str(exc) == (
        f"Server error: {base}/chat/completions answered HTTP {status} (upstream overloaded). "
        "The session retries it; if it keeps happening, check the server's logs."
    )


def test_a_silent_server_times_out(raw: Callable[..., RawServer]) -> None:
    server = raw(hang)
    started = time.perf_counter()
    exc = fails(make(server.url, timeout=0.2))
    assert time.perf_counter() - started < 1.0
    assert isinstance(exc, BackendTimeout) and exc.retryable
    assert str(exc) == (
        f"No complete answer from {server.url}/chat/completions within 0.2 s. Raise the "
        "timeout (timeout=, --timeout) for long generations or lower max_tokens; the session "
        "retries timeouts."
    )


@pytest.mark.parametrize(
    ("behave", "why"),
    [
        (reset_mid_body, "Connection reset by peer"),
        (truncated_chunked, "peer closed connection without sending complete message body"),
    ],
)
def test_a_broken_body_is_a_connection_failure(
    raw: Callable[..., RawServer],
    behave: Callable[[socket.socket, threading.Event], None],
    why: str,
) -> None:
    server = raw(behave)
    exc = fails(make(server.url))
    assert isinstance(exc, ConnectionFailed) and exc.retryable and exc.status is None
    assert str(exc).startswith(
        f"The connection to {server.url}/chat/completions broke before the full answer "
        f"arrived: {why}"
    )
    assert str(exc).endswith(
        ". The session retries it; if it keeps happening, check the server's logs."
    )


def test_a_refused_connection() -> None:
    url = refused_url()
    exc = fails(make(url))
    assert isinstance(exc, ConnectionFailed) and exc.retryable
    assert str(exc) == (
        f"Could not connect to {url}/chat/completions: Connection refused. Start the server "
        "(e.g. `vllm serve`, `ollama serve`) or fix the base URL (--base-url, OPENAI_BASE_URL)."
    )


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ("<html>502 Bad Gateway</html>", "a body that is not JSON"),
        ('{"choices": [', "a body that is not JSON"),
        ("[1, 2]", "JSON that is not an object"),
        ('{"choices": []}', "no choices"),
        ('{"object": "chat.completion"}', "no choices"),
        ('{"choices": [{"finish_reason": "stop"}]}', "a choice without a message"),
    ],
)
def test_malformed_answers_are_bad_responses(
    httpserver: HTTPServer, base: str, body: str, what: str
) -> None:
    httpserver.expect_request(PATH).respond_with_data(body, 200)
    exc = fails(make(base))
    assert isinstance(exc, BadResponse)
    assert str(exc) == (
        f"{base}/chat/completions answered HTTP 200 with {what}: {body}. Check that the base "
        "URL points at an OpenAI-compatible API (ending in /v1); the session retries it."
    )


OPENAI_OVERFLOW = {
    "error": {
        "message": "This model's maximum context length is 8192 tokens. However, your messages "
        "resulted in 9000 tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}
VLLM_OVERFLOW = {
    "object": "error",
    "message": "This model's maximum context length is 4096 tokens. However, you requested "
    "5000 tokens (4000 in the messages, 1000 in the completion). Please reduce the length of "
    "the messages or completion.",
    "type": "BadRequestError",
    "param": None,
    "code": 400,
}
LLAMACPP_OVERFLOW = {
    "error": {
        "code": 400,
        "message": "the request exceeds the available context size, try increasing it",
        "type": "exceed_context_size_error",
        "n_prompt_tokens": 5000,
        "n_ctx": 4096,
    }
}


@pytest.mark.parametrize("body", [OPENAI_OVERFLOW, VLLM_OVERFLOW, LLAMACPP_OVERFLOW])
def test_context_length_400_is_a_context_overflow(
    httpserver: HTTPServer, base: str, body: dict[str, Any]
) -> None:
    httpserver.expect_request(PATH).respond_with_json(body, 400)
    exc = fails(make(base))
    assert isinstance(exc, ContextOverflow) and not exc.retryable and exc.status == 400
    assert str(exc).startswith(
        f"The prompt does not fit the context window of model 'm': {base}/chat/completions "
        "answered HTTP 400 ("
    )
    assert str(exc).endswith(
        "). Shorten the prompt, lower max_tokens, or use a model with a larger context window."
    )


def test_openai_overflow_message_in_full(httpserver: HTTPServer, base: str) -> None:
    httpserver.expect_request(PATH).respond_with_json(OPENAI_OVERFLOW, 400)
    assert str(fails(make(base))) == (
        f"The prompt does not fit the context window of model 'm': {base}/chat/completions "
        "answered HTTP 400 (This model's maximum context length is 8192 tokens. However, your "
        "messages resulted in 9000 tokens. Please reduce the length of the messages. (code "
        "context_length_exceeded)). Shorten the prompt, lower max_tokens, or use a model with "
        "a larger context window."
    )


def test_404_names_the_url_and_model(httpserver: HTTPServer, base: str) -> None:
    body = {"object": "error", "message": "The model `m` does not exist.", "code": 404}
    httpserver.expect_request(PATH).respond_with_json(body, 404)
    exc = fails(make(base))
    assert isinstance(exc, RequestRejected) and not exc.retryable and exc.status == 404
    assert str(exc) == (
        f"Request rejected: {base}/chat/completions answered HTTP 404 (The model `m` does not "
        "exist.). Check the base URL (it usually ends in /v1) and that the server serves model "
        "'m'."
    )


def test_422_is_rejected(httpserver: HTTPServer, base: str) -> None:
    body = {"detail": [{"loc": ["body", "temperature"], "msg": "must be <= 2"}]}
    httpserver.expect_request(PATH).respond_with_json(body, 422)
    exc = fails(make(base))
    assert isinstance(exc, RequestRejected) and exc.status == 422
    assert str(exc) == (
        f"Request rejected: {base}/chat/completions answered HTTP 422 "
        '([{"loc": ["body", "temperature"], "msg": "must be <= 2"}]). Fix the request '
        "(model name, parameters); retrying will not help."
    )


def test_401_says_how_to_give_a_key(httpserver: HTTPServer, base: str) -> None:
    body = {"error": {"message": f"Incorrect API key provided: {KEY}.", "code": "invalid_api_key"}}
    httpserver.expect_request(PATH).respond_with_json(body, 401)
    exc = fails(make(base))
    assert isinstance(exc, RequestRejected) and exc.status == 401
    assert str(exc) == (
        f"Unauthorized: {base}/chat/completions answered HTTP 401 (Incorrect API key provided: "
        "***. (code invalid_api_key)). Set OPENAI_API_KEY or pass --api-key (api_key=) with a "
        "valid key for this server."
    )


def _serve_error(
    httpserver: HTTPServer, status: int, headers: dict[str, str] | None = None
) -> None:
    echo = {"error": {"message": f"bad key {KEY} and Bearer {KEY}", "code": "x"}}
    httpserver.expect_request(PATH).respond_with_json(echo, status, headers)


@pytest.mark.parametrize(
    "scenario",
    [
        "401",
        "403",
        "404",
        "422",
        "429",
        "500",
        "overflow",
        "not-json",
        "no-choices",
        "timeout",
        "reset",
        "chunked",
        "refused",
    ],
)
def test_the_api_key_never_appears_in_an_error(
    httpserver: HTTPServer, raw: Callable[..., RawServer], scenario: str
) -> None:
    url = httpserver.url_for("/v1")
    options: dict[str, Any] = {}
    if scenario.isdigit():
        _serve_error(httpserver, int(scenario), {"Retry-After": KEY})
    elif scenario == "overflow":
        body = {"error": {"message": f"maximum context length exceeded for {KEY}"}}
        httpserver.expect_request(PATH).respond_with_json(body, 400)
    elif scenario == "not-json":
        httpserver.expect_request(PATH).respond_with_data(f"<html>{KEY}</html>", 200)
    elif scenario == "no-choices":
        httpserver.expect_request(PATH).respond_with_json({"key": KEY, "choices": []})
    elif scenario == "timeout":
        url, options = raw(hang).url, {"timeout": 0.1}
    elif scenario == "reset":
        url = raw(reset_mid_body).url
    elif scenario == "chunked":
        url = raw(truncated_chunked).url
    else:
        url = refused_url()
    backend = make(url, **options)
    assert KEY not in repr(backend)
    exc = fails(backend)
    shown = str(exc) + repr(exc) + "".join(traceback.format_exception(exc))
    assert KEY not in shown
    assert url in str(exc)


def test_a_password_in_the_url_is_not_shown(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("down", 503)
    url = httpserver.url_for("/v1").replace("http://", "http://user:hunter2secret@")
    exc = fails(make(url))
    assert "hunter2secret" not in str(exc) + repr(exc)
    assert "hunter2secret" not in repr(make(url))
