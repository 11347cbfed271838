"""Testing agent programs: growth and cost assertions, cassettes, and the pytest plugin.

- :func:`assert_growth` — ``run(session, n)`` at every size, fitted with the fitter of
  ``hakaru fit``; fails when the cost grows faster than a complexity class.
- :func:`assert_cost`, :func:`assert_no_budget_overshoot` — one run against ``<=`` bounds.
- :class:`Cassette` (:mod:`hakaru.testing.cassette`) — a test's LLM calls recorded to and replayed
  from a JSONL file, for :class:`~hakaru.Session` (:class:`CassetteBackend`) and for programs
  using the OpenAI or Anthropic SDKs (:class:`CassetteServer`, served over local HTTP).
- the pytest plugin (:mod:`hakaru.testing.plugin`, entry point ``pytest11``): fixtures
  ``hakaru_session`` and ``hakaru_cassette``, option ``--hakaru-record``.

docs/testing.md shows the three things a team adds to its CI. The names load on first use
(PEP 562), so pytest loading the plugin at start-up imports no numpy and no HTTP stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hakaru.testing.bounds import assert_cost, assert_no_budget_overshoot
    from hakaru.testing.growth import Growth, assert_growth

__all__ = ["Growth", "assert_cost", "assert_growth", "assert_no_budget_overshoot"]

_HOMES = {
    "Growth": "hakaru.testing.growth",
    "assert_growth": "hakaru.testing.growth",
    "assert_cost": "hakaru.testing.bounds",
    "assert_no_budget_overshoot": "hakaru.testing.bounds",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'hakaru.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)
