"""Stores shared by the report tests: a run whose answers carry markup, and a small sweep."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from fakes import ScriptedBackend
from hakaru import Session
from hakaru.errors import RedFlag
from hakaru.store import RunStore
from hakaru.sweeps import run_sweep
from hakaru.types import Response

#: What a hostile (or just unlucky) model answer may contain. If it ever ran, it would set
#: window.__pwned.
PAYLOAD = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


async def _markup_run(store: RunStore) -> str:
    backend = ScriptedBackend(lambda request, n: f"answer {n}: {PAYLOAD}")

    def reject(response: Response) -> str:
        raise RedFlag(f"malformed answer {response.text!r}")

    async with Session(
        backend,
        store=store,
        run_kind="run",
        run_name="markup <b>test</b>",
        run_params={"note": PAYLOAD},
    ) as s:
        first = await s.call(
            "say something", model="m", role="<i>writer</i>", validate=lambda r: r.text
        )
        assert first.parsed.endswith(PAYLOAD)
        await s.call("check it", model="m", role="checker")
        with pytest.raises(RedFlag):
            await s.call("again", model="m", role="checker", validate=reject)
        return s.run_id


@pytest.fixture
def payload() -> str:
    """The markup the report store's run recorded in its answers."""
    return PAYLOAD


@pytest.fixture(scope="session")
def report_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """(store path, id of the markup run, id of a deterministic routing sweep over k)."""
    path = tmp_path_factory.mktemp("report") / "hakaru.db"
    with RunStore(path) as store:
        run_id = asyncio.run(_markup_run(store))
        sweep = asyncio.run(
            run_sweep(
                "routing",
                {"k": [2, 4, 8, 16], "n": [256], "q": [1], "m_d": [1]},
                store=store,
                sim_error=0,
            )
        )
    return path, run_id, sweep.sweep_id
