"""Fault tests with processes killed for real: PostgreSQL restarted under load."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from leadflow.embedded import EmbeddedPostgres, free_port
from leadflow.samples import generate_leads
from tests.conftest import create_database
from tests.support.auth import admin_client
from tests.support.kafka import Bus
from tests.support.stack import ASSIGNED, NURTURED, outcomes, running_stack, write_config

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]


async def test_postgres_restart_loses_no_acknowledged_lead_and_doubles_none(
    bus: Bus, tmp_path: Path
) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg", free_port(), fsync=False)
    pg.start()
    try:
        database_url = await create_database(pg.url)
        leads = generate_leads(200, seed=21, tag="pg")
        acknowledged: list[str] = []
        refused = 0
        async with running_stack(
            database_url, bus, tmp_path / "home", write_config(tmp_path)
        ) as stack:
            async with (
                admin_client(base_url=stack.urls()["capture"], timeout=10) as client,
                bus.reader(ASSIGNED, NURTURED) as reader,
            ):
                for i, lead in enumerate(leads):
                    if i == 80:
                        await asyncio.to_thread(pg.kill)  # SIGKILL, no clean shutdown
                    if i == 120:
                        await asyncio.to_thread(pg.start)
                    try:
                        resp = await client.post("/v1/leads", json=lead)
                    except httpx.HTTPError:
                        refused += 1
                        continue
                    if resp.status_code == 202:
                        acknowledged.append(resp.json()["lead_id"])
                    else:
                        assert resp.status_code == 503, resp.text  # never a false 4xx
                        assert resp.json()["error"] == "unavailable"
                        refused += 1
                assert refused > 0, "the outage was not noticed"
                await reader.wait_for(
                    lambda r: set(acknowledged) <= set(outcomes(r)),
                    timeout=90,
                    what="every acknowledged lead routed",
                )
                await asyncio.sleep(1.0)
                await reader.poll()
        decisions = outcomes(reader.records)
        assert all(len(decisions[lead]) == 1 for lead in acknowledged)
    finally:
        pg.stop()
