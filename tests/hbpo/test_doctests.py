"""The docstring examples of hakaru.hbpo and hakaru.reasoning run and print what they say."""

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
    "hakaru.reasoning",
    "hakaru.reasoning.phrase",
    "hakaru.reasoning.policies",
    "hakaru.reasoning.stats",
    "hakaru.reasoning.kind",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    if name in ("hakaru.hbpo.advantage",):
        pytest.importorskip("torch")  # clipped_surrogate's example runs torch
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
