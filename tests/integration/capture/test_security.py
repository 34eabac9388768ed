"""Capture's API behind the gate: who did what is audited, a credential over its rate
limit gets 429 and loses nothing it was told was accepted, idempotency keys are per client."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from services.capture.config import Settings
from services.capture.main import create_app
from shared.auth.scopes import Scope
from tests.support.app import running_app
from tests.support.auth import SLOW_BURST, SLOW_KEY, bearer, scope_key
from tests.support.kafka import Bus

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def settings(database_url: str, bus: Bus) -> Settings:
    return Settings(database_url=database_url, **bus.settings)


async def test_writes_reads_and_erasures_are_audited_with_the_credential(
    database_url: str, bus: Bus
) -> None:
    async with running_app(create_app(settings(database_url, bus))) as client:
        writer, reader = bearer(scope_key(Scope.LEADS_WRITE)), bearer(scope_key(Scope.LEADS_READ))
        posted = await client.post("/v1/leads", json={"email": "audit@example.com"}, headers=writer)
        assert posted.status_code == 202, posted.text
        lead_id = posted.json()["lead_id"]
        # a writer may not read personal data, a reader may not erase
        assert (await client.get(f"/v1/leads/{lead_id}", headers=writer)).status_code == 403
        assert (await client.delete(f"/v1/leads/{lead_id}", headers=reader)).status_code == 403
        read = await client.get(f"/v1/leads/{lead_id}", headers=reader)
        assert read.status_code == 200
        assert read.headers["cache-control"] == "no-store"  # personal data: never cached
        assert read.headers["x-content-type-options"] == "nosniff"
        eraser = bearer(scope_key(Scope.LEADS_ERASE))
        erased = await client.delete(f"/v1/leads/{lead_id}?reason=asked", headers=eraser)
        assert erased.status_code == 202, erased.text

        assert (await client.get("/v1/audit", headers=reader)).status_code == 403
        auditor = bearer(scope_key(Scope.AUDIT_READ))
        trail = (await client.get("/v1/audit", params={"target": lead_id}, headers=auditor)).json()
        assert [(e["actor"], e["action"]) for e in trail["entries"]] == [
            ("key:test-leads_erase", "lead.erased"),
            ("key:test-leads_read", "lead.read"),
            ("key:test-leads_write", "lead.submitted"),
        ]
        assert trail["entries"][0]["detail"] == {"reason": "asked"}
        assert "audit@example.com" not in str(trail)  # ids only: the trail outlives erasure
        page = (await client.get("/v1/audit", params={"limit": 1}, headers=auditor)).json()
        assert len(page["entries"]) == 1 and page["next_before_id"] == page["entries"][0]["id"]


async def test_over_the_rate_limit_is_429_with_retry_after_and_nothing_accepted_is_lost(
    database_url: str, bus: Bus
) -> None:
    async with running_app(create_app(settings(database_url, bus))) as client:
        leads = [{"email": f"burst{i}@example.com"} for i in range(3 * SLOW_BURST)]
        answers = await asyncio.gather(
            *(client.post("/v1/leads", json=lead, headers=bearer(SLOW_KEY)) for lead in leads)
        )
        accepted = [a.json()["lead_id"] for a in answers if a.status_code == 202]
        limited = [a for a in answers if a.status_code == 429]
        assert len(accepted) >= SLOW_BURST and limited, [a.status_code for a in answers]
        assert len(accepted) + len(limited) == len(leads)
        for refusal in limited:
            assert refusal.json()["error"] == "rate_limited"
            assert int(refusal.headers["Retry-After"]) >= 1
        metrics = (await client.get("/metrics")).text
        assert 'leadflow_api_refusals_total{reason="rate_limited",route="/v1/leads"}' in metrics
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetch("SELECT lead_id::text FROM capture.leads")
    finally:
        await conn.close()
    assert sorted(r[0] for r in stored) == sorted(accepted)


async def test_an_idempotency_key_belongs_to_the_client_that_sent_it(
    database_url: str, bus: Bus
) -> None:
    async with running_app(create_app(settings(database_url, bus))) as client:
        key = {"Idempotency-Key": "order-42"}
        mine = await client.post(
            "/v1/leads", json={"email": "mine@example.com"},
            headers={**key, **bearer(scope_key(Scope.LEADS_WRITE))},
        )  # fmt: skip
        theirs = await client.post(
            "/v1/leads",
            json={"email": "theirs@example.com"},
            headers=key,  # the admin key
        )
        assert mine.status_code == theirs.status_code == 202, theirs.text
        assert mine.json()["lead_id"] != theirs.json()["lead_id"]


async def test_a_vendor_source_over_its_rate_limit_gets_429_and_others_do_not(
    database_url: str, bus: Bus
) -> None:
    settings = Settings(
        database_url=database_url, **bus.settings,
        source_rate_limit_per_s=0.01, source_rate_limit_burst=2,
    )  # fmt: skip
    async with running_app(create_app(settings)) as client:
        website = {"X-Api-Key": "lf_demo_website"}
        for i in range(5):  # forged posts are refused and do not use up the vendor's bucket
            forged = await client.post("/v1/sources/website/leads", json={"email": f"f{i}@x.io"},
                                       headers={"X-Api-Key": "lf_forged"})  # fmt: skip
            assert forged.status_code == 401
        answers = [
            await client.post(
                "/v1/sources/website/leads", json={"email": f"v{i}@example.com"}, headers=website
            )  # fmt: skip
            for i in range(3)
        ]
        assert [a.status_code for a in answers] == [202, 202, 429], answers[-1].text
        assert answers[-1].headers["Retry-After"].isdigit()
        other = await client.post(
            "/v1/sources/events/leads", json={"email": "e@example.com"},
            headers={"X-Api-Key": "lf_demo_events"},
        )  # fmt: skip
        assert other.status_code != 429  # each source has its own bucket
