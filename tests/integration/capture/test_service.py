"""Capture against a real database and broker: durable intake, dedupe, batches, outages."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from leadflow.embedded import EmbeddedKafka
from leadflow.samples import generate_leads
from services.capture.config import Settings
from services.capture.main import create_app
from shared.contracts.topics import LEAD_ACTIVITY, LEAD_CAPTURED
from tests.support.app import running_app
from tests.support.kafka import Bus, TopicReader

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def settings(database_url: str, bus: Bus) -> Settings:
    return Settings(database_url=database_url, **bus.settings)


async def test_an_accepted_lead_is_announced_with_its_cleaned_fields(
    database_url: str, bus: Bus
) -> None:
    async with running_app(create_app(settings(database_url, bus))) as client:
        resp = await client.post("/v1/leads", json={
            "email": "  Ana.Silva@Acme.Example ", "phone": "020 7183 8750", "country": "uk",
            "first_name": "ANA", "source": "Web", "utm_campaign": "launch", "budget": "50k",
        })  # fmt: skip
        assert resp.status_code == 202, resp.text
        lead_id = resp.json()["lead_id"]
        async with bus.reader(LEAD_CAPTURED) as out:
            await out.wait_for(lambda r: len(r) >= 1, what="lead captured")
        lead = out.records[0]["data"]["lead"]
        assert out.records[0]["subject"] == lead_id
        assert (lead["email"], lead["phone"], lead["country"]) == (
            "ana.silva@acme.example", "+442071838750", "GB",
        )  # fmt: skip
        assert lead["first_name"] == "ANA" and lead["source"] == "web"  # as typed (issue 10)
        assert lead["utm"] == {"campaign": "launch"} and lead["campaign"] == "launch"
        assert lead["attributes"] == {"budget": "50k"}
        stored = (await client.get(f"/v1/leads/{lead_id}")).json()
        assert stored["profile"]["email"] == "ana.silva@acme.example"


async def test_a_valid_email_with_any_phone_is_stored_with_the_phone_flagged(
    database_url: str, bus: Bus
) -> None:
    phones = ["+1 555 0100", "020 7183 8750", "+44 20 7183 875", "ask for Bob", "0"]
    async with running_app(create_app(settings(database_url, bus))) as client:
        ids = []
        for i, phone in enumerate(phones):
            body = {"email": f"flagged{i}@example.com", "phone": phone, "country": "Narnia"}
            resp = await client.post("/v1/leads", json=body)
            assert resp.status_code == 202, (phone, resp.text)
            ids.append(resp.json()["lead_id"])
            stored = (await client.get(f"/v1/leads/{ids[-1]}")).json()["profile"]
            assert (stored["phone"], stored["phone_raw"], stored["country"]) == (None, phone, None)
            assert {q["field"] for q in stored["data_quality"]} == {"phone", "country"}
        async with bus.reader(LEAD_CAPTURED) as out:
            await out.wait_for(lambda r: len(r) >= len(phones), what="flagged leads captured")
        events = {r["subject"]: r["data"]["lead"] for r in out.records}
        for lead_id, phone in zip(ids, phones, strict=True):
            quality = events[lead_id]["data_quality"]
            assert {"field": "phone", "raw": phone} in [
                {"field": q["field"], "raw": q["raw"]} for q in quality
            ]
        nobody = await client.post("/v1/leads", json={"email": "nope", "phone": "12"})
        assert nobody.status_code == 422
        assert {p["field"] for p in nobody.json()["problems"]} == {"email", "phone"}


async def test_concurrent_submissions_of_one_person_end_as_one_lead(
    database_url: str, bus: Bus
) -> None:
    async with running_app(create_app(settings(database_url, bus))) as client:
        same = [{"email": f"{'BOB' if i % 2 else 'bob'}@acme.example", "source": f"s{i}"}
                for i in range(40)]  # fmt: skip
        answers = await asyncio.gather(*(client.post("/v1/leads", json=b) for b in same))
        ids = {a.json()["lead_id"] for a in answers}
        assert len(ids) == 1
        assert sorted(a.status_code for a in answers) == [200] * 39 + [202]
        async with bus.reader(LEAD_CAPTURED) as out:
            await out.wait_for(lambda r: len(r) >= 1, what="one capture")
            await asyncio.sleep(0.3)
            await out.poll()
        assert len(out.records) == 1


async def test_a_batch_answers_each_lead_on_its_own(database_url: str, bus: Bus) -> None:
    async with running_app(create_app(settings(database_url, bus))) as client:
        good = generate_leads(3, seed=11)
        body = {"leads": [
            good[0], {"first_name": "no contact"}, good[1], {"email": "x@y.example",
            "company_size": "lots"}, dict(good[0], source="again"), good[2],
        ]}  # fmt: skip
        resp = await client.post("/v1/leads:batch", json=body)
        assert resp.status_code == 200, resp.text
        out = resp.json()
        # issue 10: a company size that is no number is flagged, not refused
        assert (out["accepted"], out["duplicates"], out["rejected"]) == (4, 1, 1)
        statuses = [r["status"] for r in out["results"]]
        assert statuses == ["accepted", "rejected", "accepted", "accepted", "duplicate", "accepted"]
        assert out["results"][4]["lead_id"] == out["results"][0]["lead_id"]
        assert {p["field"] for p in out["results"][1]["problems"]} == {"email", "phone"}
        flagged = await client.get(f"/v1/leads/{out['results'][3]['lead_id']}")
        quality = flagged.json()["profile"]["data_quality"]
        assert [(q["field"], q["raw"]) for q in quality] == [("company_size", "lots")]
        too_many = await client.post("/v1/leads:batch", json={"leads": [good[0]] * 1001})
        assert too_many.status_code == 422
        assert too_many.json()["problems"][0]["field"] == "leads"


async def test_bad_input_gets_a_4xx_naming_the_field(database_url: str, bus: Bus) -> None:
    async with running_app(create_app(settings(database_url, bus))) as client:
        cases = [
            (b'{"email": "a@b.example",', 400, "body"),
            (b'{"email": 42}', 422, "email"),
            (b'{"phone": "12"}', 422, "phone"),
            (b'{"email": "a\\u0000@b.example"}', 422, "email"),
            (b'["not", "an", "object"]', 422, "body"),
        ]
        for body, code, field in cases:
            resp = await client.post(
                "/v1/leads", content=body, headers={"content-type": "application/json"}
            )
            assert resp.status_code == code, (body, resp.text)
            assert field in {p["field"] for p in resp.json()["problems"]}, (body, resp.text)
        huge = await client.post(
            "/v1/leads",
            content=b'{"email": "a@b.example", "notes": "' + b"x" * 2_000_000 + b'"}',
            headers={"content-type": "application/json"},
        )
        assert huge.status_code == 413
        unknown = await client.post(
            "/v1/leads/7b0e7a44-7c39-4a7c-9f0e-0b7f2d0b8f10/activities", json={"kind": "won"}
        )
        assert unknown.status_code == 404
        bad_kind = await client.post(
            "/v1/leads/7b0e7a44-7c39-4a7c-9f0e-0b7f2d0b8f10/activities", json={"kind": "danced"}
        )
        assert bad_kind.status_code == 422 and bad_kind.json()["problems"][0]["field"] == "kind"


async def test_leads_are_accepted_while_kafka_is_down_and_flow_when_it_returns(
    database_url: str, fresh_broker: EmbeddedKafka
) -> None:
    async with running_app(
        create_app(settings(database_url, Bus(fresh_broker.bootstrap)))
    ) as client:
        fresh_broker.stop()
        leads = generate_leads(20, seed=5)
        answers = []
        for lead in leads:
            answers.append(await client.post("/v1/leads", json=lead))
        assert [a.status_code for a in answers] == [202] * 20
        lead_id = answers[0].json()["lead_id"]
        activity = await client.post(f"/v1/leads/{lead_id}/activities", json={"kind": "replied"})
        assert activity.status_code == 202
        fresh_broker.start()  # a new, empty in-memory broker on the same port
        async with TopicReader(fresh_broker.bootstrap, LEAD_CAPTURED, LEAD_ACTIVITY) as out:
            await out.wait_for(lambda r: len(r) >= 21, timeout=60, what="the outbox backlog")
        ids = {r["subject"] for r in out.records if r["type"].endswith("captured.v1")}
        assert ids == {a.json()["lead_id"] for a in answers}


def test_the_openapi_document_names_the_lead_routes(tmp_path: Path) -> None:
    paths = create_app(Settings(config_file=tmp_path / "none.yaml")).openapi()["paths"]
    assert {"/v1/leads", "/v1/leads:batch", "/v1/leads/{lead_id}/activities"} <= set(paths)


async def test_sales_tools_report_touches_as_called_emailed_and_sms_sent(
    database_url: str, bus: Bus
) -> None:
    async with running_app(create_app(settings(database_url, bus))) as client:
        lead = await client.post("/v1/leads", json={"email": "touch@acme.example"})
        lead_id = lead.json()["lead_id"]
        one = await client.post(
            f"/v1/leads/{lead_id}/activities",
            json={"kind": "called", "rep_id": "ana", "occurred_at": "2026-12-07T17:00:00Z"},
        )
        assert one.status_code == 202, one.text
        batch = await client.post(
            "/v1/activities:batch",
            json={
                "activities": [
                    {"lead_id": lead_id, "kind": "emailed", "rep_id": "ana"},
                    {"lead_id": lead_id, "kind": "sms_sent", "channel": "sms"},
                    {"lead_id": lead_id, "kind": "texted"},
                ]
            },
        )
        assert batch.json()["recorded"] == 2, batch.text
        [refused] = [r for r in batch.json()["results"] if r["status"] == "rejected"]
        assert refused["index"] == 2 and refused["problems"][0]["field"].endswith("kind")
        async with bus.reader(LEAD_ACTIVITY) as out:
            await out.wait_for(lambda r: len(r) >= 3, what="the three touches")
    assert [r["data"]["kind"] for r in out.records] == ["called", "emailed", "sms_sent"]
    assert out.records[0]["data"]["occurred_at"].startswith("2026-12-07T17:00:00")
