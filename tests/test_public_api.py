"""The public API is a visible decision, and importing hakaru stays light."""

from __future__ import annotations

import subprocess
import sys

import hakaru

EXPECTED = {
    "Backend",
    "BackendError",
    "BackendTimeout",
    "BadResponse",
    "Budget",
    "BudgetExceeded",
    "CallRecord",
    "CapabilityError",
    "ConfigError",
    "ConnectionFailed",
    "ContextOverflow",
    "HakaruError",
    "Ledger",
    "Message",
    "ModelSpec",
    "RateLimited",
    "RedFlag",
    "ReplayMiss",
    "Request",
    "RequestRejected",
    "Response",
    "ResponseCache",
    "RetryPolicy",
    "ServerError",
    "Session",
    "StepFailed",
    "StoreError",
    "SyncSession",
    "Task",
    "Usage",
    "WorkSpan",
    "aalp_cost",
    "available_backends",
    "capture",
    "count_tokens",
    "create_backend",
    "register_backend",
    "register_cost_model",
    "work_span",
}


def test_all_is_exactly_the_public_api() -> None:
    assert set(hakaru.__all__) == EXPECTED
    assert len(hakaru.__all__) == len(EXPECTED)
    for name in hakaru.__all__:
        assert getattr(hakaru, name) is not None


def test_import_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, hakaru, hakaru.session, hakaru.backends.sim, hakaru.store, hakaru.cli.main;"
        "heavy = [m for m in ('torch', 'ray', 'scipy', 'matplotlib', 'numpy', 'opentelemetry')"
        " if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_version_is_the_installed_package_version() -> None:
    from importlib.metadata import version

    assert hakaru.__version__ == version("hakaru")
