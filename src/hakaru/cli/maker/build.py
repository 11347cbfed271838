"""What ``maker run`` and ``maker calibrate`` run on, built from their shared options.

The backend (the simulated Hanoi models, optionally with a fixed error rate, or an
OpenAI-compatible server), the run store (batched commits for a step driver) and the task.
Heavy imports stay inside the functions, so ``hakaru maker --help`` loads none of them.
"""

from __future__ import annotations

from typing import Any

from hakaru.errors import ConfigError


def _sim_backend(seed: int, sim_error: float | None, time_scale: float | None) -> Any:
    import dataclasses

    from hakaru.backends.sim import SimBackend
    from hakaru.mdap.hanoi import HANOI_MODELS

    models = list(HANOI_MODELS.values())
    if sim_error is not None:
        if not 0.0 <= sim_error <= 1.0:
            raise ConfigError(f"--sim-error is {sim_error}. Give a probability in [0, 1].")
        models = [dataclasses.replace(m, base_error=sim_error, max_error=sim_error) for m in models]
    return SimBackend(
        seed=seed,
        models=models,
        real_time=time_scale is not None,
        time_scale=time_scale or 1.0,
    )


def build_backend(
    backend: str, base_url: str | None, api_key: str | None, seed: int, sim_error: float | None,
    time_scale: float | None, *, model: str | None = None,
) -> Any:  # fmt: skip
    """The simulated Hanoi models (``sim``), the trained ``neural-hanoi`` model (``neural``:
    ``model``) or an OpenAI-compatible server, from the options."""
    from hakaru.backends.base import create_backend

    if backend == "sim":
        if base_url or api_key:
            raise ConfigError(
                "--base-url and --api-key need --backend openai. Add --backend openai"
            )
        return _sim_backend(seed, sim_error, time_scale)
    if sim_error is not None or time_scale is not None:
        raise ConfigError("--sim-error and --sim-time-scale apply to --backend sim only. Drop them")
    if backend == "neural":
        if base_url or api_key:
            raise ConfigError("--base-url and --api-key need --backend openai. Drop them")
        return create_backend("neural", model=model or "neural-hanoi", seed=seed)
    return create_backend(backend, base_url=base_url, api_key=api_key)


def open_store(store: str | None, no_store: bool, *, batched: bool = False) -> Any:
    """The run store at ``store`` (default: $HAKARU_HOME), or ``None`` with ``--no-store``."""
    if no_store:
        return None
    if batched:  # a step driver's records, committed in large transactions (see BatchedStore)
        from hakaru.mdap.batched_store import BatchedStore

        return BatchedStore(store)
    from hakaru.store import RunStore

    return RunStore(store)  # None: $HAKARU_HOME/hakaru.db


def build_task(name: str, disks: int, reasoning_tokens: int | None = None) -> Any:
    """The MDAP named ``name`` (only ``hanoi``) of ``disks`` disks."""
    if name != "hanoi":
        raise ConfigError(f"Unknown MAKER task '{name}'. Known: hanoi.")
    from hakaru.mdap.hanoi import HANOI_KIND, HanoiStepKind, HanoiTask

    if reasoning_tokens is None or reasoning_tokens == HANOI_KIND.reasoning_tokens:
        return HanoiTask(disks)
    if reasoning_tokens < 0:
        raise ConfigError(f"--reasoning-tokens is {reasoning_tokens}. Give 0 or more tokens.")
    kind = HanoiStepKind(name=f"hanoi-step-r{reasoning_tokens}", reasoning_tokens=reasoning_tokens)
    return HanoiTask(disks, kind)
