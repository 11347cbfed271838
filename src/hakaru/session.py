"""Session: the one chokepoint every LLM call goes through.

``Session.call`` applies, in order: the capability check (paper Def. 2.3), the budget
reservation, the response cache, the concurrency and rate limits, the backend call with timeout
and retries — and records one :class:`~hakaru.types.CallRecord` per attempt in the ledger and the
run store. Because nothing bypasses it, every count it reports is exact.

Happens-before without bookkeeping: the session keeps, per asyncio task (a ``ContextVar``), the
*frontier* — the calls whose results the current code has already awaited, with their finish
times under every cost model. A new call depends on the frontier; when it returns, the frontier
becomes that call. ``gather`` and ``map`` run children in their own tasks (which copy the
context) and, when they return, merge the children's frontiers. Use them (not bare
``asyncio.gather``) to fork, or dependencies after the fork will be missed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from hakaru.backends.base import Backend, create_backend
from hakaru.budget import Amount, Budget, BudgetGuard
from hakaru.errors import BackendError, BackendTimeout, ConfigError, RedFlag
from hakaru.ledger import Ledger
from hakaru.limits import RateLimiter, RetryPolicy
from hakaru.tasks import check_capability
from hakaru.tokenizer import count_tokens
from hakaru.types import CallRecord, ModelSpec, Request, Response

if TYPE_CHECKING:
    from hakaru.cache import ResponseCache
    from hakaru.store import CallSink, RunStore

__all__ = ["Session"]

T = TypeVar("T")
U = TypeVar("U")
Validator = Callable[[Response], Any]


@dataclass(frozen=True, slots=True)
class _Frontier:
    ids: tuple[int, ...]
    finish: tuple[float, ...]  # per cost model of the ledger


class Session:
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
    default output cap; ``input_margin`` — factor on estimated input tokens when reserving budget.
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
        store: RunStore | str | Path | None = None,
        run_kind: str = "session",
        run_name: str = "",
        run_params: dict[str, Any] | None = None,
        durability: Literal["call", "batch"] = "call",
        keep_records: bool = True,
        max_tokens: int | None = None,
        input_margin: float = 1.0,
        seed: int = 0,
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"concurrency is {concurrency}. Allow at least 1 call in flight.")
        if durability not in ("call", "batch"):
            raise ConfigError(f"durability '{durability}' is unknown. Use 'call' or 'batch'.")
        self.backend: Backend = create_backend(backend) if isinstance(backend, str) else backend
        self._owns_backend = isinstance(backend, str)
        self._specs: dict[str, ModelSpec] = {m.name: m for m in models}
        self._sem = asyncio.Semaphore(concurrency)
        self._per_model = per_model
        self._model_sems: dict[str, asyncio.Semaphore] = {}
        self._rpm = RateLimiter(rpm, what="requests") if rpm else None
        self._tpm = RateLimiter(tpm, what="tokens") if tpm else None
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._rng = random.Random(seed)
        self.guard = BudgetGuard(budget) if budget is not None else None
        self.cache = _open_cache(cache)
        self._store_arg = store
        self.store: RunStore | None = None
        self._sink: CallSink | None = None
        self.run_id = ""
        self._run = (run_kind, run_name, run_params or {})
        self._durable = durability == "call"
        self.ledger = Ledger(keep_records=keep_records)
        self._lat = self.ledger.names.index("latency")
        self.max_tokens = max_tokens
        self.input_margin = input_margin
        self._frontier: ContextVar[_Frontier] = ContextVar(
            "hakaru_frontier", default=_Frontier((), self.ledger.zero)
        )
        self._next_id = 1
        self._recent: dict[int, tuple[float, ...]] = {}  # finish vectors of the last 65,536 calls
        self._occurrences: OrderedDict[Any, int] = OrderedDict()
        self._t0 = time.perf_counter()
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Session:
        self.open()
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
        if self._store_arg is not None and self.store is None:
            from hakaru.store import CallSink, RunStore

            store = self._store_arg
            self.store = store if isinstance(store, RunStore) else RunStore(store)
            kind, name, params = self._run
            self.run_id = self.store.new_run(kind, name, params)
            self._sink = CallSink(self.store, self.run_id)

    async def aclose(self, *, failed: bool = False) -> None:
        """Flush the store, mark the run done (or failed), close what the session opened."""
        if self._closed:
            return
        self._closed = True
        if self._sink is not None and self.store is not None:
            self._sink.flush()
            status = "failed" if failed else "done"
            self.store.finish_run(self.run_id, status, self.totals())
            if self.store is not self._store_arg:  # opened from a path: ours to close
                self.store.close()
        if self._owns_backend:
            await self.backend.aclose()

    # -- models ------------------------------------------------------------------------------

    def spec(self, model: str) -> ModelSpec:
        """The spec of ``model``: the session's own, else the backend's, else defaults."""
        spec = self._specs.get(model)
        if spec is None:
            spec = self.backend.model_spec(model) or ModelSpec(model or "default")
            self._specs[model] = spec
        return spec

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
        spec = self.spec(request.model)
        if request.task is not None:
            check_capability(spec, request.task)
        if request.max_tokens is None and self.max_tokens is not None:
            request = replace(request, max_tokens=self.max_tokens)
        request = replace(request, sample=self._occurrence(request))

        frontier = self._frontier.get()
        if self.guard is None:
            return await self._serve(request, spec, frontier, validate, None)
        reservation = self._reserve(request, spec)
        spend = _Spend()
        try:
            return await self._serve(request, spec, frontier, validate, spend)
        finally:
            self.guard.settle(reservation, spend.amount())

    async def _serve(
        self,
        request: Request,
        spec: ModelSpec,
        frontier: _Frontier,
        validate: Validator | None,
        spend: _Spend | None,
    ) -> Response:
        if self.cache is not None:
            hit = self.cache.get(request)
            if hit is not None:
                rec = self._record(request, spec, frontier.ids, 1, "cached", response=hit)
                await self._commit(rec, frontier.finish, spend)
                hit.call_id = rec.id
                return hit
        return await self._attempts(request, spec, frontier, validate, spend)

    async def _attempts(
        self,
        request: Request,
        spec: ModelSpec,
        frontier: _Frontier,
        validate: Validator | None,
        spend: _Spend | None,
    ) -> Response:
        parents, start = frontier.ids, frontier.finish
        sems = [self._sem]
        model_sem = self._model_sem(request.model)
        if model_sem is not None:
            sems.append(model_sem)
        attempt = 1
        while True:
            began = time.perf_counter()
            response, error = await self._invoke(request, sems)
            if response is not None:
                status = "ok"
                if validate is not None:
                    try:
                        response.parsed = validate(response)
                    except RedFlag as flag:
                        rec = self._record(
                            request, spec, parents, attempt, "flagged", response=response,
                            error=flag,
                        )
                        await self._commit(rec, start, spend)
                        response.call_id = rec.id
                        raise
                rec = self._record(request, spec, parents, attempt, status, response=response)
                await self._commit(rec, start, spend)
                response.call_id = rec.id
                if self.cache is not None:
                    self.cache.put(request, response)
                return response

            assert error is not None
            wall = time.perf_counter() - began
            rec = self._record(request, spec, parents, attempt, "error", error=error, wall=wall)
            start = await self._commit(rec, start, spend)
            if not self.retry.should_retry(error, attempt):
                raise error
            await asyncio.sleep(self.retry.delay(error, attempt, self._rng))
            parents = (rec.id,)
            attempt += 1

    async def _invoke(
        self, request: Request, sems: list[asyncio.Semaphore]
    ) -> tuple[Response | None, BaseException | None]:
        """One attempt under the concurrency and rate limits; never raises (but re-raises
        cancellation after the caller recorded it)."""
        for sem in sems:
            await sem.acquire()
        try:
            await self._rate_limit(request)
            if self.timeout is None:
                return await self.backend.complete(request), None
            async with asyncio.timeout(self.timeout):
                return await self.backend.complete(request), None
        except TimeoutError:
            return None, BackendTimeout(
                f"No answer from model '{request.model}' within {self.timeout:g} s. "
                "Raise the timeout or check the server"
            )
        except (Exception, asyncio.CancelledError) as exc:
            return None, exc
        finally:
            for sem in sems:
                sem.release()

    # -- helpers of the chokepoint -------------------------------------------------------------

    def _occurrence(self, request: Request) -> int:
        """The index of this request among identical ones (bounded memory: LRU of 65,536)."""
        task = request.task
        ident = (
            request.model,
            request.messages,
            request.temperature,
            request.max_tokens,
            request.budget,
            request.seed,
            None if task is None else (task.kind, repr(task.payload)),
        )
        occ = self._occurrences
        n = occ.get(ident, 0)
        occ[ident] = n + 1
        if n:
            occ.move_to_end(ident)
        elif len(occ) > 65_536:
            occ.popitem(last=False)
        return n

    def _model_sem(self, model: str) -> asyncio.Semaphore | None:
        limit = self._per_model
        if limit is None:
            return None
        n = limit if isinstance(limit, int) else limit.get(model)
        if n is None:
            return None
        sem = self._model_sems.get(model)
        if sem is None:
            sem = self._model_sems[model] = asyncio.Semaphore(n)
        return sem

    def _worst_output(self, request: Request, spec: ModelSpec, n_in: int) -> int:
        if request.max_tokens is not None:
            return request.max_tokens
        return max(spec.context_window - n_in, 0)

    async def _rate_limit(self, request: Request) -> None:
        if self._rpm is not None:
            await self._rpm.acquire(1)
        if self._tpm is not None:
            n_in = count_tokens(request.prompt_text())
            worst = n_in + self._worst_output(request, self.spec(request.model), n_in)
            await self._tpm.acquire(worst)

    def _reserve(self, request: Request, spec: ModelSpec) -> Amount:
        assert self.guard is not None
        n_in = int(count_tokens(request.prompt_text()) * self.input_margin + 0.999)
        out = self._worst_output(request, spec, n_in)
        return self.guard.reserve(
            Amount(
                calls=self.retry.max_attempts,
                tokens=n_in + out,
                dollars=(n_in * spec.price_in + out * spec.price_out) / 1e6,
                primitives=out,
            )
        )

    def _record(
        self,
        request: Request,
        spec: ModelSpec,
        parents: tuple[int, ...],
        attempt: int,
        status: Any,
        *,
        response: Response | None = None,
        error: BaseException | None = None,
        wall: float = 0.0,
    ) -> CallRecord:
        rid = self._next_id
        self._next_id = rid + 1
        now = time.perf_counter() - self._t0
        rec = CallRecord(
            id=rid,
            parents=parents,
            role=request.role,
            model=request.model,
            attempt=attempt,
            status=status,
            size=spec.size,
            price_in=spec.price_in,
            price_out=spec.price_out,
            ended=now,
            step=request.step,
            vote=request.vote,
            budget=request.budget,
            run_id=self.run_id,
        )
        if response is not None:
            u = response.usage
            rec.input_tokens = u.input_tokens
            rec.output_tokens = u.output_tokens
            rec.reasoning_tokens = u.reasoning_tokens
            rec.cached_tokens = u.cached_tokens
            rec.usage_source = u.source
            rec.latency = response.latency
            rec.finish_reason = response.finish_reason
            if response.parsed is not None:
                rec.candidate = _candidate(response.parsed)
        else:
            rec.input_tokens = count_tokens(request.prompt_text())
            rec.usage_source = "estimated"
            rec.latency = wall
        if error is not None:
            rec.error_kind = _error_kind(error)
            rec.error = str(error)[:500]
        rec.started = now - (rec.latency if response is not None and status != "cached" else wall)
        return rec

    async def _commit(
        self, rec: CallRecord, start: Sequence[float], spend: _Spend | None
    ) -> tuple[float, ...]:
        """Account a record: ledger, happens-before frontier, budget actuals, store."""
        rec.sim_start = start[self._lat]
        finish = self.ledger.add(rec, start)
        rec.sim_end = finish[self._lat]
        self._frontier.set(_Frontier((rec.id,), finish))
        recent = self._recent
        recent[rec.id] = finish
        if len(recent) > 65_536:
            del recent[next(iter(recent))]
        if spend is not None:
            spend.add(rec)
        if self._sink is not None:
            self._sink.add(rec)
            if self._durable:
                await self._sink.durable()
        return finish

    # -- forks -------------------------------------------------------------------------------

    async def gather(self, *aws: Awaitable[T]) -> list[T]:
        """Run awaitables concurrently; afterwards the caller depends on all of them.

        Like ``asyncio.gather``; on the first exception the others are cancelled (their
        finished calls stay recorded) and the exception propagates.
        """
        var = self._frontier

        async def child(aw: Awaitable[T]) -> tuple[T, _Frontier]:
            result = await aw
            return result, var.get()

        tasks = [asyncio.ensure_future(child(aw)) for aw in aws]
        try:
            pairs = await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        self._merge([f for _, f in pairs])
        return [r for r, _ in pairs]

    async def map(
        self,
        fn: Callable[[U], Awaitable[T]],
        items: Iterable[U],
        *,
        concurrency: int | None = None,
    ) -> list[T]:
        """``gather(fn(x) for x in items)``, at most ``concurrency`` at a time if given."""
        if concurrency is None:
            return await self.gather(*(fn(x) for x in items))
        limit = asyncio.Semaphore(concurrency)

        async def bounded(x: U) -> T:
            async with limit:
                return await fn(x)

        return await self.gather(*(bounded(x) for x in items))

    def _merge(self, frontiers: Sequence[_Frontier]) -> None:
        if not frontiers:
            return
        ids: set[int] = set()
        finish = list(frontiers[0].finish)
        for f in frontiers:
            ids.update(f.ids)
            for i, v in enumerate(f.finish):
                if v > finish[i]:
                    finish[i] = v
        self._frontier.set(_Frontier(tuple(sorted(ids)), tuple(finish)))

    # -- reading -----------------------------------------------------------------------------

    @property
    def records(self) -> list[CallRecord]:
        """Records kept in memory (empty when ``keep_records=False``)."""
        return self.ledger.records

    def totals(self) -> dict[str, Any]:
        """Ledger totals (see :meth:`hakaru.ledger.Ledger.totals`)."""
        return self.ledger.totals()

    def after(self, *responses: Response) -> None:
        """Declare that the next calls depend on these responses (for code that forked
        with bare ``asyncio.gather``). Replaces the current frontier."""
        ids = tuple(sorted({r.call_id for r in responses if r.call_id > 0}))
        self._merge([_Frontier((i,), self._recent.get(i, self.ledger.zero)) for i in ids])


class _Spend:
    """What one logical call (all its attempts) really used, for settling its reservation."""

    __slots__ = ("calls", "dollars", "primitives", "tokens")

    def __init__(self) -> None:
        self.calls = 0
        self.tokens = 0
        self.dollars = 0.0
        self.primitives = 0

    def add(self, rec: CallRecord) -> None:
        if rec.status != "cached":
            self.calls += 1
        if rec.executed:
            self.tokens += rec.input_tokens + rec.output_tokens
            self.dollars += (rec.input_tokens * rec.price_in + rec.output_tokens * rec.price_out) / 1e6
            self.primitives += rec.output_tokens

    def amount(self) -> Amount:
        return Amount(self.calls, self.tokens, self.dollars, self.primitives)


def _candidate(parsed: Any) -> str:
    text = parsed if isinstance(parsed, str) else repr(parsed)
    return text[:200]


def _error_kind(error: BaseException) -> str:
    if isinstance(error, BackendError):
        return error.kind
    if isinstance(error, RedFlag):
        return "red_flag"
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"
    return type(error).__name__


def _open_cache(cache: ResponseCache | str | Path | None) -> ResponseCache | None:
    if cache is None:
        return None
    from hakaru.cache import ResponseCache

    return cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
