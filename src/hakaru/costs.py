"""Cost models: pluggable functions that price one call record.

Every total hakaru reports exists under each model. The built-in ones:

- ``calls``           1 per attempt sent to a backend (its span is the *depth*)
- ``forward_passes``  output tokens: one LLM forward pass per generated token (paper §2)
- ``aalp``            m·Σ_{j<o}(n+j) = m·(o·n + o(o−1)/2): each generated token is one forward
                      pass over the current context (paper Def. 2.2 with output growth)
- ``linear``          m·(n + o): the paper's "convenient" linear cost of one application
- ``dollars``         the record's USD, priced per token class (:mod:`hakaru.pricing`); a call
                      whose price is unknown adds 0 here and is counted as unpriced
- ``latency``         seconds (simulated on the sim backend, measured elsewhere)

Records served from the cache executed nothing and cost 0 under every model; failed attempts cost
their latency and one ``call`` but no tokens (the server billed nothing we can see). Register a
custom model with :func:`register_cost_model`; sessions created afterwards track it too.
"""

from __future__ import annotations

from collections.abc import Callable

from hakaru.errors import ConfigError
from hakaru.types import CallRecord

__all__ = [
    "COST_MODELS",
    "CostModel",
    "aalp_cost",
    "cost_model",
    "register_cost_model",
]

CostModel = Callable[[CallRecord], float]


def aalp_cost(size: float, n_in: int, n_out: int) -> float:
    """AALP cost of one call: m·Σ_{j=0}^{o−1}(n+j) (paper Def. 2.2, each output token one pass).

    >>> aalp_cost(2.0, 10, 3)   # 2·(10 + 11 + 12)
    66.0
    """
    return size * (n_out * n_in + n_out * (n_out - 1) / 2)


def _calls(r: CallRecord) -> float:
    return 0.0 if r.status == "cached" else 1.0


def _forward_passes(r: CallRecord) -> float:
    return float(r.output_tokens) if r.executed else 0.0


def _aalp(r: CallRecord) -> float:
    return aalp_cost(r.size, r.input_tokens, r.output_tokens) if r.executed else 0.0


def _linear(r: CallRecord) -> float:
    return r.size * (r.input_tokens + r.output_tokens) if r.executed else 0.0


def _dollars(r: CallRecord) -> float:
    return r.dollars or 0.0 if r.executed else 0.0


def _latency(r: CallRecord) -> float:
    return 0.0 if r.status == "cached" else r.latency


COST_MODELS: dict[str, CostModel] = {
    "calls": _calls,
    "forward_passes": _forward_passes,
    "aalp": _aalp,
    "linear": _linear,
    "dollars": _dollars,
    "latency": _latency,
}


def register_cost_model(name: str, fn: CostModel) -> None:
    """Add a cost model; ledgers created afterwards report work and span under it too."""
    if not name.isidentifier():
        raise ConfigError(f"Cost model name '{name}' is not an identifier. Use letters and '_'.")
    COST_MODELS[name] = fn


def cost_model(name: str) -> CostModel:
    """Look a cost model up by name."""
    try:
        return COST_MODELS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown cost model '{name}'. Choose one of: {', '.join(COST_MODELS)}."
        ) from None
