"""The exception tree of hakaru.

Every error hakaru raises on purpose is a :class:`HakaruError`. Library code raises them with a
message that says what was wrong and what to do; only the command line turns them into the
one-line ``Error: …`` output (with a traceback when ``HAKARU_DEBUG=1``)::

    HakaruError
    ├── ConfigError            bad option, unknown model/workload/backend, invalid parameter
    │   └── CapabilityError    the model lacks the capability the task needs (paper Def. 2.3)
    ├── BackendError           a call to a backend failed
    │   ├── RateLimited        HTTP 429 (carries retry_after seconds)           — retried
    │   ├── ServerError        HTTP 5xx                                          — retried
    │   ├── ConnectionFailed   refused/reset connection, broken stream           — retried
    │   ├── BackendTimeout     no answer within the timeout                      — retried
    │   ├── ContextOverflow    prompt (plus max_tokens) exceeds the context window
    │   ├── BadResponse        malformed JSON, missing fields
    │   ├── RequestRejected    any other HTTP 4xx                                — never retried
    │   └── ReplayMiss         the replay file holds no answer for this request
    ├── BudgetExceeded         a hard budget would be overshot; the call was not made
    ├── RedFlag                a validator rejected a response (it is recorded, never repaired)
    ├── StepFailed             a step (vote, MDAP step, workload stage) could not be completed
    └── StoreError             the run store (or a record file) cannot be opened or written
        └── RunNotFound        no run with that id or prefix (hakaru.store)
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendTimeout",
    "BadResponse",
    "BudgetExceeded",
    "CapabilityError",
    "ConfigError",
    "ConnectionFailed",
    "ContextOverflow",
    "HakaruError",
    "RateLimited",
    "RedFlag",
    "ReplayMiss",
    "RequestRejected",
    "ServerError",
    "StepFailed",
    "StoreError",
]


class HakaruError(Exception):
    """Base of every error hakaru raises on purpose."""

    #: Exit status the command line uses for this error (2: usage, 1: runtime).
    exit_code = 1


class ConfigError(HakaruError):
    """An option, a name or a parameter is invalid."""

    exit_code = 2


class CapabilityError(ConfigError):
    """The chosen model's capability set lacks what the task needs (paper Def. 2.3)."""


class BackendError(HakaruError):
    """A backend failed to answer a request.

    ``retryable`` says whether the session's retry loop may try again; ``kind`` is the short name
    recorded in the ledger (``error_kind``).
    """

    retryable = False
    kind = "backend"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(BackendError):
    """HTTP 429. ``retry_after`` (seconds) is honoured by the retry loop when the server sent it."""

    retryable = True
    kind = "rate_limited"

    def __init__(
        self, message: str, *, status: int | None = 429, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ServerError(BackendError):
    """HTTP 5xx."""

    retryable = True
    kind = "server_error"


class ConnectionFailed(BackendError):
    """The connection was refused, reset or dropped mid-response."""

    retryable = True
    kind = "connection"


class BackendTimeout(BackendError):
    """No complete answer within the timeout."""

    retryable = True
    kind = "timeout"


class ContextOverflow(BackendError):
    """The prompt plus the requested output does not fit the model's context window."""

    kind = "context_overflow"


class BadResponse(BackendError):
    """The backend answered with something that is not a valid completion."""

    retryable = True
    kind = "bad_response"


class RequestRejected(BackendError):
    """HTTP 4xx other than 429: the request itself is wrong; retrying cannot help."""

    kind = "rejected"


class ReplayMiss(BackendError):
    """The replay file has no recorded response for this request and occurrence."""

    kind = "replay_miss"


class BudgetExceeded(HakaruError):
    """A hard budget would be exceeded; the call was refused before it was made."""

    def __init__(self, message: str, *, resource: str = "") -> None:
        super().__init__(message)
        self.resource = resource


class RedFlag(HakaruError):
    """Raised by a validator: the response shows a sign of failure and must not be used."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StepFailed(HakaruError):
    """A step could not be completed (for example a vote hit its sample cap).

    ``run_id`` names the stored run it stopped, when there is one to resume.
    """

    def __init__(self, message: str, *, run_id: str = "") -> None:
        super().__init__(message)
        self.run_id = run_id


class StoreError(HakaruError):
    """The run store, or a response/record file, cannot be opened, read or written."""
