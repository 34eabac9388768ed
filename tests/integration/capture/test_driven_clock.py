"""A service started with LEADFLOW_CLOCK_FILE stamps what it records with the file's time,
and follows the file forward (the cross-service end-to-end stories drive time this way)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.capture.config import Settings
from services.capture.main import create_app
from shared import clock
from shared.contracts.topics import LEAD_CAPTURED
from tests.support.app import running_app
from tests.support.kafka import Bus

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def test_captured_leads_carry_the_driven_time_and_follow_it_forward(
    database_url: str, bus: Bus, tmp_path: Path
) -> None:
    path = tmp_path / "clock"
    clock.write_clock_file(path, T0)
    config = Settings(database_url=database_url, clock_file=path, **bus.settings)
    async with running_app(create_app(config)) as client, bus.reader(LEAD_CAPTURED) as out:
        first = await client.post("/v1/leads", json={"email": "early@clock.example"})
        assert first.status_code == 202, first.text
        clock.write_clock_file(path, T0 + timedelta(days=3))
        second = await client.post("/v1/leads", json={"email": "later@clock.example"})
        assert second.status_code == 202, second.text
        await out.wait_for(lambda r: len(r) >= 2, what="both leads captured")
    stamps = {r["subject"]: r["data"]["captured_at"] for r in out.records}
    assert stamps[first.json()["lead_id"]] == "2026-03-02T08:00:00Z"
    assert stamps[second.json()["lead_id"]] == "2026-03-05T08:00:00Z"
    assert clock.now() != T0 + timedelta(days=3)  # the real clock again once it stopped
