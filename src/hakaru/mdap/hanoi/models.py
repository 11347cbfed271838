"""Simulated models for Hanoi steps, used by ``hakaru maker run`` and ``maker calibrate``."""

from __future__ import annotations

from hakaru.backends.sim.models import SimModel

# Prices and verbosity like the paper's models (USD per 1M tokens); per-step error rates chosen
# so that the three span the planner's range. Error rates are flat in the context fill
# (max_error = base_error): MAKER found them "remarkably stable" in the number of disks.
HANOI_MODELS: dict[str, SimModel] = {
    m.name: m
    for m in (
        SimModel(
            "sim-hanoi-mini",  # gpt-4.1-mini-like: p ≈ 0.998, some correlated and malformed
            size=8.0,
            context_window=32_768,
            price_in=0.40,
            price_out=1.60,
            base_error=0.002,
            rho=0.3,
            malformed_rate=0.004,
            overlong_rate=0.001,
            overlong_tokens=1000,
            overlong_error=0.5,
            ttft=0.3,
            prefill_tps=8000,
            decode_tps=90,
        ),
        SimModel(
            "sim-hanoi-nano",  # cheaper and much less reliable (gpt-4.1-nano-like prices)
            size=2.0,
            context_window=32_768,
            price_in=0.10,
            price_out=0.40,
            base_error=0.06,
            rho=0.3,
            malformed_rate=0.02,
            overlong_rate=0.005,
            overlong_tokens=1000,
            ttft=0.2,
            prefill_tps=12_000,
            decode_tps=150,
        ),
        SimModel(
            "sim-hanoi-oss",  # gpt-oss-20B-like: cheap, p ≈ 0.964
            size=20.0,
            context_window=32_768,
            price_in=0.05,
            price_out=0.20,
            base_error=0.036,
            rho=0.3,
            malformed_rate=0.01,
            overlong_rate=0.003,
            overlong_tokens=1000,
            ttft=0.3,
            prefill_tps=6000,
            decode_tps=120,
        ),
    )
}
