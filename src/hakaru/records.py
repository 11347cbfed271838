"""Record keeping: how an attempt becomes a :class:`~hakaru.types.CallRecord` (a base class of
:class:`~hakaru.session.Session`).

:meth:`RecordKeeping._record` builds the record of one attempt as a row
(:func:`~hakaru.types.record_row`: no record object on the hot path) — its id, parents, tokens by
class, dollars at the session's prices (``None`` when the model is priced nowhere), wall and
simulated times, step, vote and candidate; :meth:`~RecordKeeping._account` adds it to the ledger,
makes it the frontier of the running context and settles the budget; :meth:`~RecordKeeping._commit`
also queues it for the run store. :meth:`RecordKeeping.record_external` records a call the
program made without :meth:`Session.call <hakaru.session.Session.call>` (an instrumented SDK's)
the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from hakaru.budget import Amount, BudgetGuard
from hakaru.errors import BackendError, RedFlag
from hakaru.happens_before import Frontier, HappensBefore
from hakaru.ledger import Ledger
from hakaru.pricing import Prices
from hakaru.tokenizer import count_tokens
from hakaru.types import (
    CallRecord,
    CallStatus,
    ModelSpec,
    RecordRow,
    Request,
    Response,
    Usage,
    record_row,
)

if TYPE_CHECKING:
    from hakaru.otel.live import LiveExport
    from hakaru.store import CallSink

__all__ = ["RecordKeeping"]


class RecordKeeping(HappensBefore):
    """The records of a session's attempts: built, accounted and persisted (see the module
    docstring). The attributes are the session's; :class:`~hakaru.session.Session` sets them."""

    ledger: Ledger
    guard: BudgetGuard | None
    run_id: str
    _sink: CallSink | None
    _durable: bool
    _live: LiveExport | None
    _priced: dict[str, Prices | None]
    _next_id: int
    _t0: float
    _lat: int  # the index of the latency cost model in the ledger's finish vectors
    _last_parsed: tuple[Any, str]

    # The session's model specs and prices (Session.spec and Session.prices).
    spec: Callable[[str], ModelSpec]
    prices: Callable[[str], Prices | None]

    def record_external(
        self,
        request: Request,
        response: Response | None,
        *,
        after: Frontier,
        began: float,
        error: BaseException | None = None,
    ) -> CallRecord:
        """Record a call the program made *without* :meth:`call` — an instrumented SDK's,
        seen by ``hakaru.capture(session=...)`` — as :meth:`call` records an attempt: through
        :meth:`_record`, with the next id, in the ledger and the store (committed before this
        returns), its usage settled against the budget after the fact (it was never reserved:
        a budget cannot stop it, only count it). ``after`` is the frontier where the call
        began (its parents); ``began`` its start on ``time.perf_counter``'s clock. The call
        joins the frontier of the running context, so later calls here depend on it."""
        parents, start = after
        spec = self.spec(request.model)
        status: CallStatus = "ok" if error is None else "error"
        row = self._record(request, spec, parents, 1, status, began, start, response, error)
        finish = self._account(row, start, Amount() if self.guard is not None else None)
        if response is not None:
            response.finish, response.call_id = finish, row[0]
        if self._sink is not None:
            self._sink.add_row(row)
            self._sink.flush()
        return CallRecord(*row)

    def _record(
        self,
        request: Request,
        spec: ModelSpec,
        parents: tuple[int, ...],
        attempt: int,
        status: CallStatus,
        began: float,
        start: Sequence[float],
        response: Response | None,
        error: BaseException | None,
    ) -> RecordRow:
        """The record of one attempt that began at ``began`` (wall) and whose dependencies
        finish at ``start`` (per cost model), as a row (:func:`~hakaru.types.record_row`): on
        the hot path no record object is built (the ledger keeps rows)."""
        rid = self._next_id
        self._next_id = rid + 1
        now = time.perf_counter()
        sim_start = start[self._lat]  # seconds on the critical path of simulated latency
        kind, text = ("", "") if error is None else (_error_kind(error), str(error)[:500])
        if response is not None:
            u = response.usage
            latency = response.latency
            sim_end = sim_start if status == "cached" else sim_start + latency
            parsed = response.parsed
            if parsed is None:
                candidate = ""
            elif parsed is self._last_parsed[0]:
                candidate = self._last_parsed[1]
            else:
                candidate = _candidate(parsed)
                self._last_parsed = (parsed, candidate)
            finish = response.finish_reason
        else:
            # A failed attempt: the server reported nothing, so the input is our estimate and
            # the latency is the wall time the attempt took.
            u = Usage(count_tokens(request.prompt_text()), source="estimated")
            latency = now - began
            sim_end = sim_start + latency
            candidate = finish = ""
        dollars: float | None = 0.0  # USD; an attempt that executed nothing bills nothing
        if status == "ok" or status == "flagged":
            model = request.model
            prices = self._priced[model] if model in self._priced else self.prices(model)
            dollars = (
                None
                if prices is None
                else prices.dollars(
                    u.input_tokens,
                    u.output_tokens,
                    u.reasoning_tokens,
                    u.cache_read_tokens,
                    u.cache_write_tokens,
                )
            )
        t0 = self._t0
        return record_row(
            rid, parents, request.role, request.model, attempt, status, kind, text,
            u.input_tokens, u.output_tokens, u.reasoning_tokens, u.cache_read_tokens,
            u.cache_write_tokens, u.source, spec.size, dollars, latency, began - t0, now - t0,
            sim_start, sim_end, request.step, request.vote, candidate, finish,
            request.reasoning_budget, self.run_id,
        )  # fmt: skip

    def _account(
        self, row: RecordRow, start: Sequence[float], held: Amount | None
    ) -> tuple[float, ...]:
        """Account a record: ledger, happens-before frontier, budget actuals."""
        finish = self.ledger.add_row(row, start)
        self._frontier.set(((row[0],), finish))
        if self._live is not None:
            self._live.add(row)
        if held is not None and self.guard is not None:
            self.guard.settle(held, Amount.used_by(CallRecord(*row)))
        return finish

    async def _persist(self, row: RecordRow) -> None:
        """Queue the record for the store; with ``durability="call"`` wait for its commit."""
        assert self._sink is not None
        self._sink.add_row(row)
        if self._durable:
            await self._sink.durable()

    async def _commit(
        self, row: RecordRow, start: Sequence[float], held: Amount | None
    ) -> tuple[float, ...]:
        """Account a record and persist it (see :meth:`_account` and :meth:`_persist`)."""
        finish = self._account(row, start, held)
        if self._sink is not None:
            await self._persist(row)
        return finish


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
