"""The embedded broker killed and started again, empty: nothing lost, nothing doubled.

The new broker has another cluster id and none of the topics. Every service notices, creates
the topics again, republishes what its outbox retained, and reconnects its consumer to read
the new log from the start; inboxes drop what was applied already. Nobody restarts a service.
"""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

import httpx
import pytest

from leadflow.embedded import EmbeddedKafka
from leadflow.samples import generate_leads
from leadflow.supervisor import Stack
from tests.conftest import create_database
from tests.support.auth import admin_client
from tests.support.kafka import Bus, TopicReader
from tests.support.metrics import read_metric_at
from tests.support.stack import (
    ASSIGNED,
    NURTURED,
    outcomes,
    post_leads,
    running_stack,
    write_config,
)
from tests.support.waits import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]

SERVICES = ("capture", "scorer", "router", "nurture", "notifier")


async def _ready(stack: Stack, name: str) -> int:
    async with admin_client(timeout=5) as client:
        return (await client.get(f"{stack.urls()[name]}/readyz")).status_code


async def _metric(stack: Stack, name: str, metric: str) -> float:
    return await read_metric_at(stack.urls()[name], metric)


async def test_a_broker_that_forgot_everything_loses_no_lead_and_doubles_none(
    pg_server_url: str, fresh_broker: EmbeddedKafka, tmp_path: Path
) -> None:
    database_url = await create_database(pg_server_url)
    leads = generate_leads(300, seed=11, tag="amnesia")
    async with running_stack(
        database_url, Bus(fresh_broker.bootstrap), tmp_path / "home", write_config(tmp_path)
    ) as stack:
        async with admin_client(base_url=stack.urls()["capture"], timeout=10) as client:
            async with TopicReader(fresh_broker.bootstrap, ASSIGNED, NURTURED) as before:
                ids = await post_leads(client, leads[:100])
                await before.wait_for(lambda r: len(outcomes(r)) >= 100, timeout=60, what="100")
            first_cluster = fresh_broker.cluster_id

            await asyncio.to_thread(fresh_broker.kill)
            for name in SERVICES:  # readiness tells the truth within seconds
                await eventually(
                    partial(_is, stack, name, 503), timeout=15, what=f"{name} 503", every=0.2
                )
            ids += await post_leads(client, leads[100:200])  # capture still accepts
            await eventually(
                lambda: _above(stack, "capture", "leadflow_outbox_backlog", 50),
                timeout=20,
                what="capture's outbox backlog to rise during the outage",
                every=0.2,
            )

            await asyncio.to_thread(fresh_broker.start)  # empty, with a new cluster id
            assert fresh_broker.cluster_id != first_cluster
            ids += await post_leads(client, leads[200:])
            for name in SERVICES:
                await eventually(
                    partial(_is, stack, name, 200), timeout=30, what=f"{name} 200", every=0.2
                )

            async with TopicReader(fresh_broker.bootstrap, ASSIGNED, NURTURED) as after:
                await after.wait_for(
                    lambda r: set(ids) <= set(outcomes(r)),
                    timeout=90,
                    what="every lead decided on the new broker",
                )
                await asyncio.sleep(1.0)
                await after.poll()
            decisions = outcomes(after.records)
            doubled = {lead: d for lead, d in decisions.items() if len(d) != 1}
            assert not doubled, f"leads decided more than once: {doubled}"
            assert set(ids) <= set(decisions)
            assert await _metric(stack, "router", "leadflow_broker_changes_total") >= 1
            assert await _metric(stack, "router", "leadflow_outbox_republished_total") >= 100


async def test_a_service_restarted_on_the_same_broker_republishes_nothing(
    pg_server_url: str, bus: Bus, tmp_path: Path
) -> None:
    database_url = await create_database(pg_server_url)
    async with running_stack(database_url, bus, tmp_path / "home", write_config(tmp_path)) as stack:
        async with (
            admin_client(base_url=stack.urls()["capture"], timeout=10) as client,
            bus.reader(ASSIGNED, NURTURED) as reader,
        ):
            ids = await post_leads(client, generate_leads(40, seed=12, tag="same"))
            await reader.wait_for(lambda r: set(ids) <= set(outcomes(r)), timeout=60, what="40")
            await asyncio.to_thread(stack.stop_service, "router")
            await asyncio.to_thread(stack.restart_service, "router")
            more = await post_leads(client, generate_leads(10, seed=13, tag="same2"))
            await reader.wait_for(lambda r: set(more) <= set(outcomes(r)), timeout=60, what="10")
            await asyncio.sleep(1.0)
            await reader.poll()
        ids_on_topic = [r["id"] for r in reader.records]
        assert len(ids_on_topic) == len(set(ids_on_topic)), "an event was published twice"
        assert await _metric(stack, "router", "leadflow_outbox_republished_total") == 0


async def _is(stack: Stack, name: str, status: int) -> bool:
    try:
        return await _ready(stack, name) == status
    except httpx.HTTPError:
        return False


async def _above(stack: Stack, name: str, metric: str, floor: float) -> bool:
    return await _metric(stack, name, metric) > floor
