"""The scorer over a lead's life: merged profile updates, fading engagement that
disqualifies, and erasure — real PostgreSQL and broker."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
import yaml

from services.scorer.config import scoring_model_from_mapping
from services.scorer.jobs import rescore_stale
from shared import clock
from shared.contracts import (
    FieldChange,
    LeadDisqualified,
    LeadErased,
    LeadProfile,
    LeadScored,
    LeadUpdated,
)
from shared.db.uow import UnitOfWork
from tests.integration.scorer.test_service import (
    CONFIG,
    Scorer,
    activity,
    captured,
    of,
    scorer,
)
from tests.support.waits import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
__all__ = ["scorer"]  # the fixture, shared with test_service


async def test_a_merged_profile_update_rescores_the_lead(scorer: Scorer) -> None:
    lead = str(uuid4())
    async with scorer.bus.reader(LeadScored.TOPIC) as out:
        await scorer.send(captured(lead, country="FR"))
        await out.wait_for(lambda r: len(of(r, LeadScored, lead)) >= 1, what="first score")
        profile = LeadProfile(source="web", email="x@example.com", country="GB",
                              company_size=5000)  # fmt: skip
        update = LeadUpdated(
            lead_id=lead,
            merge_id=str(uuid4()),
            updated_at=clock.now(),
            matched_by="email",
            submitted_source="webinar",
            changes=[FieldChange(field="country", old="FR", new="GB")],
            lead=profile,
        )
        update_id = await scorer.send(update)
        records = await out.wait_for(lambda r: len(of(r, LeadScored, lead)) >= 2, what="rescore")
    first, second = of(records, LeadScored, lead)[:2]
    assert (first["data"]["score"], first["data"]["trigger"]) == (0, "captured")
    assert (second["data"]["score"], second["data"]["trigger"]) == (40, "profile_updated")
    assert second["causationid"] == update_id
    assert second["data"]["lead"]["country"] == "GB"
    stored = await scorer.count(
        "SELECT count(*) FROM leads WHERE lead_id = :id AND profile->>'country' = 'GB'", id=lead
    )
    assert stored == 1


async def test_fading_engagement_disqualifies_a_lead_once(scorer: Scorer) -> None:
    lead = str(uuid4())
    model = scoring_model_from_mapping(yaml.safe_load(CONFIG), Path("test.yaml"))
    async with scorer.bus.reader(LeadScored.TOPIC, LeadDisqualified.TOPIC) as out:
        await scorer.send(captured(lead, country="GB", company_size=5000))  # fit 40
        await scorer.send(activity(lead, "email_clicked", clock.now()))  # +10, fades
        await out.wait_for(
            lambda r: any(x["data"]["qualified"] for x in of(r, LeadScored, lead)), what="50"
        )
        later = clock.now() + timedelta(days=60)
        rescored = await rescore_stale(
            UnitOfWork(scorer.db, "scorer"), model, later, timedelta(hours=1)
        )
        assert rescored >= 1
        # nothing is stale any more at the same moment: no second fall, no second event
        assert await rescore_stale(UnitOfWork(scorer.db, "scorer"), model, later, timedelta(1)) == 0
        records = await out.wait_for(
            lambda r: len(of(r, LeadDisqualified, lead)) >= 1, what="disqualified", timeout=20
        )
    fall = of(records, LeadDisqualified, lead)[0]["data"]
    assert fall["trigger"] == "decay" and fall["score"] < 50 and fall["threshold"] == 50
    decayed = [x for x in of(records, LeadScored, lead) if x["data"]["trigger"] == "decay"]
    assert decayed and decayed[0]["data"]["qualified"] is False


async def test_an_erased_lead_is_forgotten_and_stays_forgotten(scorer: Scorer) -> None:
    lead = str(uuid4())
    async with scorer.bus.reader(LeadScored.TOPIC) as out:
        await scorer.send(captured(lead, country="GB"))
        await scorer.send(activity(lead, "replied"))
        await out.wait_for(lambda r: len(of(r, LeadScored, lead)) >= 1, what="score")
        await scorer.send(LeadErased(lead_id=lead, erased_at=clock.now()))

        async def forgotten() -> bool:
            left = await scorer.count(
                "SELECT (SELECT count(*) FROM leads WHERE lead_id = :id)"
                " + (SELECT count(*) FROM activities WHERE lead_id = :id)",
                id=lead,
            )
            return left == 0

        await eventually(forgotten, timeout=15, what="the lead forgotten")
        scored_before = len(of(out.records, LeadScored, lead))
        await scorer.send(activity(lead, "meeting_booked"))  # late: must not revive it
        await scorer.send(captured(lead, country="GB"))  # a redelivery: same
        await asyncio.sleep(1.0)
        await out.poll()
    assert len(of(out.records, LeadScored, lead)) == scored_before
    assert await forgotten()
    assert (await scorer.http.get(f"/v1/leads/{lead}/score")).status_code == 404
