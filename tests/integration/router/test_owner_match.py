"""Existing-owner match against a real broker and database: a second lead of the same
account goes to the rep who got the first, unless that rep is at capacity or off hours,
when the queue's rotation decides; the trace and the simulation say which happened."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from services.router.config.settings import Settings
from services.router.main import create_app
from shared import clock
from shared.contracts.topics import LEAD_ASSIGNED, LEAD_SCORED
from tests.support.app import running_app
from tests.support.events import lead_scored, record
from tests.support.kafka import Bus, TopicReader

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def config(ana: str) -> str:
    return f"""
routing:
  default_queue: sales
  owner_match: [email_domain, company]
  reps:
    - {{id: ana, name: Ana, timezone: UTC, max_open: 2{ana}}}
    - {{id: ben, name: Ben, timezone: UTC}}
    - {{id: cat, name: Cat, timezone: UTC}}
  queues:
    - {{name: sales, department: sales, region: uk, members: [ana, ben, cat]}}
"""


def off_hours_now() -> str:
    """Working hours that exclude the current UTC hour."""
    window = ("13:00", "14:00") if clock.now().hour < 12 else ("01:00", "02:00")
    days = "[mon, tue, wed, thu, fri, sat, sun]"
    return f", working_hours: {{days: {days}, start: '{window[0]}', end: '{window[1]}'}}"


def scored(email: str, company: str | None) -> tuple[bytes, bytes]:
    return record(lead_scored(str(uuid.uuid4()), email=email, company=company, country="GB"))


def settings(database_url: str, bus: Bus, path: Path) -> Settings:
    return Settings(database_url=database_url, **bus.settings,
                    config_file=path, waiting_retry_s=0.2, kafka_partitions=3)  # fmt: skip


async def route_one(out: TopicReader, bus: Bus, record: tuple[bytes, bytes]) -> dict[str, Any]:
    """Produce one scored lead and wait for its assignment (one at a time: order matters)."""
    await bus.produce(LEAD_SCORED, [record])
    subject = record[0].decode()
    records = await out.wait_for(
        lambda r: any(x["subject"] == subject for x in r), what=f"assignment of {subject}"
    )
    data: dict[str, Any] = next(x["data"] for x in records if x["subject"] == subject)
    return data


async def test_an_accounts_next_lead_goes_to_its_owner_unless_at_capacity_or_off_hours(
    database_url: str, bus: Bus, tmp_path: Path
) -> None:
    path = tmp_path / "leadflow.yaml"
    path.write_text(config(""))
    async with bus.reader(LEAD_ASSIGNED) as out:
        async with running_app(create_app(settings(database_url, bus, path))) as client:
            first = await route_one(out, bus, scored("kim@acme.example", "Acme Ltd"))
            assert (first["rep"]["rep_id"], first["trace"]["strategy"]) == ("ana", "round_robin")

            body = {"lead": {"source": "web", "email": "x@acme.example"}, "bucket": "hot"}
            sim = (await client.post("/v1/routing:simulate", json=body)).json()
            assert (sim["rep_id"], sim["strategy"], sim["account"]) == (
                "ana", "owner_match", "acme.example",
            )  # fmt: skip

            # Same company, free-mail address: matched on the company name.
            second = await route_one(out, bus, scored("lee@gmail.com", "ACME"))
            assert second["rep"]["rep_id"] == "ana"
            assert second["trace"]["strategy"] == "owner_match"
            assert second["trace"]["account"] == "acme"
            assert second["trace"]["explanation"].endswith(
                "existing owner ana of account acme: assigned"
            )

            other = await route_one(out, bus, scored("max@globex.example", "Globex"))
            assert other["rep"]["rep_id"] == "ben"  # the rotation was left where it was

            # ana has max_open 2: the next acme lead falls through to the rotation.
            third = await route_one(out, bus, scored("sam@acme.example", None))
            assert (third["rep"]["rep_id"], third["trace"]["strategy"]) == ("cat", "round_robin")
            assert (
                "existing owner ana of account acme.example skipped: at capacity: max_open 2"
                in third["trace"]["explanation"]
            )
            assert third["trace"]["candidates"][0] == {
                "rep_id": "ana",
                "eligible": False,
                "reason": "sales: existing owner of account acme.example: at capacity:"
                " max_open 2 reached (2 open)",
                "multiplier": None,
                "weight": 1,
            }

        # ana's hours change (config edit and restart): now she is off hours.
        path.write_text(config(off_hours_now()).replace("max_open: 2", "max_open: 9"))
        async with running_app(create_app(settings(database_url, bus, path))):
            fourth = await route_one(out, bus, scored("pat@acme.example", "Acme"))
            assert fourth["rep"]["rep_id"] in {"ben", "cat"}
            assert fourth["trace"]["strategy"] == "round_robin"
            assert (
                "existing owner ana of account acme.example skipped: unavailable: off hours"
                in fourth["trace"]["explanation"]
            )
