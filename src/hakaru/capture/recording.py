"""Captured calls into a run of the store: ids, parents, prices, one commit per call.

:class:`CapturedRun` is what the span processor (:mod:`hakaru.capture.processor`) reports
calls to. It knows nothing of OpenTelemetry: a call is *started* with the path of spans that
contain it and *finished* with what its span said (:class:`~hakaru.capture.spans.LlmCall`).

**Parents.** Timing gives the candidates, exactly as the recording proxy infers them
(:class:`hakaru.dependencies.InferredDependencies`: a call may depend on the calls that
finished before it started, kept as the frontier of that relation). Span context then removes
what it disproves: a call A inside a span that was still running when call B started (a node
of a parallel branch, an agent that had not returned) cannot have handed B its result, unless
B runs inside that same span. So for a candidate A, the outermost span that contains A and not
B must have ended before B started; a candidate that fails is replaced by its own parents,
checked the same way (the frontier holds only the latest calls of a chain); the frontier then
drops only the parents kept, so a disproved candidate stays a possible parent of later calls.

**Durability.** Each record is committed before :meth:`finish` returns — on the thread that
ended the span, before the program gets its answer when the SDK's span ends with the call — so a
program that crashes, or is killed, leaves every call it had finished in the store.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from hakaru.backends.sim.models import BUILTIN_MODELS
from hakaru.capture.spans import LlmCall
from hakaru.dependencies import InferredDependencies
from hakaru.ledger import Ledger
from hakaru.pricing import PriceBook, Prices, PriceSource, dollars_of
from hakaru.store import RunStore
from hakaru.types import CallRecord, ModelSpec

if TYPE_CHECKING:
    from hakaru.otel.live import LiveExport

__all__ = ["CapturedRun", "Recorder", "Started"]

_NS = 1e-9


class Started:
    """A call in flight: its id, parents, the spans that contain it and when it started."""

    __slots__ = ("after", "id", "parents", "path", "role", "start_ns")

    def __init__(
        self,
        call_id: int,
        parents: tuple[int, ...],
        path: tuple[int, ...],
        role: str,
        start_ns: int,
        after: Any = None,
    ) -> None:
        self.id = call_id
        self.parents = parents  # the timing rule's, less what span context disproves
        self.path = path
        self.role = role
        self.start_ns = start_ns
        self.after = after  # what the recorder keeps of the call's start (a session's frontier)


class Recorder(Protocol):
    """What the span processor reports calls to: :class:`CapturedRun` (a run of its own) or
    :class:`~hakaru.capture.session_run.SessionRun` (a live session's run)."""

    pid: int

    @property
    def closed(self) -> bool: ...

    def start(self, path: tuple[int, ...], role: str, start_ns: int) -> Started: ...

    def span_ended(self, span_id: int, end_ns: int) -> None: ...

    def finish(
        self,
        started: Started,
        call: LlmCall,
        end_ns: int,
        *,
        error_kind: str = "",
        error: str = "",
    ) -> CallRecord: ...


class CapturedRun:
    """The calls of one capture, recorded under ``run_id`` of ``store`` as they finish.

    Thread-safe: spans end on whatever thread the program runs them. ``models`` gives the
    size and prices of model names (the simulated catalog is known already), ``prices`` a price
    table or file for the others (then the genai-prices snapshot: :mod:`hakaru.pricing`).
    """

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        *,
        models: Mapping[str, ModelSpec] | None = None,
        prices: PriceSource = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.sink = store.sink(run_id)
        self.ledger = Ledger(keep_records=False)
        self.dependencies = InferredDependencies()
        self.models: dict[str, ModelSpec] = {n: m.spec for n, m in BUILTIN_MODELS.items()}
        self.models.update(models or {})
        self.book = prices if isinstance(prices, PriceBook) else PriceBook(prices)
        self.pid = os.getpid()  # records are written by this process only (not a forked child)
        self.recorded = 0
        self.estimated = 0  # calls whose tokens were estimated (no usage reported)
        self._lock = threading.Lock()
        self._t0_ns = time.time_ns()
        self.t0 = self._t0_ns / 1e9  # epoch seconds at the records' time 0
        self._calls: dict[int, tuple[tuple[int, ...], tuple[int, ...], int]] = {}
        self._finish: dict[int, tuple[float, ...]] = {}
        self._ended: dict[int, int] = {}  # span id → end (ns), for spans that contain calls
        self._containers: set[int] = set()
        self.live: LiveExport | None = None  # spans streamed to an OTLP endpoint
        self.otlp: dict[str, int] = {}  # sent and dropped spans, once the stream ended

    @property
    def closed(self) -> bool:
        """Whether the run takes no more records (the capture ended)."""
        return self.sink.closed

    # -- calls -------------------------------------------------------------------------------

    def start(self, path: tuple[int, ...], role: str, start_ns: int) -> Started:
        """A call begins inside the spans ``path`` (outermost first) at ``start_ns``."""
        with self._lock:
            call_id, candidates = self.dependencies.start()
            self._containers.update(path)
            parents = self._possible(candidates, path, start_ns)
            return Started(call_id, parents, path, role, start_ns)

    def _possible(
        self, candidates: tuple[int, ...], path: tuple[int, ...], start_ns: int
    ) -> tuple[int, ...]:
        """The candidates span context does not disprove (see the module docstring)."""
        kept: dict[int, None] = {}
        todo = list(candidates)
        seen: set[int] = set()
        while todo:
            a = todo.pop()
            if a in seen:
                continue
            seen.add(a)
            a_path, a_parents, _ = self._calls[a]
            k = 0
            for x, y in zip(a_path, path, strict=False):
                if x != y:
                    break
                k += 1
            if k == len(a_path):  # every span around A also holds B: timing decides
                kept[a] = None
                continue
            ended = self._ended.get(a_path[k])
            if ended is not None and ended <= start_ns:
                kept[a] = None
            else:
                todo.extend(a_parents)
        return tuple(sorted(kept))

    def span_ended(self, span_id: int, end_ns: int) -> None:
        """A span (not an LLM call) ended; kept only if it contains calls."""
        if span_id in self._containers:
            with self._lock:
                self._ended[span_id] = end_ns

    def prices(self, model: str) -> Prices | None:
        """The prices of ``model`` (``None``: unknown), resolved once per run and stored."""
        if model in self.ledger.prices:
            return self.ledger.prices[model]
        found = self.book.resolve(model, self.models.get(model))
        self.ledger.set_prices(model, found)
        self.store.put_prices(self.run_id, model, found)
        return found

    def finish(
        self,
        started: Started,
        call: LlmCall,
        end_ns: int,
        *,
        error_kind: str = "",
        error: str = "",
    ) -> CallRecord:
        """The call ended: record it (committed before this returns)."""
        failed = bool(error_kind)
        with self._lock:
            # The frontier drops only the parents kept: a candidate span context disproved
            # stays in it, a possible parent of later calls.
            self.dependencies.finish(started.id, started.parents)
            self._calls[started.id] = (started.path, started.parents, end_ns)
            dollars: float | None = 0.0
            if not failed:
                dollars = dollars_of(self.prices(call.model), call)
            spec = self.models.get(call.model)
            begun = (started.start_ns - self._t0_ns) * _NS
            ended = (end_ns - self._t0_ns) * _NS
            record = CallRecord(
                id=started.id,
                parents=started.parents,
                role=started.role,
                model=call.model,
                status="error" if failed else "ok",
                error_kind=error_kind,
                error=error,
                input_tokens=0 if failed else call.input_tokens,
                output_tokens=0 if failed else call.output_tokens,
                reasoning_tokens=0 if failed else call.reasoning_tokens,
                cache_read_tokens=0 if failed else call.cache_read_tokens,
                cache_write_tokens=0 if failed else call.cache_write_tokens,
                usage_source="estimated" if call.estimated and not failed else "reported",
                size=spec.size if spec is not None else 1.0,
                dollars=dollars,
                latency=ended - begun,
                started=begun,
                ended=ended,
                sim_start=begun,
                sim_end=ended,
                finish_reason=call.finish_reason,
                run_id=self.run_id,
            )
            self.sink.add(record)
            self.sink.flush()
            if self.live is not None:
                self.live.add_record(record)
            start = self.ledger.zero
            for p in started.parents:
                f = self._finish.get(p)
                if f is not None:
                    start = tuple(map(max, start, f))
            self._finish[started.id] = self.ledger.add(record, start)
            self.recorded += 1
            self.estimated += record.usage_source == "estimated" and not failed
            return record

    # -- the run -----------------------------------------------------------------------------

    def totals(self) -> dict[str, Any]:
        """The run's totals so far (the keys of ``hakaru run --json``)."""
        with self._lock:
            totals = self.ledger.totals()
        totals["peak_concurrency"] = self.dependencies.peak_in_flight
        totals["estimated_calls"] = self.estimated
        return totals

    def end_live(self) -> dict[str, int]:
        """End the stream of spans (if any): the root span with the totals, a bounded flush;
        returns ``otlp_spans_sent`` and ``otlp_spans_dropped`` (empty without a stream)."""
        if self.live is not None and not self.otlp:
            self.otlp = self.live.close(self.totals())
        return dict(self.otlp)

    def close(self) -> None:
        """Commit what is queued and take no more records."""
        self.end_live()
        with self._lock:
            if not self.sink.closed:
                self.sink.close()
