"""The examples in the docstrings of hakaru.hbpo and hakaru.budgets run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "hakaru.hbpo",
    "hakaru.hbpo.config",
    "hakaru.hbpo.reward",
    "hakaru.hbpo.advantage",
    "hakaru.hbpo.partition",
    "hakaru.hbpo.task",
    "hakaru.hbpo.evaluate",
    "hakaru.hbpo.experiment",
    "hakaru.budgets",
    "hakaru.budgets.phrase",
    "hakaru.budgets.policies",
    "hakaru.budgets.stats",
    "hakaru.budgets.reasoning",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    if name in ("hakaru.hbpo.advantage",):
        pytest.importorskip("torch")  # clipped_surrogate's example runs torch
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
