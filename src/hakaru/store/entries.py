"""What a run store holds, as values: runs (and whether the process running one is alive),
sweep points and checkpoints; run ids; the error for a run that is not there.

Run ids are 12 hex characters sortable by creation time (10 of milliseconds since 2020-01-01
UTC, 2 random); any unique prefix names a run. A run records its owner, ``host:pid``: a run
still ``running`` whose process is gone is reported ``interrupted``.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from hakaru.errors import StoreError

__all__ = [
    "Checkpoint",
    "RunInfo",
    "RunNotFound",
    "SweepPoint",
    "new_run_id",
    "owner",
    "owner_alive",
]

_EPOCH_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z in ms; 10 hex digits of ms last until 2054
_last_ms = 0


class RunNotFound(StoreError):
    """A run id (or id prefix) names no stored run, or more than one."""

    exit_code = 2

    @classmethod
    def unknown(cls, ref: str, path: Path) -> RunNotFound:
        """The error for a reference that matches no run of the store at ``path``."""
        return cls(f"No run '{ref}' in {path}. List runs with 'hakaru runs list'.")


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One stored run. Times are Unix seconds; ``calls`` counts its stored call records."""

    id: str
    kind: str  # what ran: "workload", "sweep", "maker", ...
    name: str
    params: dict[str, Any]
    #: "running", "done", "failed", or "interrupted": stored as running, but the process that
    #: ran it on this host has ended (it was killed, or crashed) — see :func:`owner_alive`.
    status: str
    created: float
    ended: float | None = None
    summary: dict[str, Any] | None = None
    calls: int = 0

    @property
    def duration(self) -> float | None:
        """Wall seconds from creation to finish; ``None`` while running."""
        return None if self.ended is None else self.ended - self.created

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["duration"] = self.duration
        return out


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """One finished point of a sweep, keyed so that a resumed sweep skips it."""

    sweep_id: str
    key: str
    params: dict[str, Any]
    result: Any
    run_id: str | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The state a step driver saved after ``step``, to resume from."""

    run_id: str
    step: int
    state: Any
    created: float  # Unix seconds


def owner_alive(owner: str) -> bool:
    """Whether the process ``owner`` (``"host:pid"``, as runs record it) may still be running.

    ``False`` only when it ran on this host and no process has its pid now; a run owned by
    another host counts as alive (this host cannot tell). A pid reused by a new process makes a
    killed run look alive: rare, and it errs on the safe side.
    """
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # it exists, but belongs to another user
        return True
    return True


def new_run_id() -> str:
    """12 hex characters: ms since 2020 (strictly increasing in this process) + 8 random bits."""
    global _last_ms
    ms = max(int(time.time() * 1000) - _EPOCH_MS, _last_ms + 1)
    _last_ms = ms
    return f"{ms:010x}{secrets.randbelow(256):02x}"


def owner() -> str:
    """This process, as a run records its owner: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"
