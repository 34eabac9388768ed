"""The mechanism ceiling of ``leadflow bench`` on a real broker and a real PostgreSQL."""

from __future__ import annotations

import os

import asyncpg
import pytest

from leadflow.bench import skeleton
from leadflow.bench.resources import Watched

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def test_skeleton_carries_every_event_through_three_hops_and_cleans_up(
    database_url: str, kafka_bootstrap: str
) -> None:
    figures = await skeleton.pipeline_skeleton(
        kafka_bootstrap, database_url, events=300, partitions=2,
        watched=[Watched("bench", os.getpid())], timeout=60,
    )  # fmt: skip
    assert (figures["hops"], figures["events"]) == (3, 300)
    assert figures["events_per_s"] > 0
    assert figures["cpu_ms_per_event_per_hop"]["bench"] > 0
    conn = await asyncpg.connect(database_url)
    try:
        left = await conn.fetchval(
            "SELECT count(*) FROM pg_namespace WHERE nspname = $1", skeleton.SCHEMA
        )
    finally:
        await conn.close()
    assert left == 0
