"""One budget shared by several drivers or processes, kept by a single Ray actor.

Design choice: a session's own budget stays on its driver — reservation there is a synchronous
check-and-add in one event loop, exact and free (:mod:`hakaru.budget`). When several *drivers*
must draw on one budget (the points of a distributed sweep, several jobs against one API key),
nothing in one process sees the others' spending, so the :class:`~hakaru.budget.BudgetGuard`
moves into one named Ray actor. The actor runs one method at a time, so a reservation is as
atomic there as it is in an event loop: reserve the worst case before a call, settle the actual
after it, and the limit is never passed however many processes call at once.

A session uses a :class:`SharedBudget` in one of two ways:

- as an executor, ``Session(backend, executor=SharedBudget(...))`` — each call reserves through
  the actor without blocking the event loop (one round trip, ~1 ms, added to its latency). A
  refused call raises :class:`~hakaru.errors.BudgetExceeded` from the backend, which the
  session raises without recording an attempt (no model ran), as it does for its own budget;
- as the session's guard, ``session.guard = SharedBudget(...)`` — the same ``reserve`` and
  ``settle`` as a ``BudgetGuard``, so a refused call is refused before anything is recorded, but
  every reservation blocks the driver's event loop for a round trip.
"""

from __future__ import annotations

from typing import Any

from hakaru.backends.base import Backend
from hakaru.budget import Amount, Budget, BudgetGuard, worst_dollars
from hakaru.errors import BudgetExceeded, ConfigError
from hakaru.executors.base import Executor, create_executor
from hakaru.executors.cluster import connect, ray_module
from hakaru.pricing import PriceBook, Prices
from hakaru.tokenizer import count_tokens
from hakaru.types import ModelSpec, Request, Response

__all__ = ["BudgetedBackend", "SharedBudget", "worst_case"]

NAMESPACE = "hakaru"  # Ray namespace of named budget actors: visible to every driver


class _BudgetActor:
    """The Ray actor: a :class:`BudgetGuard` behind reserve/settle (one method at a time)."""

    def __init__(self, budget: Budget) -> None:
        self.guard = BudgetGuard(budget)

    def budget(self) -> Budget:
        return self.guard.budget

    def reserve(self, worst: Amount) -> BudgetExceeded | None:
        """``None`` when reserved; the refusal (not raised: it travels as a value) otherwise."""
        try:
            self.guard.reserve(worst)
        except BudgetExceeded as exc:
            return exc
        return None

    def settle(self, reservation: Amount, actual: Amount) -> None:
        self.guard.settle(reservation, actual)

    def state(self) -> dict[str, dict[str, float | None]]:
        names = ("calls", "tokens", "dollars", "primitives")
        return {
            "spent": dict(zip(names, self.guard.spent, strict=True)),
            "reserved": dict(zip(names, self.guard.reserved, strict=True)),
            "remaining": self.guard.remaining(),
        }


def worst_case(
    request: Request,
    spec: ModelSpec,
    input_margin: float = 1.0,
    prices: Prices | None = None,
    budget: Budget | None = None,
) -> Amount:
    """What ``request`` may use at most: its estimated input plus ``max_tokens`` of output
    (the rest of the context window when unset), priced at ``prices`` — as the session
    reserves it."""
    n_in = int(count_tokens(request.prompt_text()) * input_margin + 0.999)  # tokens
    out = request.max_tokens
    if out is None:
        out = max(spec.context_window - n_in, 0)
    dollars = worst_dollars(prices, request.model, budget or Budget(), n_in, out)  # USD
    return Amount(calls=1, tokens=n_in + out, dollars=dollars, primitives=out)


def _used(response: Response, prices: Prices | None) -> Amount:
    u = response.usage
    dollars = 0.0
    if prices is not None:
        dollars = prices.dollars(
            u.input_tokens,
            u.output_tokens,
            u.reasoning_tokens,
            u.cache_read_tokens,
            u.cache_write_tokens,
        )
    return Amount(1, u.input_tokens + u.output_tokens, dollars, u.output_tokens)


class SharedBudget:
    """A budget shared by every session, in any process of the cluster, that names it.

    The first ``SharedBudget(budget, name=...)`` creates the named actor; later ones with the
    same name — in this process or another driver of the same cluster — attach to it (give
    ``budget=None`` to attach only). ``detached=True`` keeps the actor alive after the driver that
    created it exits (end it with :meth:`kill`). ``executor`` (``"local"``, ``"ray"`` or an
    :class:`~hakaru.executors.Executor`) runs the calls once reserved. Prices come from the
    backend's model specs, else the genai-prices snapshot (:class:`~hakaru.pricing.PriceBook`).

    >>> from hakaru.budget import Budget
    >>> shared = SharedBudget(Budget(tokens=1_000_000), name="sweep-42")  # doctest: +SKIP
    >>> session = hakaru.Session("sim", executor=shared)  # doctest: +SKIP
    """

    def __init__(
        self,
        budget: Budget | None = None,
        *,
        name: str = "hakaru-budget",
        executor: Executor | str | None = None,
        ray_address: str | None = None,
        detached: bool = False,
        input_margin: float = 1.0,
    ) -> None:
        connect(ray_address)
        ray = ray_module()
        self.name = name
        self.input_margin = input_margin
        self._executor = create_executor(executor) if isinstance(executor, str) else executor
        if budget is None:
            try:
                self._actor = ray.get_actor(name, namespace=NAMESPACE)
            except ValueError:
                raise ConfigError(
                    f"No shared budget named '{name}' in this Ray cluster. Create it first with "
                    f"SharedBudget(Budget(...), name='{name}')"
                ) from None
        else:
            options: dict[str, Any] = {
                "name": name,
                "namespace": NAMESPACE,
                "get_if_exists": True,
                "num_cpus": 0,
                "max_concurrency": 1,  # one reservation at a time: atomic check-and-add
            }
            if detached:
                options["lifetime"] = "detached"
            self._actor = ray.remote(_BudgetActor).options(**options).remote(budget)
        self.budget: Budget = ray.get(self._actor.budget.remote())
        if budget is not None and self.budget != budget:
            raise ConfigError(
                f"The shared budget '{name}' already exists with {self.budget}, not {budget}. "
                "Attach with budget=None, or choose another name"
            )

    # -- the BudgetGuard interface (blocking) ----------------------------------------------------

    def reserve(self, worst: Amount) -> Amount:
        """Reserve ``worst`` or raise :class:`BudgetExceeded` (blocks for one round trip)."""
        refused = ray_module().get(self._actor.reserve.remote(worst))
        if refused is not None:
            raise refused
        return worst

    def settle(self, reservation: Amount, actual: Amount) -> None:
        """Replace a reservation by the amount used (does not wait: the actor runs calls from
        one process in order, so a later reservation from here sees it)."""
        self._actor.settle.remote(reservation, actual)

    def remaining(self) -> dict[str, float | None]:
        return dict(self.state()["remaining"])

    def state(self) -> dict[str, dict[str, float | None]]:
        """``spent``, ``reserved`` and ``remaining`` per resource, as the actor holds them."""
        result: dict[str, dict[str, float | None]] = ray_module().get(self._actor.state.remote())
        return result

    def kill(self) -> None:
        """End the budget actor (for a detached one: when the shared work is over)."""
        ray_module().kill(self._actor)

    # -- the Executor interface ------------------------------------------------------------------

    def wrap(self, backend: Backend) -> Backend:
        """``backend`` (run on this budget's executor), each call reserved through the actor."""
        inner = self._executor.wrap(backend) if self._executor is not None else backend
        return BudgetedBackend(inner, self)


class BudgetedBackend:
    """A backend whose calls first reserve their worst case in a :class:`SharedBudget`."""

    def __init__(self, inner: Backend, shared: SharedBudget) -> None:
        self.inner = inner
        self.shared = shared
        self._specs: dict[str, ModelSpec] = {}
        self._prices = PriceBook()

    def model_spec(self, name: str) -> ModelSpec | None:
        return self.inner.model_spec(name)

    def _spec(self, model: str) -> ModelSpec:
        spec = self._specs.get(model)
        if spec is None:
            spec = self._specs[model] = self.inner.model_spec(model) or ModelSpec(
                model or "default"
            )
        return spec

    async def complete(self, request: Request) -> Response:
        actor = self.shared._actor
        spec = self._spec(request.model)
        prices = self._prices.resolve(request.model, spec)
        worst = worst_case(request, spec, self.shared.input_margin, prices, self.shared.budget)
        refused = await actor.reserve.remote(worst)
        if refused is not None:
            raise refused
        try:
            response = await self.inner.complete(request)
        except BaseException:
            actor.settle.remote(worst, Amount(calls=1))  # a failed attempt still counts
            raise
        actor.settle.remote(worst, _used(response, prices))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
