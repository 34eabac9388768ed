"""The machine's own limits, measured in the same run to compare Leadflow's figures with.

- **Idle**: each process's CPU use with no load at all (consumers polling, timers), the
  baseline under every scenario's CPU figures.
- **Trivial endpoint**: ``GET /healthz`` on the capture process (same framework, same
  middleware, no database, no broker) driven by the same generator and concurrency as
  ``single-max``: the most requests per second this web stack answers here.
- **Broker round trip**: produce one record (``acks=all``) and consume it with a consumer
  configured like the services' (``fetch_max_wait_ms``), one at a time.
- **Database commit**: ``BEGIN; INSERT`` one row ``; COMMIT`` on the same PostgreSQL (a
  logged table, so the commit waits for the WAL flush like the services' commits do).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from leadflow.bench import resources
from leadflow.bench.client import HttpPool
from leadflow.bench.load import LoadResult, closed_loop
from leadflow.bench.stats import rate, summarize
from shared.bus.admin import ensure_topics

ROUND_TRIP_TOPIC = "leadflow.bench.round-trip"
PROBE_SCHEMA = "leadflow_bench"
WARM_UP = 20


async def idle_cpu(watched: list[resources.Watched], seconds: float) -> dict[str, float | None]:
    """Percent of one core each process uses while nothing is sent."""
    before = resources.sample(watched)
    await asyncio.sleep(seconds)
    used = resources.cpu_used(before, resources.sample(watched))
    return {name: None if u is None else round(100 * u / seconds, 1) for name, u in used.items()}


async def trivial_endpoint(
    pool: HttpPool,
    concurrency: int,
    duration: float,
    result: LoadResult,
    watched: list[resources.Watched],
) -> dict[str, Any]:
    """Requests per second and latency of ``GET /healthz`` at full speed, and the CPU each
    request cost the capture process and the bench."""
    before = resources.sample(watched)
    await closed_loop(pool, None, concurrency, duration, result, path="/healthz")
    used = resources.cpu_used(before, resources.sample(watched))
    ok = result.requests - sum(result.errors.values())
    return {
        "requests": result.requests,
        "errors": dict(result.errors),
        "requests_per_s": rate(ok, result.first_send or 0.0, result.last_answer or 0.0),
        "latency_ms": summarize(result.http_latency).as_dict(),
        "cpu_us_per_request": {
            name: round(1e6 * u / result.requests, 1) if u is not None and result.requests else None
            for name, u in used.items()
            if name in ("capture", "bench")
        },
    }


async def broker_round_trip(bootstrap: str, trips: int, fetch_max_wait_ms: int) -> dict[str, Any]:
    """Produce (acks=all) and consume one record at a time; latency of each round trip."""
    await ensure_topics(bootstrap, [ROUND_TRIP_TOPIC], 1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=fetch_max_wait_ms,
    )
    await producer.start()
    await consumer.start()
    try:
        tp = TopicPartition(ROUND_TRIP_TOPIC, 0)
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        await consumer.position(tp)
        times: list[float] = []
        for i in range(trips + WARM_UP):
            marker = uuid.uuid4().bytes
            started = time.perf_counter()
            await producer.send_and_wait(ROUND_TRIP_TOPIC, marker, key=b"bench")
            seen = False
            while not seen:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                seen = any(r.value == marker for r in batch.get(tp, []))
            if i >= WARM_UP:
                times.append(time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()
    return {
        "trips": len(times),
        "fetch_max_wait_ms": fetch_max_wait_ms,
        "latency_ms": summarize(times).as_dict(),
    }


async def database_commit(database_url: str, commits: int) -> dict[str, Any]:
    """``BEGIN; INSERT one row; COMMIT`` one at a time; latency of each."""
    conn = await asyncpg.connect(_plain_url(database_url))
    try:
        await conn.execute(
            f"CREATE SCHEMA IF NOT EXISTS {PROBE_SCHEMA};"
            f" CREATE TABLE IF NOT EXISTS {PROBE_SCHEMA}.commit_probe"
            " (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), note text)"
        )
        insert = f"INSERT INTO {PROBE_SCHEMA}.commit_probe (note) VALUES ($1)"
        times: list[float] = []
        for i in range(commits + WARM_UP):
            started = time.perf_counter()
            async with conn.transaction():
                await conn.execute(insert, "bench")
            if i >= WARM_UP:
                times.append(time.perf_counter() - started)
        await conn.execute(f"DROP SCHEMA {PROBE_SCHEMA} CASCADE")
        synchronous = await conn.fetchval("SHOW synchronous_commit")
        fsync = await conn.fetchval("SHOW fsync")
    finally:
        await conn.close()
    return {
        "commits": len(times),
        "fsync": fsync,
        "synchronous_commit": synchronous,
        "latency_ms": summarize(times).as_dict(),
    }


def _plain_url(url: str) -> str:
    """asyncpg wants ``postgresql://``; accept the SQLAlchemy spelling too."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
