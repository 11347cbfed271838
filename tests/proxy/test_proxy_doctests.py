"""The examples in the docstrings of hakaru.proxy run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "hakaru.proxy.serving",
    "hakaru.proxy.upstream",
    "hakaru.proxy.server",
    "hakaru.proxy.faults",
    "hakaru.proxy.wire",
    "hakaru.dependencies",
    "hakaru.proxy.recorder",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
