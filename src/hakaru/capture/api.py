"""``with hakaru.capture(store=..., name=...) as run:`` — record the LLM calls of a block.

Opens a run of kind ``capture`` in the store, switches on the instrumentors of the installed
libraries (:mod:`hakaru.capture.instruments`; OpenTelemetry is imported only here, on first
use), records every LLM call the block makes (:mod:`hakaru.capture.recording`: committed call by
call) and, on leaving, finishes the run with its totals (``failed`` if the block raised; the
calls it made stay recorded). The handle says which instrumentors were loaded and which could
not be, and gives the totals.

``hakaru.capture(session=s)`` records into a live :class:`~hakaru.session.Session` instead: the
captured calls join the session's run, with the session's happens-before as their parents
(:mod:`hakaru.capture.session_run`); the session finishes its run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from hakaru.errors import ConfigError
from hakaru.pricing import PriceSource
from hakaru.store import RunStore
from hakaru.types import ModelSpec

if TYPE_CHECKING:
    from hakaru.capture.instruments import Hub
    from hakaru.capture.recording import CapturedRun
    from hakaru.capture.session_run import SessionRun
    from hakaru.session import Session

__all__ = ["Capture", "attach", "capture"]


class Capture:
    """A capture in progress (or ended): its run, instrumentors and totals."""

    def __init__(self, run: CapturedRun | SessionRun, hub: Hub) -> None:
        self._run = run
        self._hub = hub
        self.run_id = run.run_id
        self.store = run.store
        self.totals_at_end: dict[str, Any] | None = None

    @property
    def loaded(self) -> list[str]:
        """Instrumentors switched on."""
        return list(self._hub.loaded)

    @property
    def failed(self) -> dict[str, str]:
        """Instrumentors that could not be loaded, and why."""
        return dict(self._hub.failed)

    @property
    def calls(self) -> int:
        """Calls recorded so far."""
        return self._run.recorded

    @property
    def problems(self) -> list[str]:
        """Failures of hakaru's own bookkeeping (none, normally): never raised in the program."""
        return list(self._hub.processor.problems)

    def end_live(self) -> dict[str, int]:
        """End the stream of spans to the OTLP endpoint, if any (:mod:`hakaru.otel.live`):
        ``otlp_spans_sent`` and ``otlp_spans_dropped``."""
        return self._run.end_live()

    def totals(self) -> dict[str, Any]:
        """The totals so far (the keys of ``hakaru run --json``), with ``by_role``."""
        if self.totals_at_end is not None:
            return dict(self.totals_at_end)
        totals = self._run.totals()
        totals["by_role"] = self._run.ledger.group_by("role")
        return totals


def _open(store: RunStore | str | os.PathLike[str] | None) -> tuple[RunStore, bool]:
    if isinstance(store, RunStore):
        return store, False
    if store is not None and not isinstance(store, str | os.PathLike):
        raise ConfigError(f"store={store!r}: give a RunStore or the path of its file.")
    from hakaru.store import default_store_path

    return RunStore(store if store is not None else default_store_path()), True


@contextmanager
def attach(
    store: RunStore,
    run_id: str,
    *,
    extra: Iterable[str] = (),
    models: Mapping[str, ModelSpec] | None = None,
    prices: PriceSource = None,
    otlp_endpoint: str | None = None,
) -> Iterator[Capture]:
    """Record LLM calls into the existing run ``run_id`` (not finished here: its owner does);
    ``otlp_endpoint`` also streams each as an OpenTelemetry GenAI span (docs/otel.md)."""
    from hakaru.capture.instruments import hub
    from hakaru.capture.recording import CapturedRun

    h = hub(extra)
    run = CapturedRun(store, run_id, models=models, prices=prices)
    if otlp_endpoint is not None:
        from hakaru.otel.export import require_otel
        from hakaru.otel.live import LiveExport

        require_otel()
        info = store.run(run_id)
        run.live = LiveExport(
            otlp_endpoint,
            run_id=run_id,
            kind=info.kind,
            name=info.name,
            params=info.params,
            t0=run.t0,
        )
    h.processor.push(run)
    handle = Capture(run, h)
    try:
        yield handle
    finally:
        h.processor.pop(run)
        run.close()


@contextmanager
def _into(session: Session, extra: Iterable[str]) -> Iterator[Capture]:
    from hakaru.capture.instruments import hub
    from hakaru.capture.session_run import SessionRun

    h = hub(extra)
    run = SessionRun(session)
    h.processor.push(run)
    try:
        yield Capture(run, h)
    finally:
        h.processor.pop(run)


@contextmanager
def capture(
    store: RunStore | str | os.PathLike[str] | None = None,
    name: str = "",
    *,
    params: Mapping[str, Any] | None = None,
    instrumentors: Iterable[str] = (),
    models: Mapping[str, ModelSpec] | None = None,
    prices: PriceSource = None,
    otlp_endpoint: str | None = None,
    session: Session | None = None,
) -> Iterator[Capture]:
    """Record every LLM call made inside the block as a run of ``store`` (a :class:`RunStore`
    or a path; default ``$HAKARU_HOME/hakaru.db``) — or, with ``session``, as calls of that
    live :class:`~hakaru.session.Session` (its run, ledger, budget and store; parents from its
    happens-before: :mod:`hakaru.capture.session_run`).

    ``instrumentors`` adds OpenTelemetry instrumentors by ``module:Class``; ``models`` and
    ``prices`` price model names as :class:`hakaru.proxy.recorder.Recorder` does;
    ``otlp_endpoint`` streams each call as a span there too (docs/otel.md). Needs the
    ``capture`` extra (``pip install 'hakaru[capture]'``).

    >>> import hakaru
    >>> with hakaru.capture(":memory:", name="nothing") as run:  # doctest: +SKIP
    ...     pass
    >>> run.totals()["calls"]  # doctest: +SKIP
    0
    """
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ModuleNotFoundError:
        raise ConfigError(
            "Capture needs OpenTelemetry's SDK and the instrumentors: "
            "pip install 'hakaru[capture]'."
        ) from None
    if session is not None:
        given = [
            k
            for k, v in (
                ("store", store),
                ("name", name),
                ("params", params),
                ("models", models),
                ("prices", prices),
                ("otlp_endpoint", otlp_endpoint),
            )
            if v
        ]
        if given:
            raise ConfigError(
                f"capture(session=...) records into the session's own run, store, prices and "
                f"OTLP stream; do not also give {', '.join(given)} (set them on the Session)."
            )
        with _into(session, instrumentors) as handle:
            yield handle
        return
    db, own = _open(store)
    try:
        run_id = db.new_run("capture", name or "capture", dict(params or {}))
        status: Literal["done", "failed"] = "failed"
        with attach(
            db,
            run_id,
            extra=instrumentors,
            models=models,
            prices=prices,
            otlp_endpoint=otlp_endpoint,
        ) as handle:
            try:
                yield handle
                status = "done"
            finally:
                otlp = handle.end_live()
                totals = handle.totals()
                handle.totals_at_end = totals
                summary = {k: v for k, v in totals.items() if k != "by_role"} | otlp
                db.finish_run(run_id, status, {**summary, "instrumentors": handle.loaded})
    finally:
        if own:
            db.close()
