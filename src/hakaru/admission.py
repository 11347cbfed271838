"""Admission: what a call passes before and around the model (a base class of
:class:`~hakaru.session.Session`).

In the order :meth:`Session.call <hakaru.session.Session.call>` applies them: the capability
check (paper Def. 2.3, memoised per model and task kind), the budget reservation of the
attempt's worst case (input tokens estimated with the session's ``input_margin``, output up to
``max_tokens`` or the context window), then around the backend call the per-model cap, the
request and token rate limits, and the timeout. A session with none of the last three awaits
the backend directly (its plain path) and never enters :meth:`Admission._limited`.
"""

from __future__ import annotations

import asyncio

from hakaru.backends.base import Backend
from hakaru.budget import Amount, worst_dollars
from hakaru.limits import RateLimiter, Slots
from hakaru.records import RecordKeeping
from hakaru.tasks import check_capability
from hakaru.tokenizer import count_tokens
from hakaru.types import ModelSpec, Request, Response, Task

__all__ = ["Admission"]

_UNCHECKED = object()


class Admission(RecordKeeping):
    """The limits of a session's calls (see the module docstring). The attributes are the
    session's; :class:`~hakaru.session.Session` sets them."""

    backend: Backend
    input_margin: float
    _per_model: int | dict[str, int] | None
    _model_slot_map: dict[str, Slots]
    _caps: dict[tuple[str, str], object]
    _rpm: RateLimiter | None
    _tpm: RateLimiter | None
    _timeout: float | None

    async def _limited(self, request: Request) -> Response:
        """The backend call under the per-model cap, the rate limits and the timeout."""
        model_slots = self._model_slots(request.model) if self._per_model is not None else None
        if model_slots is not None and not model_slots.try_take():
            await model_slots.take()
        try:
            if self._rpm is not None or self._tpm is not None:
                await self._rate_limit(request)
            if self._timeout is None:
                return await self.backend.complete(request)
            async with asyncio.timeout(self._timeout):
                return await self.backend.complete(request)
        finally:
            if model_slots is not None:
                model_slots.give()

    def _check_capability(self, spec: ModelSpec, task: Task) -> None:
        # Memoise the model's bound per task kind; the full check (and its message) runs only
        # the first time and whenever the bound is passed.
        key = (spec.name, task.kind)
        bound = self._caps.get(key, _UNCHECKED)
        if bound is _UNCHECKED:
            check_capability(spec, task)
            self._caps[key] = spec.capability_limit(task.kind)
        elif isinstance(bound, int) and task.items is not None and task.items > bound:
            check_capability(spec, task)

    def _model_slots(self, model: str) -> Slots | None:
        limit = self._per_model
        n = limit if isinstance(limit, int) else (limit or {}).get(model)
        if n is None:
            return None
        slots = self._model_slot_map.get(model)
        if slots is None:
            slots = self._model_slot_map[model] = Slots(n)
        return slots

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
        prices = self.prices(request.model)
        dollars = worst_dollars(prices, request.model, self.guard.budget, n_in, out)  # USD
        return self.guard.reserve(
            Amount(calls=1, tokens=n_in + out, dollars=dollars, primitives=out)
        )
