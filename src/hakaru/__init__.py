"""hakaru (測る, "to measure"): count every LLM primitive an agent system spends.

The public API is exactly ``__all__`` (a test guards it). Heavy libraries (torch, ray, scipy,
matplotlib) are imported lazily by the modules that need them.
"""

from importlib import metadata as _metadata

from hakaru.backends.base import Backend, available_backends, create_backend, register_backend
from hakaru.budget import Budget
from hakaru.cache import ResponseCache
from hakaru.costs import aalp_cost, register_cost_model
from hakaru.errors import (
    BackendError,
    BackendTimeout,
    BadResponse,
    BudgetExceeded,
    CapabilityError,
    ConfigError,
    ConnectionFailed,
    ContextOverflow,
    HakaruError,
    RateLimited,
    RedFlag,
    ReplayMiss,
    RequestRejected,
    ServerError,
    StepFailed,
    StoreError,
)
from hakaru.ledger import Ledger, WorkSpan, work_span
from hakaru.limits import RetryPolicy
from hakaru.session import Session
from hakaru.sync import SyncSession
from hakaru.tokenizer import count_tokens
from hakaru.types import CallRecord, Message, ModelSpec, Request, Response, Task, Usage

# Last: the facade's one entry point above the core (tests/test_imports.py allows exactly it).
# The function shadows the package's name here; its modules stay importable by full name.
from hakaru.capture.api import capture  # isort: skip

try:  # written once, in pyproject.toml
    __version__ = _metadata.version("hakaru")
except _metadata.PackageNotFoundError:  # pragma: no cover (a source tree that is not installed)
    __version__ = "0.0.0+unknown"

__all__ = [
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
]
