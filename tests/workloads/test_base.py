"""What every workload declares: the roles its calls play, each of which one model can play."""

from __future__ import annotations

import asyncio

import pytest

from hakaru.errors import ConfigError
from hakaru.runner import run_workload
from hakaru.workloads.base import available_workloads, get_workload


@pytest.mark.parametrize("name", available_workloads())
def test_declared_roles_cover_every_call_and_one_model_plays_them_all(name: str) -> None:
    workload = get_workload(name)
    for variant in workload.variants:
        own = asyncio.run(run_workload(name, variant=variant, sim_error=0))
        assert own.totals["calls"] > 0 and set(own.by_role) <= set(workload.roles)
        one = asyncio.run(run_workload(name, variant=variant, model="sim-oracle", sim_error=0))
        assert set(one.by_model) == {"sim-oracle"}
        assert one.totals["calls"] == own.totals["calls"]


def test_a_role_left_out_of_the_models_is_named() -> None:
    workload = get_workload("debugging")
    assert workload.model("qa", "focused", {}, {"qa": "m1", "developer": "m2"}) == "m1"
    with pytest.raises(ConfigError) as caught:
        workload.model("developer", "focused", {}, {"qa": "m1"})
    assert str(caught.value) == (
        "No model is given for role 'developer' of workload 'debugging'. Give one for each of "
        "its roles: qa, developer"
    )


def test_docstring_examples() -> None:
    import doctest

    import hakaru.workloads.base

    result = doctest.testmod(hakaru.workloads.base)
    assert result.failed == 0 and result.attempted >= 3
