"""Resuming a killed MDAP run: find its newest checkpoint and add up what it spent.

A resumed run is a chain of *segments*: each is a run in the store whose parameters name the run
it continues (``resumed_from``). :func:`find_resume` follows that chain back from the run named,
takes the newest checkpoint of any segment, and adds up the :data:`ADDITIVE` ledger totals of
every segment's stored calls, so that the resumed run's totals count every call ever made —
including the calls of steps after the last checkpoint, which the new segment redoes.
:func:`~hakaru.mdap.driver.run_mdap` takes the :class:`Resume` it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hakaru.errors import ConfigError
from hakaru.store import RunStore

if TYPE_CHECKING:
    from hakaru.store import Checkpoint, RunInfo

__all__ = ["ADDITIVE", "Resume", "find_resume", "stored_totals"]

# Ledger totals that add up across the segments of a resumed run.
ADDITIVE = (
    "calls",
    "ok_calls",
    "failed_calls",
    "cached_calls",
    "flagged_calls",
    "input_tokens",
    "output_tokens",
    "forward_passes",
    "dollars",
)


@dataclass(frozen=True)
class Resume:
    """Where to continue a killed run: its last checkpoint and what its segments spent."""

    run_id: str  # the segment being continued
    params: dict[str, Any]  # the parameters it was started with
    checkpoint: Checkpoint | None  # None: no checkpoint yet, start over (nothing is lost)
    prior: dict[str, float]  # ADDITIVE totals of the stored calls of every earlier segment
    segments: tuple[str, ...]  # run ids, oldest first


def stored_totals(store: RunStore, run_id: str) -> dict[str, float]:
    """ADDITIVE totals of the calls stored for ``run_id`` (its summary if it finished)."""
    info = store.run(run_id)
    if info.summary and all(k in info.summary for k in ADDITIVE):
        return {k: float(info.summary[k]) for k in ADDITIVE}
    out = dict.fromkeys(ADDITIVE, 0.0)
    for r in store.calls(run_id):
        if r.status == "cached":
            out["cached_calls"] += 1
            continue
        out["calls"] += 1
        out[{"ok": "ok_calls", "error": "failed_calls", "flagged": "flagged_calls"}[r.status]] += 1
        if r.executed:
            out["input_tokens"] += r.input_tokens
            out["output_tokens"] += r.output_tokens
            out["forward_passes"] += r.output_tokens
            out["dollars"] += r.dollars or 0.0
    return out


def _newest_continuation(store: RunStore, info: RunInfo) -> RunInfo | None:
    """The newest segment of the chain that continued ``info`` (forward), or ``None``."""
    maker = store.runs(limit=None, kind="maker")  # newest first
    newest: RunInfo | None = None
    seen = {info.id}
    while True:
        current = (newest or info).id
        nxt = next((r for r in maker if r.params.get("resumed_from") == current), None)
        if nxt is None or nxt.id in seen:  # the end of the chain (a loop would be corrupt)
            return newest
        seen.add(nxt.id)
        newest = nxt


def find_resume(store: RunStore, ref: str) -> Resume:
    """How to continue run ``ref`` (an id or unique prefix) of ``store``.

    Follows the chain of segments back (each names the run it continued in its parameters) to
    the newest checkpoint, and adds up what every segment spent. A segment that was itself
    continued is refused, naming the newest segment — finished (nothing to resume) or not
    (resume that one) — so that no task is run twice.
    """
    info = store.run(ref)
    if info.kind != "maker":
        raise ConfigError(
            f"Run {info.id} is a '{info.kind}' run, not a MAKER run. Resume a run listed by "
            "'hakaru runs list' with kind 'maker'."
        )
    if info.status == "done":
        raise ConfigError(
            f"Run {info.id} already finished ({(info.summary or {}).get('outcome', 'done')}). "
            "Only a killed or failed run can be resumed."
        )
    later = _newest_continuation(store, info)
    if later is not None:
        if later.status == "done":
            outcome = (later.summary or {}).get("outcome", "done")
            raise ConfigError(
                f"Run {info.id} was continued by run {later.id}, which finished ({outcome}): "
                f"nothing is left to resume. See 'hakaru runs show {later.id}'"
            )
        raise ConfigError(
            f"Run {info.id} was already continued by run {later.id}. Resume that one instead: "
            f"hakaru maker run --resume {later.id}"
        )
    chain = [info]
    while chain[-1].params.get("resumed_from"):
        chain.append(store.run(str(chain[-1].params["resumed_from"])))
    checkpoint = None
    for seg in chain:  # newest first
        checkpoint = store.latest_checkpoint(seg.id)
        if checkpoint is not None:
            break
    prior = dict.fromkeys(ADDITIVE, 0.0)
    for seg in chain:
        for key, value in stored_totals(store, seg.id).items():
            prior[key] += value
    params = {k: v for k, v in info.params.items() if k != "resumed_from"}
    return Resume(
        run_id=info.id,
        params=params,
        checkpoint=checkpoint,
        prior=prior,
        segments=tuple(seg.id for seg in reversed(chain)),
    )
