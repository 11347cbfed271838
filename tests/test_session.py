"""The chokepoint: happens-before, retries, timeouts, budgets, limits, cache, validation."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest

from fakes import ScriptedBackend
from hakaru import (
    BudgetExceeded,
    CapabilityError,
    ModelSpec,
    RateLimited,
    RedFlag,
    Request,
    RequestRejected,
    ServerError,
    Task,
)
from hakaru.budget import Budget
from hakaru.ledger import work_span
from hakaru.limits import RateLimiter, RetryPolicy
from hakaru.session import Session
from hakaru.sync import SyncSession

FAST = RetryPolicy(initial=0.001, max_delay=0.002)


def req(prompt: str = "hello there", **kw: object) -> Request:
    return Request.chat("m", prompt, **kw)  # type: ignore[arg-type]


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_sequential_calls_form_a_chain() -> None:
    async def main() -> Session:
        async with Session(ScriptedBackend()) as s:
            for _ in range(3):
                await s.call(req())
            return s

    s = run(main())
    assert [r.parents for r in s.records] == [(), (1,), (2,)]
    assert s.totals()["depth"] == 3


def test_gather_makes_siblings_and_joins() -> None:
    async def main() -> Session:
        async with Session(ScriptedBackend()) as s:
            await s.call(req("first"))
            await s.gather(*(s.call(req(f"child {i}")) for i in range(3)))
            await s.call(req("join"))
            return s

    s = run(main())
    parents = {r.id: r.parents for r in s.records}
    assert parents[2] == parents[3] == parents[4] == (1,)
    assert parents[5] == (2, 3, 4)
    t = s.totals()
    assert t["calls"] == 5 and t["depth"] == 3


@pytest.mark.parametrize("suspends", [False, True])
def test_inline_gather_keeps_the_happens_before_of_a_forked_one(suspends: bool) -> None:
    # The simulator answers at once; the scripted backend sleeps (the children suspend).
    from hakaru.backends.sim import SimBackend

    def shape(inline: bool) -> tuple[list[tuple[int, ...]], int]:
        backend = ScriptedBackend(delay=0.01) if suspends else SimBackend()

        async def child(s: Session, i: int) -> str:
            await s.call(Request.chat("sim-small", f"a{i}"))
            return (await s.call(Request.chat("sim-small", f"b{i}"))).text

        async def main() -> Session:
            async with Session(backend) as s:
                await s.call(Request.chat("sim-small", "first"))
                texts = await s.gather(*(child(s, i) for i in range(3)), inline=inline)
                assert all(texts)
                await s.call(Request.chat("sim-small", "join"))
                return s

        s = run(main())
        return [r.parents for r in s.records], getattr(backend, "max_in_flight", 0)

    forked, forked_flight = shape(False)
    inline, inline_flight = shape(True)
    for parents in (forked, inline):  # first; three a's after it; a b after each a; the join
        a_calls = [i + 1 for i, p in enumerate(parents) if p == (1,)]
        b_calls = [i + 1 for i, p in enumerate(parents) if len(p) == 1 and p[0] in a_calls]
        assert len(a_calls) == len(b_calls) == 3
        assert parents[-1] == tuple(b_calls)
    if not suspends:  # the same ids too
        assert inline == forked
    assert forked_flight == (3 if suspends else 0)  # forked children that suspend overlap
    assert inline_flight == (1 if suspends else 0)  # inline ones run one after another


@pytest.mark.filterwarnings("error::RuntimeWarning")  # a child never awaited
def test_inline_gather_stops_at_the_first_failure_and_keeps_the_fork() -> None:
    started: list[int] = []

    async def child(s: Session, i: int) -> int:
        started.append(i)
        await s.call(req(f"child {i}"))
        if i == 1:
            raise ValueError("child 1 failed")
        return i

    async def main() -> Session:
        async with Session(ScriptedBackend()) as s:
            await s.call(req("first"))
            with pytest.raises(ValueError, match="child 1 failed"):
                await s.gather(*(child(s, i) for i in range(4)), inline=True)
            await s.call(req("after"))
            return s

    s = run(main())
    assert started == [0, 1]  # children 2 and 3 are never started
    # The children's calls were recorded as siblings; the caller is back at the fork.
    assert [r.parents for r in s.records] == [(), (1,), (1,), (1,)]


def test_a_backend_that_answers_at_once_says_so() -> None:
    from hakaru.backends.sim import SimBackend

    assert Session(SimBackend()).answers_at_once
    assert not Session(SimBackend(real_time=True)).answers_at_once
    assert not Session(ScriptedBackend()).answers_at_once


def test_nested_map_work_span_depth_match_offline() -> None:
    # A tree: 4 branches, each a chain of 2 calls, then a join: depth 3, work 9 calls.
    async def branch(s: Session, i: int) -> None:
        await s.call(req(f"a{i}"))
        await s.call(req(f"b{i} " + "x " * i))

    async def main() -> Session:
        async with Session(ScriptedBackend()) as s:
            await s.map(lambda i: branch(s, i), range(4))
            await s.call(req("join"))
            return s

    s = run(main())
    t = s.totals()
    assert (t["calls"], t["depth"]) == (9, 3)
    offline = work_span(s.records, "forward_passes")
    assert offline.work == t["forward_passes"]
    assert offline.span == t["span_forward_passes"]
    assert offline.depth == t["depth"]
    lat = work_span(s.records, "latency")
    assert lat.span == pytest.approx(t["sim_seconds"]) == pytest.approx(3.0)


def test_retry_honours_retry_after_and_records_every_attempt() -> None:
    def script(request: Request, n: int) -> object:
        if n < 2:
            return RateLimited("slow down", retry_after=0.01)
        return "fine"

    async def main() -> Session:
        async with Session(ScriptedBackend(script), retry=FAST) as s:
            r = await s.call(req())
            assert r.text == "fine"
            return s

    s = run(main())
    recs = s.records
    assert [(r.attempt, r.status, r.error_kind) for r in recs] == [
        (1, "error", "rate_limited"),
        (2, "error", "rate_limited"),
        (3, "ok", ""),
    ]
    assert [r.parents for r in recs] == [(), (1,), (2,)]
    t = s.totals()
    assert (t["calls"], t["failed_calls"], t["ok_calls"]) == (3, 2, 1)


def test_server_errors_exhaust_attempts_then_raise() -> None:
    async def main() -> Session:
        async with Session(
            ScriptedBackend(lambda r, n: ServerError("boom", status=503)), retry=FAST
        ) as s:
            with pytest.raises(ServerError):
                await s.call(req())
            return s

    s = run(main())
    assert len(s.records) == FAST.max_attempts
    assert all(r.status == "error" and r.error_kind == "server_error" for r in s.records)


def test_other_4xx_is_never_retried() -> None:
    async def main() -> Session:
        async with Session(
            ScriptedBackend(lambda r, n: RequestRejected("bad", status=422)), retry=FAST
        ) as s:
            with pytest.raises(RequestRejected):
                await s.call(req())
            return s

    assert len(run(main()).records) == 1


def test_timeout_is_recorded_and_retried() -> None:
    async def main() -> Session:
        backend = ScriptedBackend(delay=lambda r, n: 5.0 if n == 0 else 0.0)
        async with Session(backend, timeout=0.05, retry=FAST) as s:
            r = await s.call(req())
            assert r.text == "ok"
            return s

    s = run(main())
    assert [(r.status, r.error_kind) for r in s.records] == [("error", "timeout"), ("ok", "")]
    assert "within 0.05 s" in s.records[0].error


def test_budget_never_exceeded_with_200_concurrent_calls() -> None:
    rng = random.Random(7)
    limit = 8_000

    def script(request: Request, n: int) -> str:
        return " ".join(["w"] * rng.randint(1, request.max_tokens or 1))

    async def one(s: Session, i: int) -> bool:
        try:
            await s.call(req(f"question number {i} " + "x " * (i % 17), max_tokens=64))
            return True
        except BudgetExceeded:
            return False

    async def main() -> Session:
        backend = ScriptedBackend(script, delay=lambda r, n: rng.random() * 0.01)
        async with Session(backend, budget=Budget(tokens=limit), concurrency=200) as s:
            done = await s.map(lambda i: one(s, i), range(200))
            assert 0 < sum(done) < 200
            assert backend.max_in_flight > 50
            return s

    s = run(main())
    t = s.totals()
    assert t["input_tokens"] + t["output_tokens"] <= limit
    assert s.guard is not None
    assert s.guard.spent[1] == t["input_tokens"] + t["output_tokens"]
    assert s.guard.reserved == [0.0, 0.0, 0.0, 0.0]


def test_budget_message_names_the_limit() -> None:
    async def main() -> None:
        async with Session(ScriptedBackend(), budget=Budget(calls=2), retry=RetryPolicy(1)) as s:
            await s.call(req())
            await s.call(req())
            with pytest.raises(BudgetExceeded) as info:
                await s.call(req())
            assert str(info.value) == (
                "The calls budget of 2 calls would be exceeded: 2 calls spent or reserved, and "
                "this call may use up to 1. Raise the budget, or lower max_tokens so calls "
                "reserve less"
            )

    run(main())


def test_concurrency_limits_global_and_per_model() -> None:
    async def main() -> tuple[int, int]:
        b1 = ScriptedBackend(delay=0.005)
        async with Session(b1, concurrency=5) as s:
            await s.map(lambda i: s.call(req(str(i))), range(40))
        b2 = ScriptedBackend(delay=0.005)
        async with Session(b2, per_model={"m": 3}) as s:
            await s.map(lambda i: s.call(req(str(i))), range(40))
        return b1.max_in_flight, b2.max_in_flight

    assert run(main()) == (5, 3)


def test_rate_limiter_waits_for_refill() -> None:
    async def main() -> float:
        limiter = RateLimiter(120)  # 2 per second, bucket of 120
        await limiter.acquire(120)
        t0 = time.monotonic()
        await limiter.acquire(1)
        return time.monotonic() - t0

    assert run(main()) >= 0.4  # needs half a second of refill


def test_capability_is_checked_before_calling() -> None:
    spec = ModelSpec("adder", capabilities=frozenset({"sum:4"}))
    backend = ScriptedBackend(specs=(spec,))

    async def main() -> None:
        async with Session(backend) as s:
            task = Task("sum", {"numbers": list(range(9))}, items=9)
            with pytest.raises(CapabilityError):
                await s.call(Request.chat("adder", "add", task=task))

    run(main())
    assert backend.n == 0


def test_validator_flags_and_parses() -> None:
    def validate(r: object) -> int:
        text = r.text  # type: ignore[attr-defined]
        if not text.isdigit():
            raise RedFlag(f"not a number: {text!r}")
        return int(text)

    async def main() -> Session:
        backend = ScriptedBackend(lambda r, n: "abc" if n == 0 else "42")
        async with Session(backend) as s:
            with pytest.raises(RedFlag):
                await s.call(req(), validate=validate)
            r = await s.call(req(), validate=validate)
            assert r.parsed == 42
            return s

    s = run(main())
    assert [(r.status, r.candidate) for r in s.records] == [("flagged", ""), ("ok", "42")]
    assert s.totals()["flagged_calls"] == 1


def test_identical_requests_get_distinct_sample_indices() -> None:
    async def main() -> list[int]:
        backend = ScriptedBackend()
        async with Session(backend) as s:
            await s.gather(*(s.call(req(temperature=0.1)) for _ in range(3)))
            await s.call(req("other"))
        return [r.sample for r in backend.requests]

    assert run(main()) == [0, 1, 2, 0]


def test_cancelled_call_is_recorded() -> None:
    async def main() -> Session:
        async with Session(ScriptedBackend(delay=10.0)) as s:
            task = asyncio.ensure_future(s.call(req()))
            await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return s

    s = run(main())
    assert [(r.status, r.error_kind) for r in s.records] == [("error", "cancelled")]


def test_sync_facade_chains_and_gathers() -> None:
    with SyncSession(ScriptedBackend()) as s:
        s.call(req("a"))
        s.gather(req("b"), req("c"))
        s.call(req("d"))
        recs = s.ledger.records
    assert [r.parents for r in recs] == [(), (1,), (1,), (2, 3)]


def test_after_declares_dependencies_of_bare_gather() -> None:
    async def main() -> Session:
        async with Session(ScriptedBackend()) as s:
            rs = await asyncio.gather(s.call(req("x")), s.call(req("y")))
            s.after(*rs)
            await s.call(req("z"))
            return s

    s = run(main())
    assert s.records[-1].parents == (1, 2)
    assert s.totals()["depth"] == 2


def test_a_backend_that_can_start_is_started_when_the_session_is_entered() -> None:
    class Starting(ScriptedBackend):
        started_before_calls: bool | None = None

        async def start(self) -> None:
            self.started_before_calls = self.n == 0

    backend = Starting()

    async def main() -> None:
        async with Session(backend) as s:
            await s.call(Request.chat("m", "hi"))

    asyncio.run(main())
    assert backend.started_before_calls is True and backend.n == 1


def test_durable_returns_once_the_queued_records_are_committed(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "runs.db"

    def on_disk(run_id: str) -> int:
        with sqlite3.connect(path) as other:  # another connection sees only committed rows
            row = other.execute("SELECT count(*) FROM calls WHERE run_id = ?", (run_id,))
            return int(row.fetchone()[0])

    async def main() -> tuple[int, int]:
        async with Session(ScriptedBackend(), store=path, durability="batch") as s:
            await s.durable()  # nothing queued: returns at once
            await s.call(Request.chat("m", "hi"))  # "batch": returns with its record queued
            queued = on_disk(s.run_id)
            await s.durable()
            return queued, on_disk(s.run_id)

    assert asyncio.run(main()) == (0, 1)
