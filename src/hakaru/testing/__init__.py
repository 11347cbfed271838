"""Testing agent programs: growth and cost assertions, cassettes, and the pytest plugin.

- :func:`assert_growth` — ``run(session, n)`` at every size, fitted with the fitter of
  ``hakaru fit``; fails when the cost grows faster than a complexity class.
- :func:`assert_cost`, :func:`assert_no_budget_overshoot` — one run against ``<=`` bounds.
- :class:`Cassette` (:mod:`hakaru.testing.cassette`) — a test's LLM calls recorded to and replayed
  from a JSONL file, for :class:`~hakaru.Session` (:class:`CassetteBackend`) and for programs
  using the OpenAI or Anthropic SDKs (:class:`CassetteServer`, served over local HTTP).
- the pytest plugin (:mod:`hakaru.testing.plugin`, entry point ``pytest11``): fixtures
  ``hakaru_session`` and ``hakaru_cassette``, option ``--hakaru-record``.

docs/testing.md shows the three things a team adds to its CI.
"""

from hakaru.testing.bounds import assert_cost, assert_no_budget_overshoot
from hakaru.testing.growth import Growth, assert_growth

__all__ = ["Growth", "assert_cost", "assert_growth", "assert_no_budget_overshoot"]
