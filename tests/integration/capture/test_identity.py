"""Identity resolution against a real database and broker: merges with a trace and an
event, Idempotency-Key and double-submit replays, GDPR erasure."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from services.capture.config import Settings
from services.capture.main import create_app
from shared.contracts.topics import LEAD_ACTIVITY, LEAD_CAPTURED, LEAD_ERASED, LEAD_UPDATED
from tests.support.app import running_app
from tests.support.kafka import Bus

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def settings(database_url: str, bus: Bus) -> Settings:
    return Settings(database_url=database_url, **bus.settings)


async def test_a_known_person_is_merged_traced_and_announced(database_url: str, bus: Bus) -> None:
    async with running_app(create_app(settings(database_url, bus))) as client:
        first = await client.post("/v1/leads", json={
            "email": "ana@acme.example", "first_name": "Ana", "source": "web",
            "utm_campaign": "spring", "budget": "10k",
        })  # fmt: skip
        assert first.status_code == 202, first.text
        lead_id = first.json()["lead_id"]
        again = await client.post("/v1/leads", json={
            "email": "ANA@acme.example ", "title": "CTO", "phone": "+44 20 7183 8750",
            "source": "webinar", "utm_campaign": "autumn", "budget": "50k",
        })  # fmt: skip
        assert again.status_code == 200, again.text
        assert again.json() == {
            "lead_id": lead_id,
            "status": "duplicate",
            "matched_by": "email",
            "updated_fields": ["phone", "title", "attributes.budget"],
        }
        lead = (await client.get(f"/v1/leads/{lead_id}")).json()["profile"]
        # newer facts win; first-touch attribution stays
        assert (lead["title"], lead["phone"], lead["attributes"]["budget"]) == (
            "CTO", "+442071838750", "50k",
        )  # fmt: skip
        assert (lead["source"], lead["campaign"], lead["first_name"]) == ("web", "spring", "Ana")
        merges = (await client.get(f"/v1/leads/{lead_id}/merges")).json()
        assert [(m["matched_by"], m["source"]) for m in merges] == [("email", "webinar")]
        assert {"field": "title", "old": None, "new": "CTO"} in merges[0]["changes"]
        async with bus.reader(LEAD_UPDATED) as out:
            await out.wait_for(lambda r: len(r) >= 1, what="lead updated")
        event = out.records[0]
        assert event["subject"] == lead_id
        assert event["data"]["merge_id"] == merges[0]["merge_id"]
        assert event["data"]["submitted_source"] == "webinar"
        assert event["data"]["lead"]["title"] == "CTO"
        # the same facts again change nothing: no merge event, empty updated_fields
        same = await client.post("/v1/leads", json={"email": "ana@acme.example", "title": "CTO"})
        assert same.json()["updated_fields"] == []
        assert len((await client.get(f"/v1/leads/{lead_id}/merges")).json()) == 1


async def test_idempotency_key_and_double_submit_replay_the_original_answer(
    database_url: str, bus: Bus
) -> None:
    async with running_app(create_app(settings(database_url, bus))) as client:
        body = {"email": "bo@acme.example", "source": "web"}
        key = {"Idempotency-Key": str(uuid.uuid4())}
        answers = await asyncio.gather(
            *(client.post("/v1/leads", json=body, headers=key) for _ in range(10))
        )
        assert {(a.status_code, a.json()["status"]) for a in answers} == {(202, "accepted")}
        assert len({a.json()["lead_id"] for a in answers}) == 1
        assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 9
        # the same key with another body is a client bug, in conflict with the stored answer
        other = await client.post("/v1/leads", json={"email": "zed@acme.example"}, headers=key)
        assert (other.status_code, other.json()["error"]) == (409, "idempotency_key_reused")
        assert other.json()["problems"][0]["field"] == "header:Idempotency-Key"
        # no key: the same body twice in the window gets the original answer too
        plain = {"email": "cy@acme.example", "source": "web"}
        one, two = [await client.post("/v1/leads", json=plain) for _ in range(2)]
        assert (one.status_code, two.status_code) == (202, 202)
        assert two.headers.get("Idempotent-Replayed") == "true"
        bad_key = await client.post("/v1/leads", json=plain, headers={"Idempotency-Key": "a b"})
        assert bad_key.status_code == 422
        # a batch replayed under its key answers the same, creating nothing more
        batch = {"leads": [{"email": f"b{i}@acme.example"} for i in range(5)]}
        bkey = {"Idempotency-Key": "batch-1"}
        b1 = await client.post("/v1/leads:batch", json=batch, headers=bkey)
        b2 = await client.post("/v1/leads:batch", json=batch, headers=bkey)
        assert b1.json() == b2.json() and b1.json()["accepted"] == 5
        # an activity retried under its key is recorded once
        lead_id = answers[0].json()["lead_id"]
        act = {"kind": "contacted", "channel": "call"}
        akey = {"Idempotency-Key": "call-1"}
        acts = await asyncio.gather(
            *(client.post(f"/v1/leads/{lead_id}/activities", json=act, headers=akey)
              for _ in range(5))
        )  # fmt: skip
        assert {a.status_code for a in acts} == {202}
        assert len({a.json()["activity_id"] for a in acts}) == 1
        async with bus.reader(LEAD_CAPTURED) as captured:
            await captured.wait_for(lambda r: len(r) >= 7, what="7 captured")
            await asyncio.sleep(0.3)
            await captured.poll()
        assert len(captured.records) == 7  # bo, cy, b0..b4
        async with bus.reader(LEAD_ACTIVITY) as activities:
            await activities.wait_for(lambda r: len(r) >= 1, what="activity")
            await asyncio.sleep(0.3)
            await activities.poll()
        assert len(activities.records) == 1


async def test_erasure_deletes_the_person_and_announces_it(database_url: str, bus: Bus) -> None:
    async with running_app(create_app(settings(database_url, bus))) as client:
        lead_id = (await client.post("/v1/leads", json={"email": "eve@acme.example"})).json()[
            "lead_id"
        ]
        await client.post(f"/v1/leads/{lead_id}/activities", json={"kind": "replied"})
        gone = await client.delete(f"/v1/leads/{lead_id}", params={"reason": "asked by email"})
        assert (gone.status_code, gone.json()["status"]) == (202, "erased")
        read = await client.get(f"/v1/leads/{lead_id}")
        assert read.status_code == 410 and read.json()["error"] == "lead_erased"
        again = await client.delete(f"/v1/leads/{lead_id}")
        assert (again.status_code, again.json()["status"]) == (200, "already_erased")
        unknown = await client.delete(f"/v1/leads/{uuid.uuid4()}")
        assert unknown.status_code == 404
        activity = await client.post(f"/v1/leads/{lead_id}/activities", json={"kind": "won"})
        assert activity.status_code == 404
        async with bus.reader(LEAD_ERASED) as out:
            await out.wait_for(lambda r: len(r) >= 1, what="lead erased")
        data = out.records[0]["data"]
        assert data["lead_id"] == lead_id and data["reason"] == "asked by email"
        assert "eve" not in str(out.records[0])
        # the same person may come back later, as a new lead
        back = await client.post("/v1/leads", json={"email": "eve@acme.example", "x": 1})
        assert back.status_code == 202 and back.json()["lead_id"] != lead_id


async def test_a_batch_of_activities_is_answered_item_by_item_and_recorded_once(
    database_url: str, bus: Bus
) -> None:
    async with running_app(create_app(settings(database_url, bus))) as client:
        ana = (await client.post("/v1/leads", json={"email": "ana@b.example"})).json()["lead_id"]
        bo = (await client.post("/v1/leads", json={"email": "bo@b.example"})).json()["lead_id"]
        body = {"activities": [
            {"lead_id": ana, "kind": "contacted", "channel": "call", "rep_id": "r1"},
            {"lead_id": str(uuid.uuid4()), "kind": "replied"},
            {"lead_id": bo, "kind": "won", "amount": 1200},
            {"lead_id": bo, "kind": "teleported"},
            {"lead_id": ana, "kind": "replied", "occurred_at": "2026-11-25T10:00:00"},
        ]}  # fmt: skip
        key = {"Idempotency-Key": "sync-7"}
        first = await client.post("/v1/activities:batch", json=body, headers=key)
        assert first.status_code == 200, first.text
        out = first.json()
        assert (out["recorded"], out["rejected"]) == (2, 3)
        assert [r["status"] for r in out["results"]] == [
            "recorded", "rejected", "recorded", "rejected", "rejected",
        ]  # fmt: skip
        assert out["results"][1]["problems"] == [
            {"field": "lead_id", "problem": "no lead with this id"}
        ]
        assert out["results"][3]["problems"][0]["field"] == "kind"
        assert out["results"][4]["problems"][0]["field"] == "occurred_at"
        again = await client.post("/v1/activities:batch", json=body, headers=key)
        assert again.json() == out and again.headers["Idempotent-Replayed"] == "true"
        async with bus.reader(LEAD_ACTIVITY) as activities:
            await activities.wait_for(lambda r: len(r) >= 2, what="2 activities")
            await asyncio.sleep(0.3)
            await activities.poll()
        assert sorted(r["data"]["kind"] for r in activities.records) == ["contacted", "won"]


async def test_a_configured_rule_matches_a_new_address_at_the_same_company(
    database_url: str, bus: Bus, tmp_path: Path
) -> None:
    config = tmp_path / "leadflow.yaml"
    config.write_text(
        "capture:\n  matching:\n    - {name: domain-company, fields: [email_domain, company]}\n"
    )
    app = create_app(
        Settings(database_url=database_url, **bus.settings, config_file=config)  # fmt: skip
    )
    async with running_app(app) as client:
        first = await client.post("/v1/leads", json={"email": "ana@acme.example",
                                                     "company": "ACME Shoes Ltd."})  # fmt: skip
        assert first.status_code == 202
        lead_id = first.json()["lead_id"]
        second = {"email": "a.silva@acme.example", "company": "Acme shoes", "title": "CTO"}
        other = await client.post("/v1/leads", json=second)
        assert other.status_code == 200, other.text
        assert (other.json()["lead_id"], other.json()["matched_by"]) == (lead_id, "domain-company")
        profile = (await client.get(f"/v1/leads/{lead_id}")).json()["profile"]
        assert profile["email"] == "ana@acme.example" and profile["title"] == "CTO"
        assert profile["attributes"]["alternate_emails"] == ["a.silva@acme.example"]
        # free mail never matches a company
        gmail = await client.post("/v1/leads", json={"email": "ana@gmail.com",
                                                     "company": "Acme Shoes"})  # fmt: skip
        assert gmail.status_code == 202
        # a storm of new addresses at one new company ends as one lead
        storm = await asyncio.gather(*(
            client.post("/v1/leads", json={"email": f"p{i}@globex.example", "company": "Globex"})
            for i in range(20)
        ))  # fmt: skip
        assert len({a.json()["lead_id"] for a in storm}) == 1
        assert sorted(a.status_code for a in storm) == [200] * 19 + [202]
        globex = storm[0].json()["lead_id"]
        # every other address is kept (merged in one intake batch or traced one by one)
        alternates = (await client.get(f"/v1/leads/{globex}")).json()["profile"]["attributes"]
        assert len(alternates["alternate_emails"]) == 19
        merges = (await client.get(f"/v1/leads/{globex}/merges")).json()
        assert {m["matched_by"] for m in merges} <= {"domain-company"}


async def test_after_erasure_a_double_submit_of_the_same_form_is_a_new_lead(
    database_url: str, bus: Bus
) -> None:
    """Issue 10: erasure forgets the answers stored for the lead (single, keyed, batch and
    vendor-payload answers), so nothing replays an erased lead's id."""
    async with running_app(create_app(settings(database_url, bus))) as client:
        form = {"email": "gone@acme.example", "first_name": "Gus"}
        first = await client.post("/v1/leads", json=form)
        assert first.status_code == 202, first.text
        lead_id = first.json()["lead_id"]
        keyed = await client.post("/v1/leads", json=form, headers={"Idempotency-Key": "k-gone-1"})
        batch = await client.post("/v1/leads:batch", json={"leads": [form]})
        assert keyed.json()["lead_id"] == batch.json()["results"][0]["lead_id"] == lead_id
        other = await client.post("/v1/leads", json={"email": "stays@acme.example"})
        twice = await client.post("/v1/leads", json=form)  # a double submit: replayed
        assert twice.headers.get("idempotent-replayed") == "true"
        assert twice.json()["lead_id"] == lead_id

        assert (await client.delete(f"/v1/leads/{lead_id}")).status_code == 202

        again = await client.post("/v1/leads", json=form)  # inside the 10-minute window
        assert again.status_code == 202, again.text
        assert "idempotent-replayed" not in again.headers
        new_id = again.json()["lead_id"]
        assert new_id != lead_id
        assert (await client.get(f"/v1/leads/{new_id}")).json()["profile"]["email"] == form["email"]
        retried = await client.post("/v1/leads", json=form, headers={"Idempotency-Key": "k-gone-1"})
        assert retried.json()["lead_id"] == new_id and "idempotent-replayed" not in retried.headers
        rebatch = await client.post("/v1/leads:batch", json={"leads": [form]})
        assert rebatch.json()["results"][0]["lead_id"] == new_id
        # answers about other people are kept
        kept = await client.post("/v1/leads", json={"email": "stays@acme.example"})
        assert kept.headers.get("idempotent-replayed") == "true"
        assert kept.json()["lead_id"] == other.json()["lead_id"]


async def test_concurrent_twins_of_a_request_get_one_answer_and_one_effect(
    database_url: str, bus: Bus
) -> None:
    """The same Idempotency-Key sent concurrently: one effect, every copy gets its answer;
    a copy with another body is refused, whichever copy stored its answer first."""
    async with running_app(create_app(settings(database_url, bus))) as client:
        key = {"Idempotency-Key": "twins-1"}
        bodies = [{"email": "ana@twins.example"}, {"email": "bo@twins.example"}] * 6
        answers = await asyncio.gather(
            *(client.post("/v1/leads", json=b, headers=key) for b in bodies)
        )
        by_body: dict[str, set[int]] = {}
        for body, answer in zip(bodies, answers, strict=True):
            by_body.setdefault(body["email"], set()).add(answer.status_code)
        assert sorted(map(sorted, by_body.values())) == [[202], [409]]
        ids = {a.json()["lead_id"] for a in answers if a.status_code == 202}
        assert len(ids) == 1

        lead_id = ids.pop()
        activity = {"kind": "contacted", "channel": "call"}
        akey = {"Idempotency-Key": "twins-call-1"}
        recorded = await asyncio.gather(*(
            client.post(f"/v1/leads/{lead_id}/activities", json=activity, headers=akey)
            for _ in range(8)
        ))  # fmt: skip
        assert {r.status_code for r in recorded} == {202}
        assert len({r.json()["activity_id"] for r in recorded}) == 1
        batch = {"leads": [{"email": "cy@twins.example"}, {"email": "dee@twins.example"}]}
        bkey = {"Idempotency-Key": "twins-batch-1"}
        batches = await asyncio.gather(
            *(client.post("/v1/leads:batch", json=batch, headers=bkey) for _ in range(6))
        )
        assert all(b.json() == batches[0].json() for b in batches)  # replays come from jsonb
        assert [r["status"] for r in batches[0].json()["results"]] == ["accepted", "accepted"]
        async with bus.reader(LEAD_ACTIVITY) as out:
            await out.wait_for(lambda r: len(r) >= 1, what="the activity")
            await asyncio.sleep(0.3)
            await out.poll()
        assert len(out.records) == 1
