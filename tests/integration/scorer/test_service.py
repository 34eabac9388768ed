"""The scorer as it runs: real PostgreSQL, a real broker, LeadCaptured in, LeadScored out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.scorer.config import Settings, scoring_model_from_mapping
from services.scorer.handlers import make_batch_handler
from services.scorer.main import MIGRATIONS, create_app
from shared.contracts import (
    EVENT_TYPES,
    ActivityKind,
    LeadActivityRecorded,
    LeadBucketChanged,
    LeadCaptured,
    LeadProfile,
    LeadQualified,
    LeadScored,
    decode,
    encode,
)
from shared.contracts.envelope import Envelope, Event
from shared.db.engine import make_engine
from shared.db.migrate import migrate
from shared.db.uow import UnitOfWork
from tests.support.app import running_app
from tests.support.kafka import Bus
from tests.support.waits import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

CONFIG = """
scoring:
  model_version: "it-1"
  threshold: 50
  buckets:
    - {name: hot, min_score: 80}
    - {name: warm, min_score: 50}
    - {name: cold}
  fit:
    - {name: core-region, when: {field: country, in: [GB, DE]}, points: 20}
    - {name: enterprise, when: {field: company_size, gte: 1000}, points: 20}
  engagement:
    - {name: replied, activity: replied, points: 25, decay: false}
    - {name: meeting-booked, activity: meeting_booked, points: 40, decay: false}
    - {name: clicked, activity: email_clicked, points: 10}
"""
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def captured(lead_id: str, **profile: Any) -> LeadCaptured:
    lead = LeadProfile(source="web", email=f"{lead_id[:8]}@example.com", **profile)
    return LeadCaptured(lead_id=lead_id, captured_at=NOW - timedelta(hours=1), lead=lead)


def activity(lead_id: str, kind: str, occurred_at: datetime = NOW) -> LeadActivityRecorded:
    return LeadActivityRecorded(
        lead_id=lead_id,
        activity_id=str(uuid4()),
        kind=ActivityKind(kind),
        occurred_at=occurred_at,
        recorded_at=occurred_at,
    )


@dataclass
class Scorer:
    http: httpx.AsyncClient
    bus: Bus
    db: AsyncEngine

    async def send(self, event: Event, *, event_id: str | None = None, key: str = "") -> str:
        """Produce one event the way capture would; returns its event id."""
        return await self.bus.send(event, source="capture", event_id=event_id, key=key)

    async def count(self, sql: str, **params: Any) -> int:
        async with self.db.connect() as conn:
            return int((await conn.execute(text(sql), params)).scalar_one())


@pytest.fixture
async def scorer(database_url: str, bus: Bus, tmp_path: Path) -> AsyncIterator[Scorer]:
    config = tmp_path / "leadflow.yaml"
    config.write_text(CONFIG)
    settings = Settings(
        database_url=database_url,
        **bus.settings,
        kafka_partitions=3,
        config_file=config,
    )
    async with running_app(create_app(settings)) as http:
        db = make_engine(settings.asyncpg_url, "scorer")
        try:
            yield Scorer(http, bus, db)
        finally:
            await db.dispose()


def of(records: list[dict[str, Any]], event: type[Event], lead_id: str) -> list[dict[str, Any]]:
    return [r for r in records if r["type"] == event.TYPE and r["subject"] == lead_id]


def contributions(record: dict[str, Any]) -> list[tuple[str, str, float]]:
    return [(c["rule"], c["group"], c["points"]) for c in record["data"]["contributions"]]


async def test_scores_a_captured_lead_and_rescores_it_on_activity(scorer: Scorer) -> None:
    lead = str(uuid4())
    async with scorer.bus.reader(LeadScored.TOPIC, LeadQualified.TOPIC) as out:
        captured_id = await scorer.send(captured(lead, country="GB", company_size=5000))
        records = await out.wait_for(lambda r: len(of(r, LeadScored, lead)) >= 1, what="score")
        first = of(records, LeadScored, lead)[0]
        assert first["causationid"] == captured_id
        data = first["data"]
        assert (data["score"], data["fit"], data["engagement"]) == (40, 40, 0)
        assert (data["bucket"], data["qualified"], data["model_version"]) == ("cold", False, "it-1")
        assert contributions(first) == [("core-region", "fit", 20), ("enterprise", "fit", 20)]
        assert data["lead"]["country"] == "GB"
        assert data["captured_at"].startswith("2026-11-25T11:00:00")

        response = await scorer.http.get(f"/v1/leads/{lead}/score")
        assert response.status_code == 200
        body = response.json()
        assert (body["score"], body["bucket"], body["qualified"]) == (40, "cold", False)
        assert body["contributions"][0] == {"rule": "core-region", "group": "fit", "points": 20}
        assert body["model_version"] == "it-1"

        # a reply crosses the threshold (50): warm, qualified, announced once
        replied_id = await scorer.send(activity(lead, "replied"))
        records = await out.wait_for(lambda r: len(of(r, LeadScored, lead)) >= 2, what="rescore")
        second = of(records, LeadScored, lead)[1]
        assert (second["data"]["score"], second["data"]["bucket"]) == (65, "warm")
        assert second["data"]["qualified"] is True
        assert second["causationid"] == replied_id
        records = await out.wait_for(lambda r: len(of(r, LeadQualified, lead)) >= 1)
        qualified = of(records, LeadQualified, lead)[0]
        assert qualified["causationid"] == replied_id
        assert (qualified["data"]["score"], qualified["data"]["threshold"]) == (65, 50)

        # a meeting lifts it further: hot, still qualified, but not announced again
        await scorer.send(activity(lead, "meeting_booked"))
        records = await out.wait_for(lambda r: len(of(r, LeadScored, lead)) >= 3, what="3rd")
        third = of(records, LeadScored, lead)[2]
        assert (third["data"]["score"], third["data"]["bucket"]) == (105, "hot")
        await asyncio.sleep(0.3)
        await out.poll()
        assert len(of(out.records, LeadScored, lead)) == 3
        assert len(of(out.records, LeadQualified, lead)) == 1

    response = await scorer.http.get(f"/v1/leads/{lead}/score")
    assert (response.json()["score"], response.json()["bucket"]) == (105, "hot")


def moves(records: list[dict[str, Any]], lead_id: str) -> list[tuple[str, str]]:
    changes = of(records, LeadBucketChanged, lead_id)
    return [(c["data"]["from_bucket"], c["data"]["to_bucket"]) for c in changes]


async def test_a_move_between_buckets_is_announced_once_per_move(scorer: Scorer) -> None:
    lead = str(uuid4())
    async with scorer.bus.reader(LeadScored.TOPIC, LeadBucketChanged.TOPIC) as out:
        # first score (cold, 40): where it starts, not a change
        await scorer.send(captured(lead, country="GB", company_size=5000))
        await out.wait_for(lambda r: len(of(r, LeadScored, lead)) >= 1, what="first score")
        # a reply makes it warm (65): it qualifies as warm
        await scorer.send(activity(lead, "replied"))
        records = await out.wait_for(lambda r: len(moves(r, lead)) >= 1, what="cold -> warm")
        assert moves(records, lead) == [("cold", "warm")]

        # a meeting pushes it to hot (105): one warm -> hot, caused by the meeting
        meeting_id = await scorer.send(activity(lead, "meeting_booked"))
        records = await out.wait_for(lambda r: len(moves(r, lead)) >= 2, what="warm -> hot")
        change = of(records, LeadBucketChanged, lead)[1]
        assert (change["data"]["from_bucket"], change["data"]["to_bucket"]) == ("warm", "hot")
        assert change["causationid"] == meeting_id
        assert (change["data"]["score"], change["data"]["trigger"]) == (105, "activity")
        assert ("meeting-booked", "engagement", 40) in contributions(change)

        # a click re-scores it within hot: scored, no change announced
        await scorer.send(activity(lead, "email_clicked"))
        records = await out.wait_for(lambda r: len(of(r, LeadScored, lead)) >= 4, what="4th")
        assert of(records, LeadScored, lead)[3]["data"]["bucket"] == "hot"
        await asyncio.sleep(0.3)
        await out.poll()
        assert moves(out.records, lead) == [("cold", "warm"), ("warm", "hot")]


async def test_an_activity_before_its_lead_counts_once_the_lead_arrives(scorer: Scorer) -> None:
    lead = str(uuid4())
    early = activity(lead, "meeting_booked", NOW - timedelta(days=2))
    await scorer.send(early)
    await eventually(
        lambda: scorer.count(
            "SELECT count(*) FROM activities WHERE activity_id = :id", id=early.activity_id
        ),
        timeout=15,
        what="the early activity stored",
    )
    response = await scorer.http.get(f"/v1/leads/{lead}/score")
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_lead"

    async with scorer.bus.reader(LeadScored.TOPIC) as out:
        captured_id = await scorer.send(captured(lead, country="US", company_size=12))
        await out.wait_for(lambda r: len(of(r, LeadScored, lead)) >= 1, what="score")
        await asyncio.sleep(0.3)
        await out.poll()
    scored = of(out.records, LeadScored, lead)
    assert len(scored) == 1  # the early activity alone announced nothing
    assert scored[0]["causationid"] == captured_id
    assert (scored[0]["data"]["score"], scored[0]["data"]["engagement"]) == (40, 40)
    assert contributions(scored[0]) == [("meeting-booked", "engagement", 40)]


async def test_a_redelivered_or_repeated_capture_is_scored_once(scorer: Scorer) -> None:
    lead, sentinel = str(uuid4()), str(uuid4())
    event_id, value = encode(captured(lead, country="DE"), source="capture")
    _, repeat = encode(captured(lead, country="US"), source="capture")  # new id, known lead
    _, after = encode(captured(sentinel), source="capture")
    key = lead.encode()
    async with scorer.bus.reader(LeadScored.TOPIC) as out:
        await scorer.bus.produce(LeadCaptured.TOPIC, [(key, value), (key, value)])
        await out.wait_for(lambda r: len(of(r, LeadScored, lead)) >= 1, what="first score")
        # the lead is known now; one key keeps these on one partition, in order, so once the
        # sentinel is scored the redelivery and the repeat before it have been handled
        await scorer.bus.produce(LeadCaptured.TOPIC, [(key, value), (key, repeat), (key, after)])
        await out.wait_for(lambda r: len(of(r, LeadScored, sentinel)) >= 1, what="sentinel")
        await asyncio.sleep(0.3)
        await out.poll()
    scored = of(out.records, LeadScored, lead)
    assert len(scored) == 1
    assert scored[0]["causationid"] == event_id
    assert scored[0]["data"]["lead"]["country"] == "DE"
    response = await scorer.http.get(f"/v1/leads/{lead}/score")
    assert response.json()["fit"] == 20  # the repeat (US) did not replace the profile


async def test_simulate_scores_without_side_effects(scorer: Scorer) -> None:
    body = {
        "lead": {"country": "de", "company_size": 2000, "attributes": {"budget": 10}},
        "activities": [
            {"kind": "replied", "occurred_at": "2026-11-20T09:00:00Z", "channel": "email"},
            {"kind": "email_clicked", "occurred_at": "2026-11-11T12:00:00+00:00"},
        ],
        "as_of": "2026-11-25T12:00:00Z",
    }
    response = await scorer.http.post("/v1/scoring:simulate", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    # 20 + 20 fit, 25 for the reply, 10 halved by 14 days for the click
    assert (result["score"], result["fit"], result["engagement"]) == (70, 40, 30)
    assert (result["bucket"], result["qualified"], result["threshold"]) == ("warm", True, 50)
    assert [c["rule"] for c in result["contributions"]] == [
        "core-region",
        "enterprise",
        "replied",
        "clicked",
    ]
    assert result["scored_at"].startswith("2026-11-25T12:00:00")
    assert await scorer.count("SELECT count(*) FROM leads") == 0
    assert await scorer.count("SELECT count(*) FROM outbox") == 0

    bad = {
        "lead": {"contry": "DE", "company_size": "many"},
        "activities": [{"kind": "waved", "occurred_at": "2026-11-20T09:00:00"}],
    }
    response = await scorer.http.post("/v1/scoring:simulate", json=bad)
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["problems"]}
    assert fields == {
        "lead.contry",
        "lead.company_size",
        "activities[0].kind",
        "activities[0].occurred_at",
    }


async def test_model_and_unknown_lead_endpoints(scorer: Scorer) -> None:
    response = await scorer.http.get("/v1/scoring/model")
    assert response.status_code == 200
    model = response.json()
    assert (model["version"], model["threshold"]) == ("it-1", 50)
    assert [(b["name"], b["min_score"]) for b in model["buckets"]] == [
        ("hot", 80),
        ("warm", 50),
        ("cold", None),
    ]
    assert [(r["name"], r["points"]) for r in model["fit"]] == [
        ("core-region", 20),
        ("enterprise", 20),
    ]
    assert [(r["name"], r["activity"]) for r in model["engagement"]][0] == ("replied", ["replied"])

    response = await scorer.http.get(f"/v1/leads/{uuid4()}/score")
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_lead"
    response = await scorer.http.get("/v1/leads/not-a-uuid/score")
    assert response.status_code == 422


def envelope(event: Event, event_id: str | None = None) -> Envelope:
    eid = event_id or str(uuid4())
    return Envelope(eid, "capture", event.TYPE, NOW, event.lead_id, event)


async def test_one_batch_scores_each_lead_once_after_all_its_events(database_url: str) -> None:
    """Several events for one lead in a batch give one score, at the handler's clock."""
    engine = make_engine(Settings(database_url=database_url).asyncpg_url, "scorer")
    await migrate(engine, "scorer", MIGRATIONS)
    model = scoring_model_from_mapping(yaml.safe_load(CONFIG), Path("test.yaml"))
    handle = make_batch_handler(model, clock=lambda: NOW)
    lead, other = str(uuid4()), str(uuid4())
    clicked = activity(lead, "email_clicked", NOW - timedelta(days=14))  # half decayed
    batch = [
        envelope(clicked),
        envelope(captured(lead, country="GB")),
        envelope(activity(lead, "email_clicked", NOW - timedelta(days=14))),
        envelope(clicked),  # the same activity again, under another event id
        envelope(captured(other)),
        last := envelope(activity(lead, "replied", NOW - timedelta(days=3))),
    ]
    try:
        async with UnitOfWork(engine, "scorer") as uow:
            await handle(uow, batch)
            await uow.commit()
    finally:
        await engine.dispose()
    emitted = [decode(m.value, EVENT_TYPES) for m in uow.committed]
    scores = [e for e in emitted if isinstance(e.data, LeadScored)]
    assert sorted(e.subject for e in scores) == sorted([lead, other])
    mine = next(e for e in scores if e.subject == lead)
    assert isinstance(mine.data, LeadScored)
    assert (mine.data.fit, mine.data.engagement, mine.data.score) == (20, 35, 55)
    assert mine.data.scored_at == NOW
    assert mine.causationid == last.id
    qualified = [e for e in emitted if isinstance(e.data, LeadQualified)]
    assert [e.subject for e in qualified] == [lead]
