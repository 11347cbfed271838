"""Session: the one chokepoint every LLM call goes through.

``Session.call`` applies, in order: the capability check (paper Def. 2.3), the budget
reservation, the response cache, the concurrency and rate limits, the backend call with timeout
and retries — and records one :class:`~hakaru.types.CallRecord` per attempt in the ledger and the
run store. Because nothing bypasses it, every count it reports is exact.

Happens-before needs no bookkeeping from the caller: a new call depends on the *frontier* of
its asyncio task, and forks keep it (:mod:`hakaru.happens_before`, a base class of Session).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from hakaru.admission import Admission
from hakaru.backends.base import Backend, create_backend
from hakaru.budget import Amount, Budget, BudgetGuard
from hakaru.errors import BackendTimeout, BudgetExceeded, ConfigError, RedFlag
from hakaru.happens_before import Frontier
from hakaru.ledger import Ledger
from hakaru.limits import RateLimiter, RetryPolicy, Slots
from hakaru.pricing import PriceBook, Prices, PriceSource
from hakaru.types import (
    CallRecord,
    CallStatus,
    ModelSpec,
    Request,
    Response,
)

if TYPE_CHECKING:
    from hakaru.cache import ResponseCache
    from hakaru.executors import Executor
    from hakaru.otel.live import LiveExport
    from hakaru.store import CallSink, RunStore

__all__ = ["Session"]

Validator = Callable[[Response], Any]


#: Reasoning budgets by role (``"*"``: every other role), or a function of the request (a
#: policy per step, say); ``None`` from either: no budget.
ReasoningBudgets = Mapping[str, int] | Callable[[Request], int | None]


def _check_reasoning_budgets(budgets: ReasoningBudgets | None) -> ReasoningBudgets | None:
    if budgets is None or callable(budgets):
        return budgets
    for role, b in budgets.items():
        if isinstance(b, bool) or not isinstance(b, int) or b < 0:
            raise ConfigError(
                f"Reasoning budget {b!r} for role '{role}' is not a token count. Give tokens >= 0."
            )
    return dict(budgets)


def _with_reasoning_budget(request: Request, budgets: ReasoningBudgets) -> Request:
    """``request`` with the budget its role (or the policy) gives it, recorded in the ledger
    and sent by the backend in its API's own parameter."""
    b = budgets(request) if callable(budgets) else budgets.get(request.role, budgets.get("*"))
    return request if b is None else replace(request, reasoning_budget=b)


class Session(Admission):
    """Run LLM calls, count them, and record them.

    >>> import asyncio, hakaru
    >>> async def main():
    ...     async with hakaru.Session("sim") as s:
    ...         r = await s.call(hakaru.Request.chat("sim-small", "Say hi"))
    ...         return s.totals()["calls"]
    >>> asyncio.run(main())
    1

    Parameters (all optional): ``models`` — extra :class:`ModelSpec` s (override the backend's);
    ``concurrency`` — calls in flight at once; ``per_model`` — a cap per model (an int for every
    model or a mapping); ``rpm``/``tpm`` — requests and tokens per minute; ``timeout`` — seconds
    per attempt; ``retry`` — a :class:`RetryPolicy`; ``budget`` — a :class:`Budget`;
    ``cache`` — a :class:`~hakaru.cache.ResponseCache` or a path to record to; ``store`` — a
    :class:`~hakaru.store.RunStore` or a path, to persist every record; ``durability`` — ``"call"``
    (a call returns only once its record is committed) or ``"batch"``; ``keep_records`` — keep
    records in memory (turn off for million-call runs; totals stay exact); ``max_tokens`` — the
    default output cap; ``input_margin`` — factor on estimated input tokens when reserving budget;
    ``executor`` — where backend calls run: ``"local"`` (default) or ``"ray"`` (see
    :mod:`hakaru.executors`); ``prices`` — a price table (model → :class:`~hakaru.pricing.Prices`)
    or a price file, consulted after the model specs and before the genai-prices snapshot (see
    :mod:`hakaru.pricing`; a model priced nowhere is recorded as unpriced, never as $0);
    ``reasoning_budgets`` — reasoning tokens per role (``{"planner": 2048, "*": 256}``) or a
    function of the request (a policy per step), given to every call without its own
    ``reasoning_budget``: recorded in the ledger, sent by the backend in its API's parameter.
    ``otlp_endpoint`` — an OTLP/HTTP URL to stream every attempt to as an OpenTelemetry GenAI
    span while the run goes (:mod:`hakaru.otel.live`: batched off the event loop; a dead
    endpoint is reported once and its spans dropped and counted, never failing the run).
    """

    def __init__(
        self,
        backend: Backend | str = "sim",
        *,
        models: Iterable[ModelSpec] = (),
        concurrency: int = 256,
        per_model: int | dict[str, int] | None = None,
        rpm: float | None = None,
        tpm: float | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        budget: Budget | None = None,
        cache: ResponseCache | str | Path | None = None,
        store: RunStore | str | Path | bool | None = None,
        run_kind: str = "session",
        run_name: str = "",
        run_params: dict[str, Any] | None = None,
        durability: Literal["call", "batch"] = "call",
        keep_records: bool = True,
        max_tokens: int | None = None,
        input_margin: float = 1.0,
        seed: int = 0,
        executor: Executor | str | None = None,
        prices: PriceSource = None,
        reasoning_budgets: ReasoningBudgets | None = None,
        otlp_endpoint: str | None = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"concurrency is {concurrency}. Allow at least 1 call in flight.")
        if durability not in ("call", "batch"):
            raise ConfigError(f"durability '{durability}' is unknown. Use 'call' or 'batch'.")
        self.backend: Backend = create_backend(backend) if isinstance(backend, str) else backend
        self._inner = self.backend  # before an executor wraps it
        self._owns_backend = isinstance(backend, str)
        if executor is not None:
            from hakaru.executors import create_executor

            chosen = create_executor(executor) if isinstance(executor, str) else executor
            self.backend = chosen.wrap(self.backend)
        #: Whether the backend's ``complete`` never suspends (see :mod:`hakaru.backends.base`):
        #: forks of calls alone may then run inline (``gather(..., inline=True)``).
        self.answers_at_once = bool(getattr(self.backend, "answers_at_once", False))
        self._specs: dict[str, ModelSpec] = {m.name: m for m in models}
        self._book = prices if isinstance(prices, PriceBook) else PriceBook(prices)
        self._priced: dict[str, Prices | None] = {}  # model → prices, resolved once each
        self._slots = Slots(concurrency)
        self._per_model = per_model
        self._model_slot_map: dict[str, Slots] = {}
        self._caps: dict[tuple[str, str], object] = {}
        self._rpm = RateLimiter(rpm, what="requests") if rpm else None
        self._tpm = RateLimiter(tpm, what="tokens") if tpm else None
        self.timeout = timeout  # the property: it also decides whether calls take the plain path
        self.retry = retry or RetryPolicy()
        self._rng = random.Random(seed)
        self.guard = BudgetGuard(budget) if budget is not None else None
        self.cache = _open_cache(cache)
        self._store_arg = store
        self.store: RunStore | None = None
        self._sink: CallSink | None = None
        self.run_id = ""
        self._run = (run_kind, run_name, run_params or {})
        self._summary: dict[str, Any] = {}  # stored beside the totals when the run finishes
        self._durable = durability == "call"
        self.ledger = Ledger(keep_records=keep_records)
        self._lat = self.ledger.names.index("latency")
        self.max_tokens = max_tokens
        self.reasoning_budgets = _check_reasoning_budgets(reasoning_budgets)
        self.input_margin = input_margin
        self._frontier: ContextVar[Frontier] = ContextVar(
            "hakaru_frontier", default=((), self.ledger.zero)
        )
        self._next_id = 1
        self._occurrences: dict[int, int] = {}
        # One-entry memos by identity: the draws of a vote share one messages tuple and, when
        # they agree, one parsed candidate (the parsers are memoised); each keeps its object
        # referenced, so the id cannot be reused.
        self._last_messages: tuple[Any, int] = ((), hash(()))
        self._last_parsed: tuple[Any, str] = (None, "")
        self._t0 = time.perf_counter()
        self._closed = False
        self._otlp = otlp_endpoint
        self._live: LiveExport | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Session:
        self.open()
        start = getattr(self.backend, "start", None)  # optional: connect before the calls
        if start is not None:
            await start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose(failed=exc is not None)

    def open(self) -> None:
        """Open the run store (if any) and start a run; ``async with`` does this for you."""
        if self._store_arg not in (None, False) and self.store is None:
            from hakaru.store import RunStore

            store = self._store_arg
            if isinstance(store, RunStore):
                self.store = store
            else:  # a path, or True for the default $HAKARU_HOME/hakaru.db
                self.store = RunStore(None if isinstance(store, bool) else store)
            kind, name, params = self._run
            self.run_id = self.store.new_run(kind, name, params)
            self._sink = self.store.sink(self.run_id)
            for model, prices in self._priced.items():  # resolved before the run began
                self.store.put_prices(self.run_id, model, prices)
        if self._otlp is not None and self._live is None:
            self._start_live(self._otlp)

    def _start_live(self, endpoint: str) -> None:
        """Stream spans to ``endpoint`` (:mod:`hakaru.otel.live`) from now on."""
        from hakaru.otel.export import require_otel

        require_otel()
        from hakaru.otel.live import LiveExport
        from hakaru.store.entries import new_run_id

        kind, name, params = self._run
        t0 = time.time() - (time.perf_counter() - self._t0)  # epoch seconds at time 0
        run_id = self.run_id or new_run_id()
        self._live = LiveExport(endpoint, run_id=run_id, kind=kind, name=name, params=params, t0=t0)

    async def aclose(self, *, failed: bool = False) -> None:
        """Flush the store, mark the run done (or failed), close what the session opened."""
        if self._closed:
            return
        self._closed = True
        if self._live is not None:
            self._summary.update(self._live.close(self.totals(), failed=failed))
        if self._sink is not None and self.store is not None:
            self._sink.flush()
            summary = {**self.totals(), **self._summary}
            self.store.finish_run(self.run_id, "failed" if failed else "done", summary)
            if self.store is not self._store_arg:  # opened from a path: ours to close
                self.store.close()
        if self.backend is not self._inner:  # the executor's wrapper (e.g. Ray actors)
            await self.backend.aclose()
        if self._owns_backend:
            await self._inner.aclose()

    def add_summary(self, **fields: Any) -> None:
        """Store ``fields`` in the run's summary, beside the ledger totals, when the session
        closes (what a caller knows of the outcome; ignored without a store)."""
        self._summary.update(fields)

    def flush(self) -> None:
        """Commit every record queued for the store now (a no-op without a store)."""
        if self._sink is not None:
            self._sink.flush()

    async def durable(self) -> None:
        """Return once every record queued for the store so far is committed (at once without
        a store, or with nothing queued); raises :class:`~hakaru.errors.StoreError` if the
        write failed. With ``durability="call"`` every call already waits for this."""
        if self._sink is not None:
            await self._sink.durable()

    @property
    def timeout(self) -> float | None:
        """Seconds per attempt (``None``: no limit)."""
        return self._timeout

    @timeout.setter
    def timeout(self, seconds: float | None) -> None:
        self._timeout = seconds
        # No per-model cap, rate limit or timeout: the backend is awaited directly.
        self._plain = (
            self._per_model is None and self._rpm is None and self._tpm is None and seconds is None
        )

    # -- models ------------------------------------------------------------------------------

    def spec(self, model: str) -> ModelSpec:
        """The spec of ``model``: the session's own, else the backend's, else defaults."""
        spec = self._specs.get(model)
        if spec is None:
            spec = self.backend.model_spec(model) or ModelSpec(model or "default")
            self._specs[model] = spec
        return spec

    def prices(self, model: str) -> Prices | None:
        """The prices calls of ``model`` are recorded at (``None``: unknown), resolved once:
        the model's spec, the session's price table, the genai-prices snapshot
        (:class:`~hakaru.pricing.PriceBook`). The ledger and the run store learn them too."""
        if model in self._priced:
            return self._priced[model]
        found = self._priced[model] = self._book.resolve(model, self.spec(model))
        self.ledger.set_prices(model, found)
        if self.store is not None and self.run_id:
            self.store.put_prices(self.run_id, model, found)
        return found

    # -- calls made elsewhere (in-process capture) ----------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the session has closed (it takes no more records)."""
        return self._closed

    def frontier(self) -> Frontier:
        """The happens-before frontier of the running context: what a call made here depends
        on (its parents, and their finish times per cost model)."""
        return self._frontier.get()

    # -- the chokepoint ----------------------------------------------------------------------

    async def call(
        self, request: Request | str, *, validate: Validator | None = None, **fields: Any
    ) -> Response:
        """Make one LLM call (with retries) and return its response.

        ``request`` is a :class:`Request`, or a prompt string (then pass ``model=``). Extra
        keyword arguments replace fields of the request. ``validate(response)`` runs before
        the response is accepted: it returns the parsed value (stored in ``response.parsed``
        and, as text, in the record's ``candidate``) or raises :class:`~hakaru.errors.RedFlag`;
        a flagged attempt is recorded with status ``flagged`` and the RedFlag propagates.
        """
        if isinstance(request, str):
            request = Request.chat(fields.pop("model", ""), request, **fields)
        elif fields:
            request = replace(request, **fields)
        model = request.model
        spec = self._specs.get(model) or self.spec(model)
        task = request.task
        if task is not None:
            self._check_capability(spec, task)
        if request.max_tokens is None and self.max_tokens is not None:
            request = replace(request, max_tokens=self.max_tokens)
        if request.reasoning_budget is None and self.reasoning_budgets is not None:
            request = _with_reasoning_budget(request, self.reasoning_budgets)
        sample = self._occurrence(request)
        if sample != request.sample:
            request = replace(request, sample=sample)

        parents, start = self._frontier.get()
        if self.cache is not None:
            hit = self.cache.get(request)
            if hit is not None:
                flag: RedFlag | None = None
                if validate is not None:
                    try:
                        hit.parsed = validate(hit)
                    except RedFlag as exc:
                        flag = exc
                now = time.perf_counter()
                row = self._record(request, spec, parents, 1, "cached", now, start, hit, flag)
                hit.finish = await self._commit(row, start, None)
                hit.call_id = row[0]
                if flag is not None:
                    raise flag
                return hit

        # The attempt loop. It is the hot path of every workload, so it is written out here
        # rather than split into helpers: each coroutine layer costs a microsecond.
        guard = self.guard
        slots = self._slots
        attempt = 1
        while True:
            # Each attempt reserves its own worst case (a retry may be billed again) and
            # settles it to what it used when its record is committed.
            held = self._reserve(request, spec) if guard is not None else None
            began = time.perf_counter()
            response: Response | None = None
            error: BaseException | None = None
            if slots.free > 0 and not slots.waiters:  # Slots.try_take, inlined
                slots.free -= 1
            else:
                try:
                    await slots.take()
                except BaseException:
                    if held is not None and guard is not None:
                        guard.settle(held, Amount())
                    raise
            try:
                if self._plain:
                    response = await self.backend.complete(request)
                else:
                    response = await self._limited(request)
            except TimeoutError:
                error = BackendTimeout(
                    f"No answer from model '{model}' within {self._timeout:g} s. "
                    "Raise the timeout or check the server"
                )
            except (Exception, asyncio.CancelledError) as exc:
                error = exc
            finally:
                if slots.waiters:
                    slots.give()
                else:
                    slots.free += 1

            if response is not None:
                status: CallStatus = "ok"
                flag = None
                if validate is not None:
                    try:
                        response.parsed = validate(response)
                    except RedFlag as exc:
                        status, flag = "flagged", exc
                row = self._record(
                    request, spec, parents, attempt, status, began, start, response, flag
                )
                response.finish = self._account(row, start, held)
                response.call_id = row[0]
                if self.cache is not None:  # flagged answers too: a replay must see them
                    self.cache.put(request, response)
                sink = self._sink
                if sink is not None:  # _persist, inlined: no coroutine per call
                    sink.add_row(row)
                    if self._durable:
                        await sink.durable()
                if flag is not None:
                    raise flag
                return response

            assert error is not None
            if isinstance(error, BudgetExceeded):  # refused before any model ran (a shared
                if held is not None and guard is not None:  # budget): nothing to record
                    guard.settle(held, Amount())
                raise error
            row = self._record(request, spec, parents, attempt, "error", began, start, None, error)
            start = await self._commit(row, start, held)
            if not self.retry.should_retry(error, attempt):
                raise error
            await asyncio.sleep(self.retry.delay(error, attempt, self._rng))
            parents = (row[0],)
            attempt += 1

    def _occurrence(self, request: Request) -> int:
        """The index of this request among identical ones (memory bounded: the table is
        cleared after 2^20 distinct requests; identical samples come close together)."""
        # The messages stand for the task: requests that differ only in their payload share a
        # counter, which only shifts their sample indices (cache keys still tell them apart).
        messages = request.messages
        last = self._last_messages
        if messages is last[0]:
            hashed = last[1]
        else:
            hashed = hash(messages)
            self._last_messages = (messages, hashed)
        ident = (
            request.model,
            hashed,
            request.temperature,
            request.max_tokens,
            request.reasoning_budget,
            request.seed,
        )
        key = hash(ident)  # an int key: the table holds no objects for the collector to scan
        occ = self._occurrences
        n = occ.get(key, 0)
        if not n and len(occ) >= 1 << 20:
            occ.clear()
        occ[key] = n + 1
        return n

    # -- reading -----------------------------------------------------------------------------

    @property
    def records(self) -> list[CallRecord]:
        """Records kept in memory (empty when ``keep_records=False``)."""
        return self.ledger.records

    def totals(self) -> dict[str, Any]:
        """Ledger totals (see :meth:`hakaru.ledger.Ledger.totals`)."""
        return self.ledger.totals()


def _open_cache(cache: ResponseCache | str | Path | None) -> ResponseCache | None:
    if cache is None:
        return None
    from hakaru.cache import ResponseCache

    return cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
