"""One call in flight through the recording proxy, and its record (written exactly once).

:class:`InFlight` is made when the proxy has read a request: it takes the call's id and parents
from the recorder's inferred dependencies, numbers retries (a body identical to one that just
failed is the next ``attempt``) and the call's start. Whatever happens next — an answer, an
upstream error, a stream broken half way, a client that went away — ends in one
:meth:`InFlight.finish`: the record, priced at the recorder's prices, with tokens the server did
not report estimated (and marked so), any secret cut out of the error text, queued for the store
and added to the ledger.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hakaru.backends.reasoning_controls import requested_budget
from hakaru.proxy.wire import Outcome, prompt_text, streamed_texts
from hakaru.tokenizer import count_tokens
from hakaru.types import CallRecord

if TYPE_CHECKING:
    from hakaru.proxy.recorder import Recorder

__all__ = ["InFlight"]

_MAX_FAILED = 10_000  # failed request digests remembered to recognise retries


def _asked(endpoint: str, body: Mapping[str, Any]) -> int | None:
    """The reasoning budget a forwarded request asked for, in its API's own parameter."""
    api = {"chat": "openai-chat", "messages": "anthropic"}.get(endpoint)
    return None if api is None else requested_budget(api, body).budget


class InFlight:
    """One recorded call in flight; :meth:`finish` writes its record exactly once."""

    __slots__ = (
        "attempt",
        "body",
        "done",
        "endpoint",
        "id",
        "key",
        "model",
        "parents",
        "recorder",
        "role",
        "secrets",
        "start_vec",
        "started",
        "strip_usage",
    )

    def __init__(
        self,
        recorder: Recorder,
        endpoint: str,
        body: dict[str, Any],
        raw: bytes,
        role: str,
        secrets: tuple[str, ...],
    ) -> None:
        self.recorder = recorder
        self.endpoint = endpoint
        self.body = body
        self.role = role
        self.secrets = secrets
        self.done = False
        self.strip_usage = False  # the proxy asked for the usage chunk: the client never sees it
        model = body.get("model")
        self.model = model if isinstance(model, str) and model else "unknown"
        self.key = hashlib.blake2b(raw, digest_size=16).digest()
        self.attempt = recorder._failed.pop(self.key, 0) + 1
        self.id, self.parents = recorder.dependencies.start()
        # What the parents' finish vectors come to: the latest finish, per cost model, of all
        # calls finished so far (finish grows along every link, so the frontier holds it).
        self.start_vec = recorder._reach
        self.started = time.perf_counter() - recorder._t0

    def settle(self, outcome: Outcome) -> None:
        """Record ``outcome``, estimating the token counts the server did not report."""
        n_in, n_out = outcome.input_tokens, outcome.output_tokens
        estimated = outcome.status == "ok" and (n_in is None or n_out is None)
        if n_in is None:
            n_in = count_tokens(prompt_text(self.endpoint, self.body)) if estimated else 0
        if n_out is None:
            n_out = sum(count_tokens(t) for t in outcome.texts) if estimated else 0
        self.finish(outcome, n_in, n_out, estimated)

    def fail(self, kind: str, message: str) -> None:
        self.finish(Outcome("error", kind, message), 0, 0, False)

    def partial(self, kind: str, message: str, events: list[bytes]) -> None:
        """Record a stream that ended early, with the tokens relayed so far (estimated)."""
        n_out = sum(count_tokens(t) for t in streamed_texts(events))
        n_in = count_tokens(prompt_text(self.endpoint, self.body))
        self.finish(Outcome("error", kind, message), n_in, n_out, True)

    def finish(self, outcome: Outcome, n_in: int, n_out: int, estimated: bool) -> None:
        if self.done:
            return
        self.done = True
        recorder = self.recorder
        ended = time.perf_counter() - recorder._t0
        recorder.dependencies.finish(self.id, self.parents)
        recorder.estimated += estimated
        name = self.model if self.model != "unknown" else (outcome.model or self.model)
        spec = recorder.models.get(name)
        sink = recorder.sink_for_call()  # opens a run if none is open: before pricing in it
        reasoning = min(outcome.reasoning_tokens, n_out)
        read = min(outcome.cache_read_tokens, n_in)
        write = min(outcome.cache_write_tokens, n_in - read)
        dollars: float | None = 0.0  # USD: an attempt that failed billed nothing we can see
        if outcome.status == "ok":
            prices = recorder.prices(name)
            dollars = (
                None if prices is None else prices.dollars(n_in, n_out, reasoning, read, write)
            )
        error = outcome.error
        for secret in self.secrets:
            error = error.replace(secret, "***")
        record = CallRecord(
            id=self.id,
            parents=self.parents,
            role=self.role,
            model=name,
            attempt=self.attempt,
            status=outcome.status,
            error_kind=outcome.error_kind,
            error=error,
            input_tokens=n_in,
            output_tokens=n_out,
            reasoning_tokens=reasoning,
            cache_read_tokens=read,
            cache_write_tokens=write,
            usage_source="estimated" if estimated else "reported",
            size=spec.size if spec is not None else 1.0,
            dollars=dollars,
            latency=ended - self.started,
            started=self.started,
            ended=ended,
            sim_start=self.started,
            sim_end=ended,
            finish_reason=outcome.finish_reason,
            reasoning_budget=_asked(self.endpoint, self.body),
            run_id=recorder.run_id or "",
        )
        if outcome.status == "error":
            failed = recorder._failed
            failed[self.key] = self.attempt
            if len(failed) > _MAX_FAILED:  # forget the oldest failure never retried
                del failed[next(iter(failed))]
        sink.add(record)
        finish = recorder.ledger.add(record, self.start_vec)
        recorder._reach = tuple(map(max, recorder._reach, finish))
        recorder.recorded += 1
        if recorder.dependencies.in_flight == 0:
            recorder._idle.set()
