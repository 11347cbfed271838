"""The examples in the docstrings of hakaru.gates run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "hakaru.gates",
    "hakaru.gates.model",
    "hakaru.gates.optimum",
    "hakaru.gates.frontier",
    "hakaru.gates.data",
    "hakaru.gates.fit",
    "hakaru.gates.ab",
    "hakaru.gates.simulated",
    "hakaru.gates.workloads",
    "hakaru.gates.sweep_result",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
