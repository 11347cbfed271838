"""The Ray executor on a real local cluster (one for the whole module, 2 CPUs, ~5 s to start).

Same counts as in-process, budgets exact across actors, a killed actor's calls retried and
recorded, cancellation reaching the actor, votes spread over actors, one budget shared by several
drivers. Sweep points as Ray tasks: tests/sweeps/test_remote.py; that the actors open no port of
their own: tests/security/test_ray_actors.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from click.testing import CliRunner  # noqa: E402

from hakaru import BudgetExceeded, Request  # noqa: E402
from hakaru.backends.sim import SimBackend, SimModel  # noqa: E402
from hakaru.budget import Budget  # noqa: E402
from hakaru.cli.main import cli  # noqa: E402
from hakaru.errors import ConfigError, RedFlag  # noqa: E402
from hakaru.executors.budget_actor import SharedBudget  # noqa: E402
from hakaru.executors.ray import RayBackend, RayExecutor  # noqa: E402
from hakaru.limits import RetryPolicy  # noqa: E402
from hakaru.patterns.redflag import flag_truncated  # noqa: E402
from hakaru.runner import run_workload  # noqa: E402
from hakaru.session import Session  # noqa: E402
from hakaru.tasks import task_kind  # noqa: E402
from hakaru.types import ModelSpec, Response  # noqa: E402

FAST = RetryPolicy(initial=0.001, max_delay=0.002)


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[float]:
    """One local Ray cluster for every test here; yields its start time in seconds."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    t0 = time.perf_counter()
    ray.init("local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    started = time.perf_counter() - t0
    # Functions defined in this file travel by value: workers cannot import test modules.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    print(f"\nlocal Ray cluster started in {started:.1f} s")
    try:
        yield started
    finally:
        ray.shutdown()


def _same_totals(a: dict[str, Any], b: dict[str, Any]) -> None:
    # Exactly equal, floats included: the ledger's sums do not depend on the order in which
    # calls finish (it adds exact integer sums per model and prices).
    assert a == b


def test_same_workload_same_totals_on_both_executors() -> None:
    async def main() -> tuple[Any, Any]:
        kw: dict[str, Any] = {"params": {"n": 512, "fan_in": 4}, "seed": 3, "sim_error": 0.05}
        local = await run_workload("tree-sum", **kw)
        executor = RayExecutor()
        remote = await run_workload("tree-sum", session_options={"executor": executor}, **kw)
        return local, remote

    local, remote = asyncio.run(main())
    assert local.totals["calls"] == 171  # 128 + 32 + 8 + 2 + 1 adds, and this seed's resamples
    assert local.totals["flagged_calls"] == 0
    _same_totals(local.totals, remote.totals)
    for key in ("calls", "input_tokens", "output_tokens", "forward_passes", "depth"):
        assert remote.totals[key] == local.totals[key]
    assert remote.totals["aalp_cost"] == local.totals["aalp_cost"]
    assert remote.totals["span_forward_passes"] == local.totals["span_forward_passes"]
    assert (remote.result.answer, remote.result.correct) == (
        local.result.answer,
        local.result.correct,
    )


def test_budget_never_exceeded_with_calls_spread_over_actors() -> None:
    slow = SimModel("sim-slow", ttft=0.05, prefill_tps=1e9, decode_tps=1e9)
    limit = 2_000  # tokens

    async def main() -> tuple[Session, RayBackend, int]:
        executor = RayExecutor(actors=3, max_concurrency=8)
        backend = SimBackend(seed=1, models=[slow], real_time=True)
        refused = 0
        async with Session(backend, executor=executor, budget=Budget(tokens=limit)) as s:

            async def one(i: int) -> None:
                nonlocal refused
                try:
                    await s.call(Request.chat("sim-slow", f"question {i}", max_tokens=150))
                except BudgetExceeded:
                    refused += 1

            await s.gather(*(one(i) for i in range(40)))
            pool = s.backend
            assert isinstance(pool, RayBackend)
            await pool.aclose()
        return s, pool, refused

    s, pool, refused = asyncio.run(main())
    t = s.totals()
    assert t["input_tokens"] + t["output_tokens"] <= limit
    assert s.guard is not None and s.guard.spent[1] <= limit and s.guard.reserved[1] == 0
    assert t["ok_calls"] + refused == 40 and refused > 0 and t["ok_calls"] >= 10
    stats = pool.stats()
    assert stats.calls == t["ok_calls"] and all(n > 0 for n in stats.served)
    assert stats.in_flight == 0


def test_killed_actor_is_replaced_and_its_calls_retried_and_recorded() -> None:
    slow = SimModel("sim-slow", ttft=1.0, prefill_tps=1e9, decode_tps=1e9)  # 1 s a call

    async def main() -> tuple[Session, RayBackend, int, list[str]]:
        executor = RayExecutor(actors=2, max_concurrency=16)
        backend = SimBackend(seed=1, models=[slow], real_time=True)
        async with Session(backend, executor=executor, retry=FAST) as s:
            pool = s.backend
            assert isinstance(pool, RayBackend)
            calls = asyncio.ensure_future(
                s.gather(*(s.call(Request.chat("sim-slow", f"q{i}")) for i in range(24)))
            )
            while pool.stats().in_flight < 24:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # the calls are asleep inside the actors
            assert pool.stats().served == (0, 0)  # nothing answered yet
            killed = pool._load[0]
            ray.kill(pool.actors[0])
            responses = await calls
            await pool.aclose()
        return s, pool, killed, [r.text for r in responses]

    s, pool, killed, texts = asyncio.run(main())
    assert killed == 12 and len(texts) == 24
    t = s.totals()
    assert (t["ok_calls"], t["failed_calls"], t["calls"]) == (24, 12, 36)
    failed = [r for r in s.records if r.status == "error"]
    assert {r.error_kind for r in failed} == {"connection"}
    assert all("Ray actor answering this call died" in r.error for r in failed)
    retried = [r for r in s.records if r.attempt == 2]
    assert sorted(r.parents[0] for r in retried) == sorted(r.id for r in failed)
    assert all(r.status == "ok" for r in retried)
    stats = pool.stats()
    assert stats.replaced == 1 and stats.calls == 24 and stats.served[0] > 0  # the successor


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    return True


def test_an_actor_killed_before_its_first_call_is_replaced() -> None:
    # A call to an actor that died while idle must find out, replace it, and still be
    # answered (the session retries).
    async def main() -> tuple[Session, RayBackend]:
        executor = RayExecutor(actors=2, max_concurrency=8)
        async with Session(SimBackend(seed=1), executor=executor, retry=FAST) as s:
            pool = s.backend
            assert isinstance(pool, RayBackend)
            pid = await pool.actors[0].ready.remote()
            ray.kill(pool.actors[0])
            while _alive(pid):  # until its process is gone (a local cluster)
                await asyncio.sleep(0.01)
            await s.gather(*(s.call(Request.chat("sim-small", f"q{i}")) for i in range(8)))
            await pool.aclose()
        return s, pool

    s, pool = asyncio.run(main())
    t = s.totals()
    assert t["ok_calls"] == 8 and t["failed_calls"] >= 1
    assert pool.stats().replaced == 1 and pool.stats().served[0] > 0


class Sleeper:
    """A backend whose calls sleep until cancelled, leaving a file at each step."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    async def complete(self, request: Request) -> Response:
        (self.folder / "started").touch()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            (self.folder / "cancelled").touch()
            raise
        raise AssertionError("not cancelled")

    def model_spec(self, name: str) -> ModelSpec | None:
        return None

    async def aclose(self) -> None:
        pass


async def _appears(path: Path, within: float = 20.0) -> bool:
    deadline = time.monotonic() + within
    while not path.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return path.exists()


def test_cancelling_a_call_cancels_it_in_the_actor(tmp_path: Path) -> None:
    async def main() -> RayBackend:
        pool = RayExecutor(actors=1).wrap(Sleeper(str(tmp_path)))
        assert isinstance(pool, RayBackend)
        call = asyncio.ensure_future(pool.complete(Request.chat("sim-small", "wait")))
        assert await _appears(tmp_path / "started")
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert await _appears(tmp_path / "cancelled")  # in the actor's process
        await pool.aclose()
        return pool

    stats = asyncio.run(main()).stats()
    assert (stats.calls, stats.in_flight, stats.replaced) == (0, 0, 0)


def test_a_pool_serves_one_event_loop_after_another() -> None:
    pool = RayExecutor(actors=2, max_concurrency=4).wrap(SimBackend(seed=1))
    assert isinstance(pool, RayBackend)

    async def some(n: int) -> list[Response]:
        return await asyncio.gather(
            *(pool.complete(Request.chat("sim-small", f"q{i}")) for i in range(n))
        )

    assert len(asyncio.run(some(20))) == 20  # then that loop ends
    assert len(asyncio.run(some(20))) == 20  # and a new one uses the same actors
    asyncio.run(pool.aclose())
    stats = pool.stats()
    assert (stats.calls, stats.replaced, stats.in_flight) == (40, 0, 0)
    assert 4 <= stats.batches <= 40  # queued calls share actor tasks


def test_votes_spread_over_actors_and_match_local() -> None:
    voter = SimModel("sim-voter", capabilities=frozenset({"*"}), base_error=0.3, rho=0.0)
    kind = task_kind("sum")
    request = kind.request("sim-voter", {"numbers": [12, 30, 7]}, temperature=0.8)

    async def ballot(s: Session) -> Response | RedFlag:
        try:
            return await s.call(request, validate=flag_truncated(kind.parse))
        except RedFlag as flag:  # a flagged sample stands in its place
            return flag

    async def ballots(executor: RayExecutor | None) -> tuple[list[str], tuple[int, ...]]:
        backend = SimBackend(seed=5, models=[voter], real_time=True, time_scale=0.1)
        served: tuple[int, ...] = ()
        async with Session(backend, executor=executor) as s:
            got = await s.gather(*(ballot(s) for _ in range(12)))  # one round's samples, at once
            if isinstance(s.backend, RayBackend):
                served = s.backend.stats().served
            await s.call(Request.chat("sim-voter", "tally"))  # depends on every ballot
            assert set(s.records[-1].parents) == {r.id for r in s.records[:-1]}
            if isinstance(s.backend, RayBackend):
                await s.backend.aclose()
        return [str(b.reason if isinstance(b, RedFlag) else b.parsed) for b in got], served

    local, _ = asyncio.run(ballots(None))
    remote, served = asyncio.run(ballots(RayExecutor(actors=3, max_concurrency=8)))
    assert remote == local  # sample by sample
    assert Counter(local).most_common(1)[0] == ("49", 7)  # this seed: 7 of 12 right
    assert served == (4, 4, 4)


@ray.remote(num_cpus=0.5)
def _spend(name: str, calls: int) -> tuple[int, int]:
    """Another driver: a session drawing on the shared budget; (tokens spent, calls refused)."""

    async def main() -> tuple[int, int]:
        refused = 0
        shared = SharedBudget(name=name)  # attach, do not create
        async with Session(SimBackend(seed=7), executor=shared) as s:

            async def one(i: int) -> None:
                nonlocal refused
                try:
                    await s.call(Request.chat("sim-small", f"task {i}", max_tokens=100))
                except BudgetExceeded:
                    refused += 1

            await s.gather(*(one(i) for i in range(calls)))
        # A refused call never reached a model: it is not recorded, as with a local budget.
        used = sum(r.input_tokens + r.output_tokens for r in s.records)
        assert s.totals()["failed_calls"] == 0 and s.totals()["calls"] == calls - refused
        return used, refused

    return asyncio.run(main())


def test_shared_budget_is_never_exceeded_by_several_drivers() -> None:
    limit = 5_000  # tokens
    shared = SharedBudget(Budget(tokens=limit), name="test-shared")
    try:
        spent = ray.get([_spend.remote("test-shared", 40) for _ in range(3)])
        state = shared.state()
        assert state["reserved"]["tokens"] == 0
        assert state["spent"]["tokens"] == sum(s for s, _ in spent) <= limit
        assert sum(refused for _, refused in spent) > 0  # 120 calls of ~105 tokens: not all fit
        # As the session's own guard: refused before anything is recorded.
        with pytest.raises(ConfigError, match="already exists"):
            SharedBudget(Budget(tokens=1), name="test-shared")

        async def guarded() -> Session:
            async with Session(SimBackend(seed=7)) as s:
                s.guard = shared  # type: ignore[assignment]
                # Its worst case alone (prompt + 5,000 output tokens) exceeds what is left.
                with pytest.raises(BudgetExceeded, match="tokens budget of 5,000"):
                    await s.call(Request.chat("sim-small", "one more", max_tokens=limit))
            return s

        assert asyncio.run(guarded()).totals()["calls"] == 0
    finally:
        shared.kill()


def test_unpicklable_backend_needs_a_factory() -> None:
    class Holding(SimBackend):
        def __init__(self) -> None:
            super().__init__()
            self.lock = __import__("threading").Lock()

    with pytest.raises(ConfigError, match=r"cannot be sent to Ray actors .*backend_factory"):
        RayExecutor(actors=1).wrap(Holding())


# A noisy simulated model: steps need several rounds of votes, and some draws are flagged.
MAKER_RUN = ("maker", "run", "--disks", "5", "--k", "2", "--model", "sim-hanoi-nano",
             "--sim-error", "0.15", "--seed", "3", "--no-store", "--json")  # fmt: skip


def test_maker_run_on_ray_actors_matches_the_local_run() -> None:
    # The actors know the driver's task kinds (hanoi-step is registered by the driver only).
    def maker(*extra: str) -> dict[str, Any]:
        result = CliRunner().invoke(cli, [*MAKER_RUN, *extra])
        assert result.exit_code == 0, result.output
        out: dict[str, Any] = json.loads(result.stdout)
        return out

    local = maker()
    on_ray = maker("--executor", "ray", "--ray-actors", "2")
    assert local["calls"] > 2 * local["steps_done"]  # votes beyond k: rounds happened
    same = ("steps_done", "solved", "errors", "calls", "flagged", "input_tokens", "output_tokens")
    assert {k: on_ray[k] for k in same} == {k: local[k] for k in same}
    assert on_ray["diagnostics"] == local["diagnostics"]
