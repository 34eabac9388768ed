"""Recycling the embedded broker: replaced by an empty one once every group has caught up,
and the pipeline carries on without losing or doubling a lead."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from leadflow.embedded import EmbeddedKafka
from leadflow.recycle import group_lags, recycle_broker
from leadflow.samples import generate_leads
from tests.conftest import create_database
from tests.support.auth import admin_client
from tests.support.kafka import Bus, TopicReader
from tests.support.stack import (
    ASSIGNED,
    NURTURED,
    outcomes,
    post_leads,
    running_stack,
    write_config,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]


async def test_a_recycled_broker_loses_no_lead_and_doubles_none(
    pg_server_url: str, fresh_broker: EmbeddedKafka, tmp_path: Path
) -> None:
    database_url = await create_database(pg_server_url)
    async with running_stack(
        database_url, Bus(fresh_broker.bootstrap), tmp_path / "home", write_config(tmp_path)
    ) as stack:
        async with admin_client(base_url=stack.urls()["capture"], timeout=10) as client:
            ids = await post_leads(client, generate_leads(60, seed=31, tag="recycle"))
            old = fresh_broker.cluster_id
            assert await asyncio.to_thread(recycle_broker, fresh_broker, 60.0)
            assert fresh_broker.cluster_id != old
            ids += await post_leads(client, generate_leads(30, seed=32, tag="recycled"))
            async with TopicReader(fresh_broker.bootstrap, ASSIGNED, NURTURED) as reader:
                await reader.wait_for(
                    lambda r: set(ids) <= set(outcomes(r)), timeout=90, what="all 90 decided"
                )
                await asyncio.sleep(1.0)
                await reader.poll()
        decisions = outcomes(reader.records)
        assert all(len(decisions[lead]) == 1 for lead in ids)
        deadline = asyncio.get_running_loop().time() + 60
        while any(lag.behind for lag in await group_lags(fresh_broker.bootstrap)):
            assert asyncio.get_running_loop().time() < deadline, "groups never caught up"
            await asyncio.sleep(0.5)
