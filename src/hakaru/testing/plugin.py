"""The pytest plugin shipped with hakaru (entry point ``pytest11``): fixtures and options.

Fixtures:

- ``hakaru_session`` — a :class:`~hakaru.Session` (not yet entered) on the simulated LLM, or on
  a real server with ``--hakaru-backend openai|anthropic --hakaru-base-url URL``. When the test
  also uses ``hakaru_cassette`` (or is marked ``@pytest.mark.hakaru_cassette``), its calls go
  through the cassette.
- ``hakaru_session_factory`` — ``() -> Session`` with the same set-up, one fresh session per
  call: pass it to ``assert_growth(..., session=hakaru_session_factory)``.
- ``hakaru_cassette`` — the test's cassette (:class:`CassetteFixture`), served on 127.0.0.1
  with ``OPENAI_BASE_URL`` and ``ANTHROPIC_BASE_URL`` pointing at it for the test, so programs
  using the SDKs (or LangGraph over them) replay without a server.

Options: ``--hakaru-record none|once|new_episodes|all`` (default ``once``; CI runs ``none``).
Ini: ``hakaru_cassette_dir`` (default ``cassettes`` beside the test file), ``hakaru_volatile``
(regular expressions, one a line, added to the default volatile patterns). Marker:
``@pytest.mark.hakaru_cassette(path=..., mode=..., volatile=[...])``.

Only pytest and the standard library are imported when pytest loads the plugin; hakaru's
modules load when a fixture is used.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from hakaru.backends.base import Backend
    from hakaru.session import Session
    from hakaru.testing.cassette import Cassette
    from hakaru.testing.cassette_server import CassetteServer

__all__ = ["CassetteFixture"]

_MODES = ("none", "once", "new_episodes", "all")
_BACKENDS = ("sim", "openai", "anthropic")
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hakaru", "hakaru: LLM calls of agent programs")
    group.addoption(
        "--hakaru-record",
        choices=_MODES,
        default="once",
        help="cassette record mode: none (replay only; CI), once (record missing cassettes), "
        "new_episodes (record what is not recorded), all (record afresh). Default: once.",
    )
    group.addoption(
        "--hakaru-backend",
        choices=_BACKENDS,
        default="sim",
        help="backend of the hakaru_session fixture (default: sim, the simulated LLM).",
    )
    group.addoption(
        "--hakaru-base-url",
        default=None,
        help="server of --hakaru-backend openai|anthropic, and the upstream that cassettes "
        "record from (default: OPENAI_BASE_URL or ANTHROPIC_BASE_URL as the program has them, "
        "else the provider's API).",
    )
    parser.addini("hakaru_cassette_dir", "directory of cassettes, relative to each test file")
    parser.addini("hakaru_volatile", "regular expressions left out of cassette keys", "linelist")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "hakaru_cassette(path=None, mode=None, volatile=()): the test's cassette and its options",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@dataclass
class CassetteFixture:
    """What the ``hakaru_cassette`` fixture gives a test."""

    cassette: Cassette
    server: CassetteServer
    live: Callable[[], Backend]

    @property
    def path(self) -> Path:
        return self.cassette.path

    @property
    def mode(self) -> str:
        return self.cassette.mode

    @property
    def url(self) -> str:
        """The local server: ``url + "/v1"`` is an OpenAI base URL, ``url`` an Anthropic one."""
        return self.server.url

    def backend(self) -> Backend:
        """A backend for a Session that answers from the cassette (live when recording)."""
        from hakaru.testing.cassette_backend import CassetteBackend

        backend = self.live()  # in replay only asked for model specs (sizes, prices)
        live = None if self.cassette.mode == "none" else backend
        return CassetteBackend(self.cassette, live, specs=backend)


def _cassette_path(request: pytest.FixtureRequest, given: str | None) -> Path:
    base = request.path.parent
    if given:
        return Path(given) if Path(given).is_absolute() else base / given
    folder = request.config.getini("hakaru_cassette_dir") or "cassettes"
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    return base / str(folder) / request.path.stem / f"{name}.jsonl"


_BASE_ENV = {"openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL"}


def _live_factory(
    config: pytest.Config, env: dict[str, str] | None = None
) -> Callable[[], Backend]:
    """Backends of ``--hakaru-backend``; ``env``: the base URLs as they were before the
    cassette pointed the environment at itself (so a Session records from the real server)."""
    name = config.getoption("--hakaru-backend")
    url = config.getoption("--hakaru-base-url") or (env or {}).get(_BASE_ENV.get(name, ""))

    def make() -> Backend:
        from hakaru.backends.base import create_backend

        return create_backend(name, base_url=url) if name != "sim" and url else create_backend(name)

    return make


@pytest.fixture
def hakaru_cassette(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CassetteFixture]:
    """The test's cassette, served on 127.0.0.1 with the SDKs' base URLs pointing at it."""
    from hakaru.testing.cassette import Cassette
    from hakaru.testing.cassette_server import CassetteServer

    marker = request.node.get_closest_marker("hakaru_cassette")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    config = request.config
    mode = options.get("mode") or config.getoption("--hakaru-record")
    volatile = [*config.getini("hakaru_volatile"), *options.get("volatile", ())]
    cassette = Cassette(
        _cassette_path(request, options.get("path")),
        mode,
        test=request.node.nodeid,
        volatile=volatile,
    )
    before = {k: v for k in _BASE_ENV.values() if (v := os.environ.get(k))}
    server = CassetteServer(  # records from the servers the program was pointed at, if any
        cassette,
        upstream=config.getoption("--hakaru-base-url"),
        openai=before.get("OPENAI_BASE_URL"),
        anthropic=before.get("ANTHROPIC_BASE_URL"),
    )
    try:
        url = server.start()
    except BaseException:
        cassette.close()
        raise
    monkeypatch.setenv("OPENAI_BASE_URL", url + "/v1")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    if cassette.mode == "none":  # the SDKs insist on a key; a replay needs none
        for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
            if not os.environ.get(name):
                monkeypatch.setenv(name, "hakaru-cassette-replay")
    fixture = CassetteFixture(cassette, server, _live_factory(config, before))
    passed = False
    try:
        yield fixture
        call = request.node.stash.get(_REPORTS, {}).get("call")
        passed = call is not None and call.passed
    finally:
        server.stop()
        left = cassette.close(keep=passed)
    if left is not None:
        warnings.warn(
            f"the test failed, so {cassette.path} was kept as it was; what it recorded is in "
            f"{left}. Fix the test and record again, or move that file over the cassette",
            stacklevel=1,
        )
    if cassette.misses and passed:
        pytest.fail(
            f"{len(cassette.misses)} call(s) missed the cassette (the program caught the "
            f"error):\n{cassette.misses[0]}",
            pytrace=False,
        )


def _uses_cassette(request: pytest.FixtureRequest) -> bool:
    return "hakaru_cassette" in request.fixturenames or bool(
        request.node.get_closest_marker("hakaru_cassette")
    )


@pytest.fixture
def hakaru_session_factory(request: pytest.FixtureRequest) -> Iterator[Callable[[], Session]]:
    """``() -> Session``: a fresh session per call, through the test's cassette if it has one."""
    from hakaru.session import Session

    made: list[Backend] = []
    cassette: CassetteFixture | None = (
        request.getfixturevalue("hakaru_cassette") if _uses_cassette(request) else None
    )
    live = _live_factory(request.config)

    def factory() -> Session:
        backend = cassette.backend() if cassette is not None else live()
        made.append(backend)
        return Session(backend)

    yield factory
    from hakaru.testing.running import run_sync

    for backend in made:  # the sessions did not own them; a closed loop's pool may complain
        with contextlib.suppress(Exception):
            run_sync(backend.aclose())


@pytest.fixture
def hakaru_session(hakaru_session_factory: Callable[[], Session]) -> Session:
    """A Session (enter it with ``async with``) on the sim, or ``--hakaru-backend``."""
    return hakaru_session_factory()
