"""``leadflow insights rebuild`` as an operator runs it: a process given the database and the
broker, with no insights service running, builds the read model from the topics."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from shared.contracts.topics import topics_consumed_by
from tests.integration.insights.test_kpis_against_oracle import CONFIG, publish
from tests.support.insights_history import generate
from tests.support.kafka import Bus, create_topics

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
ROOT = Path(__file__).resolve().parents[3]


async def test_the_command_builds_the_read_model_from_the_topics(
    database_url: str, bus: Bus, tmp_path: Path, pg_conn: asyncpg.Connection
) -> None:
    config = tmp_path / "leadflow.yaml"
    config.write_text(CONFIG)
    await create_topics(bus.bootstrap, *(bus.topic(t) for t in topics_consumed_by("insights")))
    truths, events = generate(25, seed=3)
    await publish(bus, events)
    env = {**os.environ, **bus.env, "LEADFLOW_DATABASE_URL": database_url,
           "LEADFLOW_CONFIG_FILE": str(config), "PYTHONPATH": str(ROOT)}  # fmt: skip
    run = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "leadflow", "insights", "rebuild"],
        env=env, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == (
        f"insights rebuilt: {len(events)} event(s) replayed, 0 caught up after the swap,"
        f" {len(truths)} lead(s)"
    )
    facts = await pg_conn.fetchval("SELECT count(*) FROM insights.lead_facts")
    schemas = await pg_conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'insights%'")
    assert facts == len(truths)
    assert [s[0] for s in schemas] == ["insights"]  # the fresh schema is gone
