"""The five services as real processes on a test's own database, on a broker under the
test's own topic prefix (:class:`~tests.support.kafka.Bus`); leads in over HTTP, decisions
read off the topics the way a sales tool would."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from leadflow.embedded import free_port_block
from leadflow.supervisor import Stack, UpOptions
from shared.config import DEFAULT_CONFIG_FILE
from shared.contracts.topics import LEAD_ASSIGNED, LEAD_ROUTED_TO_NURTURE
from tests.support.kafka import Bus

ASSIGNED = LEAD_ASSIGNED
NURTURED = LEAD_ROUTED_TO_NURTURE


def write_config(tmp_path: Path, **overrides: Any) -> Path:
    """The example config with some sections replaced (e.g. the notifier's receiver URL)."""
    config = yaml.safe_load(DEFAULT_CONFIG_FILE.read_text())
    for key, value in overrides.items():
        config[key] = value
    path = tmp_path / "leadflow.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@asynccontextmanager
async def running_stack(
    database_url: str, bus: Bus, home: Path, config_file: Path
) -> AsyncIterator[Stack]:
    stack = Stack(
        UpOptions(
            home=home,
            config_file=config_file,
            capture_port=free_port_block(),
            database_url=database_url,
            kafka_bootstrap=bus.bootstrap,
            topic_prefix=bus.prefix,
            partitions=3,
            ready_timeout=60,
            extra_env={"LEADFLOW_LOG_LEVEL": "INFO"},
        )
    )
    try:
        await asyncio.to_thread(stack.start_infrastructure)
        await asyncio.to_thread(stack.start_services_on_free_ports)
    except BaseException:
        await asyncio.to_thread(stack.stop)
        raise
    try:
        yield stack
    finally:
        await asyncio.to_thread(stack.stop)


def outcomes(records: list[dict[str, Any]]) -> dict[str, set[str]]:
    """lead id -> the distinct decisions taken for it (assignment ids, or 'nurture')."""
    out: dict[str, set[str]] = defaultdict(set)
    for r in records:
        if r.get("type") == "io.leadflow.lead.assigned.v1":
            out[r["subject"]].add(r["data"]["assignment_id"])
        elif r.get("type") == "io.leadflow.lead.routed_to_nurture.v1":
            out[r["subject"]].add("nurture")
    return out


async def post_leads(client: httpx.AsyncClient, leads: list[dict[str, Any]]) -> list[str]:
    ids = []
    for lead in leads:
        resp = await client.post("/v1/leads", json=lead)
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["lead_id"])
    return ids
