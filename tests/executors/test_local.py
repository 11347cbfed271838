"""The executor interface without Ray: the local executor, the factory, the CLI options."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click
import pytest
from click.testing import CliRunner

from hakaru.backends.sim import SimBackend
from hakaru.backends.sim.models import BUILTIN_MODELS
from hakaru.budget import Amount, Budget
from hakaru.cli.executor_options import (
    check_executor,
    executor_options,
    point_executor_options,
    session_options,
)
from hakaru.errors import ConfigError
from hakaru.executors import Executor, LocalExecutor, create_executor
from hakaru.executors.budget_actor import worst_case
from hakaru.runner import run_workload
from hakaru.session import Session
from hakaru.tokenizer import count_tokens
from hakaru.types import Request


def test_local_executor_leaves_the_backend_in_process() -> None:
    backend = SimBackend(seed=1)
    executor = create_executor("local")
    assert isinstance(executor, LocalExecutor) and isinstance(executor, Executor)
    assert executor.wrap(backend) is backend


def test_local_executor_gives_the_same_totals_as_none() -> None:
    kw: dict[str, Any] = {"params": {"n": 256, "fan_in": 4}, "seed": 3, "sim_error": 0.05}
    plain = asyncio.run(run_workload("tree-sum", **kw))
    local = asyncio.run(run_workload("tree-sum", session_options={"executor": "local"}, **kw))
    assert local.totals == plain.totals
    assert plain.totals["calls"] == 85  # 64 + 16 + 4 + 1 adds, no resample at this seed


def test_unknown_executor_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        create_executor("dask")
    assert str(err.value) == "Unknown executor 'dask'. Choose 'local' or 'ray'"


def test_missing_ray_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    with pytest.raises(ConfigError) as err:
        create_executor("ray")
    text = str(err.value)
    assert text.startswith("The ray executor needs Ray (")
    assert text.endswith("). Install it with: pip install 'hakaru[ray]'")


@pytest.mark.parametrize(("actors", "per_actor"), [(0, 4), (2, 0)])
def test_ray_executor_rejects_empty_pools(actors: int, per_actor: int) -> None:
    pytest.importorskip("ray")
    from hakaru.executors.ray import RayExecutor

    with pytest.raises(ConfigError, match="Give at least 1|Allow at least 1"):
        RayExecutor(actors=actors, max_concurrency=per_actor)


def test_worst_case_is_what_the_session_reserves() -> None:
    spec = BUILTIN_MODELS["sim-small"].spec
    request = Request.chat("sim-small", "one two three", max_tokens=10)
    n = count_tokens("one two three")  # tokens, as the session estimates them
    dollars = (n * 0.10 + 10 * 0.40) / 1e6  # USD: sim-small's prices per 1M tokens
    assert worst_case(request, spec, prices=spec.prices) == Amount(1, n + 10, dollars, 10)
    session = Session(SimBackend(seed=1), budget=Budget(tokens=1000))
    assert session._reserve(request, spec) == worst_case(request, spec, prices=spec.prices)
    unbounded = worst_case(Request.chat("sim-small", "one two three"), spec)
    assert unbounded.tokens == spec.context_window  # input + the rest of the window


@click.command()
@executor_options
def _show(executor: str, ray_address: str | None, ray_actors: int) -> None:
    click.echo(repr(session_options(executor, ray_address, ray_actors)))


def test_cli_options_default_to_the_local_executor() -> None:
    result = CliRunner().invoke(_show, [])
    assert result.exit_code == 0, result.output
    assert result.output == "{}\n"
    assert "--executor [local|ray]" in CliRunner().invoke(_show, ["--help"]).output


def test_cli_ray_address_needs_the_ray_executor() -> None:
    result = CliRunner().invoke(_show, ["--ray-address", "auto"])
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception) == "--ray-address needs --executor ray. Add --executor ray"
    bad = CliRunner().invoke(_show, ["--executor", "dask"])
    assert bad.exit_code == 2 and "'dask' is not one of 'local', 'ray'" in bad.output


@click.command()
@point_executor_options
def _points(executor: str, ray_address: str | None) -> None:
    check_executor(executor, ray_address)
    click.echo(f"{executor} {ray_address}")


def test_cli_point_options_have_no_actor_count() -> None:
    assert CliRunner().invoke(_points, ["--executor", "ray"]).output == "ray None\n"
    result = CliRunner().invoke(_points, ["--ray-actors", "2"])
    assert result.exit_code == 2 and "No such option" in result.output
