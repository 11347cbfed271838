"""The run store: schema, round trips, group commit, failures and exports — on real SQLite files."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import fields, replace
from pathlib import Path

import pytest

from hakaru.errors import ConfigError, StoreError
from hakaru.pricing import Prices
from hakaru.store import SCHEMA_VERSION, RunNotFound, RunStore, default_store_path
from hakaru.store.rows import KIND_FIELDS, PHYSICAL
from hakaru.types import CallRecord

FIELDS = [f.name for f in fields(CallRecord)]


def full_record(i: int, run_id: str = "") -> CallRecord:
    """A record in which every field differs from its default."""
    return CallRecord(
        id=i,
        parents=(i - 2, i - 1, 2**40),
        role="critic ✓",
        model="sim-large",
        attempt=3,
        status="flagged",
        error_kind="rate_limited",
        error='429 "slow down", please\nretry',
        input_tokens=2**62,
        output_tokens=17,
        reasoning_tokens=5,
        cache_read_tokens=2,
        cache_write_tokens=3,
        usage_source="estimated",
        size=0.1 + 0.2,
        dollars=2.5e-9,
        latency=1.0 / 3.0,
        started=-0.5,
        ended=12.25,
        sim_start=3.0,
        sim_end=3.0 + 1.0 / 3.0,
        step=-1,
        vote=9,
        candidate='x=1, y="2"',
        finish_reason="length",
        reasoning_budget=4096,
        run_id=run_id,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    s = RunStore(tmp_path / "hakaru.db")
    yield s
    s.close()


def rows_of(path: Path, run_id: str) -> int:
    other = sqlite3.connect(path)
    try:
        return int(
            other.execute("SELECT COUNT(*) FROM calls WHERE run_id = ?", (run_id,)).fetchone()[0]
        )
    finally:
        other.close()


# -- schema and file -------------------------------------------------------------------------


def test_every_field_differs_from_its_default_in_the_test_record() -> None:
    rec, default = full_record(5, "r"), CallRecord(5, (), "", "")
    same = [n for n in FIELDS if n not in ("id",) and getattr(rec, n) == getattr(default, n)]
    assert same == [], "give these new CallRecord fields a non-default value in full_record()"


def test_round_trip_of_every_callrecord_field(store: RunStore) -> None:
    run_id = store.new_run("workload", "routing", {"n": 8})
    records = [full_record(i) for i in (10, 3, 7)] + [CallRecord(1, (), "r", "m")]
    assert store.add_calls(run_id, records) == 4
    back = list(store.calls(run_id))
    expected = sorted(records, key=lambda r: r.id)
    assert [r.id for r in back] == [1, 3, 7, 10]
    for got, want in zip(back, expected, strict=True):
        for name in FIELDS:
            value = run_id if name == "run_id" else getattr(want, name)
            assert getattr(got, name) == value, name
            assert type(getattr(got, name)) is type(value), name
    assert back[0].step is None and back[0].reasoning_budget is None and back[0].parents == ()


def test_calls_view_has_one_column_per_field_over_lean_rows(store: RunStore) -> None:
    with sqlite3.connect(store.path) as other:
        view = other.execute("PRAGMA table_info(calls)").fetchall()
        table = other.execute("PRAGMA table_info(call_rows)").fetchall()
    assert [row[1] for row in view] == FIELDS
    assert [row[1] for row in table] == list(PHYSICAL)  # run and id in the key, kinds apart
    assert {row[1]: row[5] for row in table if row[5]} == {"key": 1}
    assert set(FIELDS) - set(PHYSICAL) == {"id", "run_id", *KIND_FIELDS}


def test_the_calls_view_shows_the_records_as_schema_3_stored_them(store: RunStore) -> None:
    run_id = store.new_run("workload", "x")
    cached = CallRecord(4, (3,), "r", "m", status="cached", sim_start=2.0, sim_end=2.0)
    store.add_calls(run_id, [full_record(3), cached])
    with sqlite3.connect(store.path) as other:
        got = other.execute("SELECT * FROM calls WHERE run_id = ? ORDER BY id", (run_id,))
        rows = got.fetchall()
    assert rows[0] == _schema_3_row(full_record(3, run_id))
    assert rows[1] == _schema_3_row(replace(cached, run_id=run_id))


def test_a_lean_row_stores_no_text_twice(store: RunStore) -> None:
    # The votes of a step: same role, model, status, candidate; parents the previous step's.
    run_id = store.new_run("maker", "hanoi")
    votes = [
        CallRecord(i, (1001, 1002, 1003), "step", "sim-hanoi-mini", candidate="((1, 0, 2), x)")
        for i in range(1004, 1007)
    ]
    store.add_calls(run_id, votes)
    with sqlite3.connect(store.path) as other:
        texts = [t for (t,) in other.execute("SELECT text FROM strings ORDER BY id")]
        kinds = other.execute("SELECT * FROM kinds").fetchall()
        parents = [p for (p,) in other.execute("SELECT parents FROM call_rows ORDER BY key")]
        used = {k for (k,) in other.execute("SELECT kind FROM call_rows")}
        where = " OR ".join(f'"{name}" IS NULL' for name in PHYSICAL)
        nulls = other.execute(f"SELECT count(*) FROM call_rows WHERE {where}").fetchone()[0]
    assert texts == ["((1, 0, 2), x)"]
    assert kinds == [(1, "step", "sim-hanoi-mini", 1, "ok", "", "", "reported", 1.0, "", None)]
    assert used == {1}  # the three votes share one kind
    assert parents == ["3,2,1", "4,3,2", "5,4,3"]
    assert nulls == 0  # binding NULL costs the sqlite3 module an adapter lookup
    assert list(store.calls(run_id)) == [replace(v, run_id=run_id) for v in votes]


def test_wal_mode_and_synchronous_normal(store: RunStore) -> None:
    assert store.journal_mode == "wal"
    with sqlite3.connect(store.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store._conn().execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_default_location_is_hakaru_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "deep" / "home"
    monkeypatch.setenv("HAKARU_HOME", str(home))
    assert default_store_path() == home / "hakaru.db"
    with RunStore() as s:
        assert s.path == home / "hakaru.db"
    assert (home / "hakaru.db").is_file()
    monkeypatch.delenv("HAKARU_HOME")
    assert default_store_path() == Path(".hakaru") / "hakaru.db"


def test_a_field_missing_from_an_old_file_becomes_a_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    RunStore(path).close()
    with sqlite3.connect(path) as other:
        other.execute("DROP VIEW calls")  # it shows the column
        other.execute("ALTER TABLE call_rows DROP COLUMN vote")
    with RunStore(path) as s:
        run_id = s.new_run("workload", "x")
        s.add_calls(run_id, [full_record(1)])
        assert next(s.calls(run_id)).vote == 9
    with sqlite3.connect(path) as other:
        assert [row[1] for row in other.execute("PRAGMA table_info(calls)")] == FIELDS


def test_a_store_with_the_old_budget_column_reads_back_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _schema_3_store(path, [full_record(1, "r1")])
    with sqlite3.connect(path) as other:  # the file as schema 1 wrote it
        other.execute("ALTER TABLE calls RENAME COLUMN reasoning_budget TO budget")
        other.execute("PRAGMA user_version = 1")
    with RunStore(path) as s:
        assert [r.reasoning_budget for r in s.calls("r1")] == [4096]
    with sqlite3.connect(path) as other:
        assert other.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
        names = [row[1] for row in other.execute("PRAGMA table_info(calls)")]
        assert names == FIELDS and "budget" not in names


# The tables as schema 3 made them (hakaru before lean rows), in their column order.
_SCHEMA_3 = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY, created REAL NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
    params TEXT NOT NULL, status TEXT NOT NULL, summary TEXT, ended REAL,
    calls INTEGER NOT NULL DEFAULT 0, owner TEXT);
CREATE INDEX runs_by_created ON runs (created);
CREATE TABLE calls ("id" INTEGER, "parents" TEXT, "role" TEXT, "model" TEXT, "attempt" INTEGER,
    "status" TEXT, "error_kind" TEXT, "error" TEXT, "input_tokens" INTEGER,
    "output_tokens" INTEGER, "reasoning_tokens" INTEGER, "cache_read_tokens" INTEGER,
    "cache_write_tokens" INTEGER, "usage_source" TEXT, "size" REAL, "dollars" REAL,
    "latency" REAL, "started" REAL, "ended" REAL, "sim_start" REAL, "sim_end" REAL,
    "step" INTEGER, "vote" INTEGER, "candidate" TEXT, "finish_reason" TEXT,
    "reasoning_budget" INTEGER, "run_id" TEXT, PRIMARY KEY (run_id, id)) WITHOUT ROWID;
CREATE TABLE points (
    sweep_id TEXT NOT NULL, key TEXT NOT NULL, params TEXT NOT NULL, result TEXT, run_id TEXT,
    PRIMARY KEY (sweep_id, key));
CREATE TABLE checkpoints (
    run_id TEXT NOT NULL, step INTEGER NOT NULL, state TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (run_id, step));
CREATE TABLE prices (
    run_id TEXT NOT NULL, model TEXT NOT NULL, prices TEXT, PRIMARY KEY (run_id, model));
"""


def _schema_3_row(rec: CallRecord) -> tuple[object, ...]:
    """The row schema 3 stored for ``rec`` (parents as a compact JSON list)."""
    values = [getattr(rec, name) for name in FIELDS]
    values[FIELDS.index("parents")] = json.dumps(list(rec.parents), separators=(",", ":"))
    return tuple(values)


def _schema_3_store(path: Path, records: list[CallRecord]) -> None:
    """A store file exactly as hakaru's schema 3 wrote it, holding ``records``."""
    with sqlite3.connect(path) as old:
        old.executescript(_SCHEMA_3)
        for run_id in sorted({r.run_id for r in records}):
            n = sum(r.run_id == run_id for r in records)
            old.execute(
                "INSERT INTO runs VALUES (?, 1.0, 'maker', 'hanoi', '{}', 'done', '{}', 2.0, ?, "
                "NULL)",
                (run_id, n),
            )
            old.execute("INSERT INTO checkpoints VALUES (?, 2, '{\"step\":2}', 1.5)", (run_id,))
        rows = [_schema_3_row(r) for r in records]
        old.executemany(f"INSERT INTO calls VALUES ({', '.join('?' * len(FIELDS))})", rows)
        old.execute("PRAGMA user_version = 3")


def _a_new_run_reads_back(s: RunStore) -> str:
    """A run added to a migrated store; its record reads back."""
    new_run = s.new_run("maker", "hanoi")
    s.add_calls(new_run, [full_record(1)])
    assert list(s.calls(new_run)) == [full_record(1, new_run)]
    return new_run


def _migrated(path: Path, new_run: str) -> tuple[list[tuple[object, ...]], dict[str, str]]:
    """The view's rows of every run but ``new_run``, and the file's tables, views and indexes
    (by name), once the file is at the current schema version."""
    with sqlite3.connect(path) as other:
        assert other.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        after = other.execute(
            "SELECT * FROM calls WHERE run_id != ? ORDER BY run_id, id", (new_run,)
        ).fetchall()
        kinds = dict(other.execute("SELECT name, type FROM sqlite_master").fetchall())
    return after, kinds


def test_a_schema_3_store_migrates_in_place_and_reads_back_every_record(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    votes = [  # a step's votes, a cached call, a flagged one, every field of full_record
        CallRecord(i, (1, 2), "step", "sim-hanoi-mini", candidate="((1, 0, 2), s)", run_id="a")
        for i in (3, 4, 5)
    ]
    others = [
        CallRecord(6, (5,), "step", "m", status="cached", sim_start=1.0, sim_end=1.0, run_id="a"),
        CallRecord(7, (), "step", "m", status="flagged", sim_end=0.5, latency=0.25, run_id="b"),
        full_record(8, "b"),
    ]
    records = votes + others
    _schema_3_store(path, records)
    with sqlite3.connect(path) as old:
        before = old.execute("SELECT * FROM calls ORDER BY run_id, id").fetchall()
    with RunStore(path, readonly=True) as s:  # read-only: read as it is, nothing written
        assert list(s.calls("a")) + list(s.calls("b")) == records
    with sqlite3.connect(path) as old:
        assert old.execute("PRAGMA user_version").fetchone()[0] == 3
    with RunStore(path) as s:  # upgraded in place
        assert list(s.calls("a")) + list(s.calls("b")) == records
        assert [r.calls for r in sorted(s.runs(), key=lambda r: r.id)] == [4, 2]
        latest = s.latest_checkpoint("a")
        assert latest is not None and latest.state == {"step": 2}
        new_run = _a_new_run_reads_back(s)  # numbered after the migrated runs
    after, kinds = _migrated(path, new_run)
    assert after == before  # the view shows exactly what the old table held
    assert kinds["calls"] == "view" and kinds["call_rows"] == "table"
    assert "strings_by_text" not in kinds  # the migration's own index is gone


_V4_STORE = Path(__file__).parent / "data" / "store_v4.db"


def _v4_records(runs: dict[str, str]) -> list[CallRecord]:
    """The records in tests/data/store_v4.db, a file written by hakaru with schema 4 (at commit
    db02541): a step's three votes and a cached call in a maker run, a flagged call and a record
    whose every field differs from its default in a workload run."""
    a, b = runs["maker"], runs["workload"]
    votes = [
        CallRecord(i, (1, 2), "step", "sim-hanoi-mini", candidate="((1, 0, 2), s)", dollars=0.25,
                   step=2, vote=i - 3, run_id=a)
        for i in (3, 4, 5)
    ]  # fmt: skip
    return [
        *votes,
        CallRecord(6, (5,), "step", "m", status="cached", sim_start=1.0, sim_end=1.0, run_id=a),
        CallRecord(7, (), "step", "m", status="flagged", sim_end=0.5, latency=0.25, run_id=b),
        full_record(8, b),
    ]


def test_a_schema_4_store_is_read_as_it_is_then_migrates_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    path.write_bytes(_V4_STORE.read_bytes())
    with sqlite3.connect(path) as old:
        before = old.execute("SELECT * FROM calls ORDER BY run_id, id").fetchall()
    with RunStore(path, readonly=True) as s:  # read-only: read as it is, nothing written
        runs = {r.kind: r.id for r in s.runs()}
        records = _v4_records(runs)
        assert [*s.calls(runs["maker"]), *s.calls(runs["workload"])] == records
    with sqlite3.connect(path) as old:
        assert old.execute("PRAGMA user_version").fetchone()[0] == 4
    with RunStore(path) as s:  # upgraded in place
        assert [*s.calls(runs["maker"]), *s.calls(runs["workload"])] == records
        assert s.calls_by_id(runs["workload"], [8, 7, 99]) == records[-2:]
        assert {r.kind: r.calls for r in s.runs()} == {"maker": 4, "workload": 2}
        latest = s.latest_checkpoint(runs["maker"])
        assert latest is not None and latest.state == {"step": 2}
        assert s.prices(runs["maker"])["sim-hanoi-mini"] == Prices.of(1.0, 2.0, source="model spec")
        new_run = _a_new_run_reads_back(s)
    after, kinds = _migrated(path, new_run)
    assert after == before  # the view shows exactly what the old rows held
    assert "call_rows_v4" not in kinds and "kinds_by_value" not in kinds


def test_a_call_whose_kind_is_missing_is_refused_not_skipped(store: RunStore) -> None:
    run_id = store.new_run("workload", "x")
    store.add_calls(run_id, [CallRecord(1, (), "a", "m"), CallRecord(2, (1,), "b", "m")])
    with sqlite3.connect(store.path) as other:  # damage the file: one kind gone
        other.execute("DELETE FROM kinds WHERE role = 'b'")
    with pytest.raises(StoreError, match="call 2 of run .* names a kind of call"):
        list(store.calls(run_id))
    with pytest.raises(StoreError, match="the table kinds does not hold"):
        store.calls_by_id(run_id, [2])
    assert [r.id for r in store.calls_by_id(run_id, [1])] == [1]


def test_a_call_id_outside_the_key_range_is_refused(store: RunStore) -> None:
    run_id = store.new_run("workload", "x")
    for bad in (-1, 2**32):
        with pytest.raises(StoreError, match=f"Call id {bad} cannot be stored"):
            store.add_calls(run_id, [CallRecord(bad, (), "r", "m")])
    store.add_calls(run_id, [CallRecord(0, (), "r", "m"), CallRecord(2**32 - 1, (0,), "r", "m")])
    assert [r.id for r in store.calls(run_id)] == [0, 2**32 - 1]
    assert store.run(run_id).calls == 2  # the refused batches wrote nothing


def test_a_jsonl_export_made_before_the_rename_reads_back() -> None:
    old = {**full_record(1).as_dict(), "budget": 512}
    del old["reasoning_budget"]
    assert CallRecord.from_dict(old).reasoning_budget == 512


# The calls table as schema 2 made it (hakaru before token classes), in its column order.
_SCHEMA_2_CALLS = (
    '"id" INTEGER, "parents" TEXT, "role" TEXT, "model" TEXT, "attempt" INTEGER, '
    '"status" TEXT, "error_kind" TEXT, "error" TEXT, "input_tokens" INTEGER, '
    '"output_tokens" INTEGER, "reasoning_tokens" INTEGER, "cached_tokens" INTEGER, '
    '"usage_source" TEXT, "size" REAL, "price_in" REAL, "price_out" REAL, "latency" REAL, '
    '"started" REAL, "ended" REAL, "sim_start" REAL, "sim_end" REAL, "step" INTEGER, '
    '"vote" INTEGER, "candidate" TEXT, "finish_reason" TEXT, "reasoning_budget" INTEGER, '
    '"run_id" TEXT'
)


def test_a_schema_2_store_gets_token_classes_and_dollars(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE runs (id TEXT PRIMARY KEY, created REAL NOT NULL, kind TEXT NOT NULL, "
            "name TEXT NOT NULL, params TEXT NOT NULL, status TEXT NOT NULL, summary TEXT, "
            "ended REAL, calls INTEGER NOT NULL DEFAULT 0, owner TEXT)"
        )
        old.execute(
            f"CREATE TABLE calls ({_SCHEMA_2_CALLS}, PRIMARY KEY (run_id, id)) WITHOUT ROWID"
        )
        old.execute(
            "INSERT INTO runs VALUES ('r1', 1.0, 'workload', 'x', '{}', 'done', NULL, 2.0, 3, '')"
        )
        rows = [  # id, status, input, output, cached, price_in, price_out
            (1, "ok", 1000, 100, 400, 0.4, 1.6),  # priced: $0.00056
            (2, "ok", 10, 5, 0, 0.0, 0.0),  # zero prices: unknown to that hakaru
            (3, "error", 10, 0, 0, 0.4, 1.6),  # billed nothing
        ]
        for i, status, n, o, cached, p_in, p_out in rows:
            old.execute(
                "INSERT INTO calls VALUES (?, '[]', 'r', 'm', 1, ?, '', '', ?, ?, 0, ?, "
                "'reported', 1.0, ?, ?, 0.1, 0.0, 0.1, 0.0, 0.1, NULL, NULL, '', 'stop', NULL, "
                "'r1')",
                (i, status, n, o, cached, p_in, p_out),
            )
        old.execute("PRAGMA user_version = 2")
    with RunStore(path) as s:
        back = list(s.calls("r1"))
        assert [r.cache_read_tokens for r in back] == [400, 0, 0]
        assert [r.cache_write_tokens for r in back] == [0, 0, 0]
        assert back[0].dollars == pytest.approx((1000 * 0.4 + 100 * 1.6) / 1e6)
        assert [r.dollars for r in back[1:]] == [None, 0.0]
        assert s.prices("r1") == {"m": Prices.of(0.4, 1.6)}
    with sqlite3.connect(path) as other:
        assert other.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        names = [row[1] for row in other.execute("PRAGMA table_info(calls)")]
        assert sorted(names) == sorted(FIELDS)  # price_in and price_out dropped, two added


def test_a_jsonl_export_made_before_token_classes_reads_back() -> None:
    old = full_record(1).as_dict()
    old["cached_tokens"] = old.pop("cache_read_tokens")
    del old["cache_write_tokens"], old["dollars"]
    old.update(price_in=0.4, price_out=1.6, status="ok", input_tokens=1000, output_tokens=100)
    rec = CallRecord.from_dict(old)
    assert rec.cache_read_tokens == 2 and rec.cache_write_tokens == 0
    assert rec.dollars == pytest.approx(0.00056)


def test_prices_of_a_run_round_trip(store: RunStore) -> None:
    run_id = store.new_run("session")
    tiered = Prices.of(3.0, 15.0, cache_read=0.3, tiers=((200_000, Prices.of(6.0, 22.5)),))
    store.put_prices(run_id, "a", tiered)
    store.put_prices(run_id, "b", None)
    assert store.prices(run_id) == {"a": tiered, "b": None}
    assert store.prices("other") == {}


def test_a_runs_table_without_owner_gains_one(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with RunStore(path) as s:
        old_run = s.new_run("workload", "x")
    with sqlite3.connect(path) as other:
        other.execute("ALTER TABLE runs DROP COLUMN owner")
    with RunStore(path) as s:
        assert s.run(old_run).status == "running"  # its process is unknown: not judged
        assert s.run(s.new_run("workload", "y")).status == "running"


def test_a_run_whose_process_ended_is_interrupted(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(ended.stdout)
    host = socket.gethostname()
    with RunStore(tmp_path / "s.db") as s:
        runs = {owner: s.new_run("workload", owner) for owner in ("dead", "alive", "elsewhere")}
        owners = {
            "dead": f"{host}:{dead_pid}",
            "alive": f"{host}:{os.getpid()}",
            "elsewhere": f"another-host-{host}:{dead_pid}",  # cannot be judged from here
        }
        with sqlite3.connect(s.path) as other:
            for key, owner in owners.items():
                other.execute("UPDATE runs SET owner = ? WHERE id = ?", (owner, runs[key]))
        assert {k: s.run(r).status for k, r in runs.items()} == {
            "dead": "interrupted",
            "alive": "running",
            "elsewhere": "running",
        }
        s.finish_run(runs["dead"], "failed")  # a finished run keeps the status it was given
        assert s.run(runs["dead"]).status == "failed"


def test_opening_a_current_store_needs_no_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "hakaru.db"
    with RunStore(path) as s:
        run_id = s.new_run("workload", "x")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a running workload holds the write lock
    try:
        with RunStore(path, timeout=0.01) as reader:
            assert reader.run(run_id).name == "x"
    finally:
        writer.execute("ROLLBACK")
        writer.close()


# -- unopenable stores -----------------------------------------------------------------------


def test_a_directory_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as err:
        RunStore(tmp_path)
    assert str(err.value) == (
        f"Cannot open the run store at {tmp_path}: it is a directory. Give the database file "
        f"(e.g. {tmp_path / 'hakaru.db'}) or set HAKARU_HOME to the folder."
    )


def test_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 200)
    with pytest.raises(StoreError) as err:
        RunStore(path)
    assert str(err.value) == (
        f"Cannot open the run store at {path}: it is not a SQLite database. Move the file away, "
        "or choose another store with --store or HAKARU_HOME."
    )
    assert path.read_text().startswith("these are my notes")  # left untouched


def test_a_folder_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError) as err:
        RunStore(blocker / "sub" / "hakaru.db")
    assert str(err.value) == (
        f"Cannot create the folder of the run store {blocker / 'sub' / 'hakaru.db'}: "
        "Not a directory. Choose a writable location with --store or HAKARU_HOME."
    )


def test_a_store_from_a_newer_hakaru(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    RunStore(path).close()
    with sqlite3.connect(path) as other:
        other.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError) as err:
        RunStore(path)
    assert str(err.value) == (
        f"The run store at {path} has schema version 99; this hakaru knows up to "
        f"{SCHEMA_VERSION}. Upgrade hakaru, or choose another store with --store."
    )


def test_a_closed_store_says_so(store: RunStore) -> None:
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match=r"is closed\. Open it again\.$"):
        store.runs()


# -- runs ------------------------------------------------------------------------------------


def test_runs_are_listed_newest_first_with_their_call_counts(store: RunStore) -> None:
    ids = [store.new_run("workload", f"w{i}", {"i": i}) for i in range(4)]
    assert ids == sorted(ids) and len(set(ids)) == 4  # sortable by creation time
    assert all(len(i) == 12 and int(i, 16) >= 0 for i in ids)
    store.add_calls(ids[1], [CallRecord(k, (), "r", "m") for k in range(5)])
    store.add_calls(ids[1], [CallRecord(9, (), "r", "m")])
    listed = store.runs()
    assert [r.id for r in listed] == ids[::-1]
    assert [r.calls for r in listed] == [0, 0, 6, 0]
    assert [r.id for r in store.runs(limit=2)] == ids[:1:-1]
    assert store.runs(kind="sweep") == []
    assert len(store.runs(limit=None)) == 4


def test_finish_run_records_status_summary_and_end(store: RunStore) -> None:
    run_id = store.new_run("maker", "hanoi", {"disks": 20})
    info = store.run(run_id)
    assert (info.status, info.ended, info.summary, info.duration) == ("running", None, None, None)
    store.finish_run(run_id, "failed", {"error": "StepFailed", "steps": 12})
    info = store.run(run_id)
    assert info.status == "failed" and info.summary == {"error": "StepFailed", "steps": 12}
    assert info.ended is not None and info.duration is not None and info.duration >= 0
    assert info.params == {"disks": 20} and info.kind == "maker" and info.name == "hanoi"
    assert info.as_dict()["duration"] == info.duration
    with pytest.raises(RunNotFound) as err:
        store.finish_run("nope", "done")
    assert str(err.value) == f"No run 'nope' in {store.path}. List runs with 'hakaru runs list'."
    with pytest.raises(ConfigError, match="Unknown run status 'ok'"):
        store.finish_run(run_id, "ok")  # type: ignore[arg-type]


def test_lookup_by_unique_prefix(store: RunStore) -> None:
    a, b = store.new_run("workload", "a"), store.new_run("workload", "b")
    common = next(a[:i] for i in range(len(a)) if a[i] != b[i])
    assert common, "ids made a moment apart share their leading (time) digits"
    assert store.run(a).id == a
    assert store.run(a.upper()).id == a
    assert store.run(a[: len(common) + 1]).id == a
    assert store.run(b[: len(common) + 1]).id == b
    with pytest.raises(RunNotFound) as err:
        store.run(common)
    assert str(err.value) == (
        f"Run id prefix '{common}' is ambiguous in {store.path}: it matches {a}, {b}. "
        "Give more characters of the id."
    )
    with pytest.raises(RunNotFound) as err:
        store.run("abc")
    assert str(err.value) == f"No run 'abc' in {store.path}. List runs with 'hakaru runs list'."
    assert err.value.exit_code == 2 and isinstance(err.value, StoreError)
    with pytest.raises(RunNotFound, match="No run id given"):
        store.run("  ")


def test_parameters_must_be_json(store: RunStore) -> None:
    with pytest.raises(ConfigError) as err:
        store.new_run("workload", "x", {"model": object()})
    assert str(err.value) == (
        "Cannot store the run parameters: object is not JSON-serialisable. "
        "Use dicts, lists, strings, numbers and None."
    )
    run_id = store.new_run("workload", "x", {"sizes": frozenset({3, 1}), "t": (1, 2)})
    assert store.run(run_id).params == {"sizes": [1, 3], "t": [1, 2]}


# -- calls -----------------------------------------------------------------------------------


def test_calls_of_an_unknown_run_or_a_duplicate_id(store: RunStore) -> None:
    with pytest.raises(RunNotFound, match="No run 'ghost'"):
        store.add_calls("ghost", [CallRecord(1, (), "r", "m")])
    run_id = store.new_run("workload", "x")
    store.add_calls(run_id, [CallRecord(1, (), "r", "m")])
    with pytest.raises(StoreError) as err:
        store.add_calls(run_id, [CallRecord(2, (), "r", "m"), CallRecord(1, (), "r", "m")])
    assert str(err.value).startswith(f"A call id is already stored for run {run_id} in ")
    assert str(err.value).endswith("Give every call record of a run its own id.")
    assert [r.id for r in store.calls(run_id)] == [1]  # the failed batch left nothing behind
    assert store.run(run_id).calls == 1
    assert store.add_calls(run_id, []) == 0


def test_calls_stream_lazily_in_id_order(store: RunStore) -> None:
    run_id = store.new_run("workload", "x")
    store.add_calls(run_id, [CallRecord(i, (), "r", "m") for i in range(2000, 0, -1)])
    stream = store.calls(run_id)
    assert iter(stream) is stream
    assert next(stream).id == 1
    assert [r.id for r in stream] == list(range(2, 2001))
    assert list(store.calls("other")) == []


# -- the sink: group commit and durability ---------------------------------------------------


def test_records_queued_in_one_iteration_share_one_commit(store: RunStore) -> None:
    run_id = store.new_run("workload", "x")
    sink = store.sink(run_id)
    statements: list[str] = []
    store._conn().set_trace_callback(statements.append)  # SQLite's own statement trace

    async def main() -> None:
        for i in range(100):
            sink.add(CallRecord(i, (), "r", "m"))
        assert rows_of(store.path, run_id) == 0  # queued, not yet written
        await sink.durable()
        assert rows_of(store.path, run_id) == 100
        for i in range(100, 150):  # a second iteration: a second commit
            sink.add(CallRecord(i, (), "r", "m"))
        await asyncio.sleep(0)
        await sink.durable()

    commits = store.commits
    asyncio.run(main())
    assert statements.count("COMMIT") == 2
    assert store.commits - commits == 2
    assert (sink.written, sink.batches, sink.pending) == (150, 2, 0)


def test_concurrent_callers_share_commits_and_each_sees_its_record_durable(
    store: RunStore,
) -> None:
    run_id = store.new_run("workload", "x")
    sink = store.sink(run_id)
    seen: list[int] = []

    async def call(i: int) -> None:
        await asyncio.sleep(0)
        sink.add(CallRecord(i, (), "r", "m"))
        await sink.durable()
        seen.append(rows_of(store.path, run_id))  # another connection sees the record

    async def main() -> None:
        await asyncio.gather(*(call(i) for i in range(64)))

    asyncio.run(main())
    assert sink.batches == 1 and min(seen) == 64
    assert [r.id for r in store.calls(run_id)] == list(range(64))


def test_durable_with_nothing_queued_returns_at_once(store: RunStore) -> None:
    sink = store.sink(store.new_run("workload", "x"))
    commits = store.commits

    async def main() -> None:
        await sink.durable()

    asyncio.run(main())
    assert store.commits == commits and sink.batches == 0


def test_a_failed_write_raises_and_keeps_the_records(tmp_path: Path) -> None:
    path = tmp_path / "hakaru.db"
    store = RunStore(path, timeout=0.01)
    run_id = store.new_run("workload", "x")
    sink = store.sink(run_id)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock

    async def add_and_wait(ids: range) -> None:
        for i in ids:
            sink.add(CallRecord(i, (), "r", "m"))
        await sink.durable()

    with pytest.raises(StoreError) as err:
        asyncio.run(add_and_wait(range(10)))
    assert str(err.value) == (
        f"Cannot write call records in the run store at {path}: database is locked. Check the "
        "disk and that no other program holds the database locked, then try again."
    )
    assert sink.pending == 10 and sink.written == 0
    with pytest.raises(StoreError, match="database is locked"):
        sink.flush()
    with pytest.raises(StoreError, match="database is locked"):
        store.close()  # refuses to drop the queued records; the store stays open
    blocker.execute("ROLLBACK")
    blocker.close()
    asyncio.run(add_and_wait(range(10, 15)))  # the retry writes old and new records together
    assert (sink.pending, sink.written, sink.batches) == (0, 15, 1)
    assert [r.id for r in store.calls(run_id)] == list(range(15))
    store.close()


def test_closing_the_store_flushes_its_sinks(tmp_path: Path) -> None:
    path = tmp_path / "hakaru.db"
    store = RunStore(path)
    run_id = store.new_run("workload", "x")
    sink = store.sink(run_id)
    for i in range(3):
        sink.add(CallRecord(i, (), "r", "m"))  # no running loop: nothing is scheduled
    assert sink.pending == 3
    store.close()
    with RunStore(path) as again:
        assert [r.id for r in again.calls(run_id)] == [0, 1, 2]


def test_a_closed_sink_refuses_records(store: RunStore) -> None:
    sink = store.sink(store.new_run("workload", "x"))
    sink.add(CallRecord(1, (), "r", "m"))
    assert not sink.closed
    sink.close()
    assert sink.written == 1 and sink.closed
    store.close()  # the store flushes only its open sinks: the closed one is left alone
    with pytest.raises(StoreError, match=r"is closed\. Open a new sink\.$"):
        sink.add(CallRecord(2, (), "r", "m"))
    with pytest.raises(TypeError, match="takes a CallRecord, not dict"):
        store.sink("x").add({"id": 1})  # type: ignore[arg-type]


def test_a_sink_survives_its_event_loop(store: RunStore) -> None:
    """A flush scheduled on a loop that ended before running it is rescheduled on the next."""
    run_id = store.new_run("workload", "x")
    sink = store.sink(run_id)

    async def add_only(i: int) -> None:
        sink.add(CallRecord(i, (), "r", "m"))

    async def add_and_wait(i: int) -> None:
        sink.add(CallRecord(i, (), "r", "m"))
        await sink.durable()

    loop = asyncio.new_event_loop()
    loop.run_until_complete(add_only(1))
    loop.close()  # its pending flush never runs
    asyncio.run(add_and_wait(2))
    assert [r.id for r in store.calls(run_id)] == [1, 2]


def test_a_store_made_in_one_thread_serves_a_loop_in_another(store: RunStore) -> None:
    """Like the sync facade: the session's event loop runs in a background thread."""
    run_id = store.new_run("workload", "x")
    sink = store.sink(run_id)
    errors: list[BaseException] = []

    async def write(base: int) -> None:
        for i in range(base, base + 200):
            sink.add(CallRecord(i, (), "r", "m"))
            await sink.durable()

    def in_thread() -> None:
        try:
            asyncio.run(write(0))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=in_thread)
    thread.start()
    for _ in range(50):  # meanwhile this thread reads and writes other runs
        other = store.new_run("workload", "y")
        store.add_calls(other, [CallRecord(1, (), "r", "m")])
        assert len(list(store.calls(other))) == 1
    thread.join()
    assert errors == []
    assert [r.id for r in store.calls(run_id)] == list(range(200))


# -- sweep points and checkpoints ------------------------------------------------------------


def test_sweep_points_upsert_and_keep_their_order(store: RunStore) -> None:
    assert store.get_points("s1") == {}
    store.put_point("s1", "n=16", {"n": 16}, {"calls": 31}, run_id="r16")
    store.put_point("s1", "n=8", {"n": 8}, {"calls": 15})
    store.put_point("s2", "n=8", {"n": 8}, 1.5)
    store.put_point("s1", "n=16", {"n": 16}, {"calls": 32}, run_id="r16b")
    points = store.get_points("s1")
    assert list(points) == ["n=16", "n=8"]
    assert points["n=16"].result == {"calls": 32} and points["n=16"].run_id == "r16b"
    assert points["n=8"].params == {"n": 8} and points["n=8"].run_id is None
    assert store.get_points("s2")["n=8"].result == 1.5


def test_latest_checkpoint(store: RunStore) -> None:
    assert store.latest_checkpoint("r") is None
    store.put_checkpoint("r", 10, {"pegs": [[3, 2, 1], [], []]})
    store.put_checkpoint("r", 200, {"pegs": [[], [3], [2, 1]]})
    store.put_checkpoint("r", 50, {"old": True})
    store.put_checkpoint("other", 999, None)
    cp = store.latest_checkpoint("r")
    assert cp is not None and (cp.run_id, cp.step) == ("r", 200)
    assert cp.state == {"pegs": [[], [3], [2, 1]]} and cp.created > 0
    store.put_checkpoint("r", 200, {"replaced": 1})
    latest = store.latest_checkpoint("r")
    assert latest is not None and latest.state == {"replaced": 1}


# -- export ----------------------------------------------------------------------------------


def exported(store: RunStore, ref: str, fmt: str) -> str:
    out = io.StringIO()
    store.export(ref, fmt, out)  # type: ignore[arg-type]
    return out.getvalue()


def test_jsonl_export_parses_back_to_the_records(store: RunStore) -> None:
    run_id = store.new_run("workload", "x")
    records = [full_record(i, run_id) for i in range(5, 8)] + [CallRecord(9, (), "r", "m")]
    store.add_calls(run_id, records)
    lines = exported(store, run_id[:10], "jsonl").splitlines()
    assert len(lines) == 4
    back = [CallRecord.from_dict(json.loads(line)) for line in lines]
    assert back[:3] == records[:3]
    assert back[3] == CallRecord(9, (), "r", "m", run_id=run_id)
    assert list(json.loads(lines[0])) == FIELDS


def test_csv_export_parses_back_with_the_csv_module(store: RunStore) -> None:
    run_id = store.new_run("workload", "x")
    records = [full_record(4, run_id), CallRecord(5, (4,), "r", "m", run_id=run_id)]
    store.add_calls(run_id, records)
    rows = list(csv.DictReader(io.StringIO(exported(store, run_id, "csv"))))
    assert len(rows) == 2 and list(rows[0]) == FIELDS
    first, second = rows
    assert first["parents"] == f"2 3 {2**40}" and second["parents"] == "4"
    assert first["error"] == records[0].error  # quoting keeps newlines and quotes
    assert first["candidate"] == records[0].candidate
    assert float(first["size"]) == records[0].size
    assert int(first["input_tokens"]) == 2**62
    assert second["step"] == "" and second["reasoning_budget"] == ""
    assert first["run_id"] == run_id


def test_export_of_an_unknown_run_or_format(store: RunStore) -> None:
    with pytest.raises(RunNotFound, match="No run 'ff'"):
        exported(store, "ff", "jsonl")
    run_id = store.new_run("workload", "x")
    with pytest.raises(ConfigError) as err:
        exported(store, run_id, "xml")
    assert str(err.value) == "Unknown export format 'xml'. Use jsonl or csv."
