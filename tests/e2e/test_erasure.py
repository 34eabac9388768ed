"""GDPR erasure across the whole pipeline, as processes: one DELETE, and every service
forgets the person — and a late event does not bring them back."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from leadflow.samples import generate_leads
from tests.conftest import create_database
from tests.support.auth import admin_client
from tests.support.kafka import Bus
from tests.support.stack import running_stack, write_config
from tests.support.waits import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]

# Where each service keeps personal data about a lead (schema.table).
HOLDERS = (
    "capture.leads",
    "capture.activities",
    "scorer.leads",
    "scorer.activities",
    "nurture.enrollments",
    "nurture.followup_plans",
    "nurture.touch_activities",
    "nurture.suppressions",
    "notifier.deliveries",
    "router.leads",
)
CONSUMERS = ("scorer", "router", "nurture", "notifier")


async def rows_about(db: asyncpg.Connection, lead_id: str) -> dict[str, int]:
    return {
        table: int(
            await db.fetchval(f"SELECT count(*) FROM {table} WHERE lead_id::text = $1", lead_id)
        )  # fmt: skip
        for table in HOLDERS
    }


async def test_one_delete_makes_every_service_forget_the_lead(
    pg_server_url: str, bus: Bus, tmp_path: Path
) -> None:
    database_url = await create_database(pg_server_url)
    async with running_stack(database_url, bus, tmp_path / "home", write_config(tmp_path)) as stack:
        db = await asyncpg.connect(database_url)
        try:
            async with admin_client(base_url=stack.urls()["capture"]) as client:
                leads = generate_leads(6, seed=21)
                ids = [(await client.post("/v1/leads", json=lead)).json()["lead_id"]
                       for lead in leads]  # fmt: skip
                victim, bystander = ids[0], ids[1]
                await client.post(f"/v1/leads/{victim}/activities", json={"kind": "replied"})
                for kind in ("called", "unsubscribed"):  # a touch; a suppression (nurture)
                    await client.post(f"/v1/leads/{victim}/activities", json={"kind": kind})

                async def everywhere() -> bool:
                    held = await rows_about(db, victim)
                    return all(
                        held[t] > 0
                        for t in (
                            "scorer.leads",
                            "scorer.activities",
                            "nurture.touch_activities",
                            "nurture.suppressions",
                        )
                    ) and (held["nurture.enrollments"] + held["notifier.deliveries"] > 0)

                await eventually(everywhere, 30, what="the lead held everywhere", every=0.2)
                before_bystander = await rows_about(db, bystander)
                gone = await client.delete(f"/v1/leads/{victim}")
                assert gone.status_code == 202, gone.text

                async def forgotten() -> bool:
                    return sum((await rows_about(db, victim)).values()) == 0

                await eventually(forgotten, 30, what="the lead forgotten", every=0.2)
                for schema in CONSUMERS:
                    tomb = await db.fetchval(
                        f"SELECT count(*) FROM {schema}.erased_leads WHERE lead_id = $1", victim
                    )
                    assert tomb == 1, f"{schema} did not record the erasure"
                # a late activity for the erased lead is refused at the door
                late = await client.post(f"/v1/leads/{victim}/activities", json={"kind": "won"})
                assert late.status_code == 404
                # the others are untouched
                assert (await rows_about(db, bystander))["scorer.leads"] == before_bystander[
                    "scorer.leads"
                ]
            async with bus.reader("leadflow.lead.erased") as erased:
                await erased.wait_for(lambda r: len(r) >= 1, what="erasure event")
            assert erased.records[0]["subject"] == victim
        finally:
            await db.close()
