"""Dead letters an operator can handle: a poison event in the real scorer goes to its
dead-letter topic, is listed and inspected through the API, and, once the cause is fixed,
replayed to its original topic and applied exactly once (a second replay changes nothing)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from leadflow.cli import main
from leadflow.embedded import free_port
from services.scorer.config import Settings
from services.scorer.main import create_app
from shared.auth.scopes import Scope
from shared.contracts import LeadCaptured, LeadProfile, LeadScored
from shared.db.engine import make_engine
from tests.support.app import running_app
from tests.support.auth import bearer, scope_key
from tests.support.kafka import Bus

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

CONFIG = """
scoring:
  model_version: "dlq-1"
  threshold: 50
  buckets: [{name: warm, min_score: 50}, {name: cold}]
  fit: [{name: core-region, when: {field: country, in: [GB]}, points: 60}]
"""
AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
# The "bug": a check the scorer's table refuses for one lead, until the fix drops it.
BREAK = (
    """CREATE OR REPLACE FUNCTION scorer.refuse_poison() RETURNS trigger AS $$
BEGIN
  IF NEW.lead_id = '{lead}' THEN RAISE EXCEPTION 'lead % refused by a bad migration', NEW.lead_id;
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER refuse_poison BEFORE INSERT ON scorer.leads"
    " FOR EACH ROW EXECUTE FUNCTION scorer.refuse_poison()",
)
FIX = ("DROP TRIGGER refuse_poison ON scorer.leads", "DROP FUNCTION scorer.refuse_poison()")


def captured(lead_id: str) -> LeadCaptured:
    profile = LeadProfile(source="web", email=f"{lead_id[:8]}@dlq.example", country="GB")
    return LeadCaptured(lead_id=lead_id, captured_at=AT, lead=profile)


async def run_sql(url: str, statements: tuple[str, ...]) -> None:
    engine = make_engine(url, "scorer")
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "leadflow.yaml"
    path.write_text(CONFIG)
    yield path


@asynccontextmanager
async def served(http: httpx.AsyncClient) -> AsyncIterator[str]:
    """The app behind ``http`` on a real port too, for the CLI (its lifespan already runs)."""
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(transport.app, port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_a_poison_event_fixed_is_replayed_and_applied_exactly_once(
    database_url: str, bus: Bus, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(database_url=database_url, config_file=config, **bus.settings)
    poison, fine = str(uuid4()), str(uuid4())
    reader_key, manager_key = (
        scope_key(Scope.DEAD_LETTERS_READ),
        scope_key(Scope.DEAD_LETTERS_MANAGE),
    )
    reader, manager = bearer(reader_key), bearer(manager_key)
    async with running_app(create_app(settings)) as http, bus.reader(LeadScored.TOPIC) as out:
        await run_sql(settings.asyncpg_url, (BREAK[0].replace("{lead}", poison), BREAK[1]))
        poison_id = await bus.send(captured(poison), source="capture", key=poison)
        await bus.send(captured(fine), source="capture", key=fine)
        await out.wait_for(lambda r: any(x["subject"] == fine for x in r), what="fine scored")

        async def listed() -> list[dict[str, object]]:
            page = (await http.get("/v1/dead-letters", headers=reader)).json()
            assert page["scanned"] == len(page["letters"])
            return list(page["letters"])

        for _ in range(400):
            letters = await listed()
            if letters:
                break
            await asyncio.sleep(0.05)
        (letter,) = letters
        assert (letter["event_id"], letter["subject"]) == (poison_id, poison)
        assert letter["event_type"] == LeadCaptured.TYPE
        assert letter["group"] == "scorer" and letter["replays"] == 0
        assert "refused by a bad migration" in str(letter["error"])
        assert str(letter["original_topic"]).endswith(LeadCaptured.TOPIC)

        # Filters; a wrong scope; the detail, audited.
        none = await http.get("/v1/dead-letters", params={"subject": fine}, headers=reader)
        assert none.json()["letters"] == [] and none.json()["scanned"] == 1
        denied = await http.get("/v1/dead-letters", headers=manager)
        assert denied.status_code == 403
        shown = (await http.get(f"/v1/dead-letters/{letter['id']}", headers=reader)).json()
        assert shown["payload"]["id"] == poison_id and shown["erased"] is False
        assert shown["payload"]["data"]["lead"]["country"] == "GB"
        assert shown["headers"]["dlq-group"] == "scorer"
        missing = await http.get("/v1/dead-letters/0-999999", headers=reader)
        assert missing.status_code == 404 and missing.json()["error"] == "unknown_dead_letter"
        empty = await http.post("/v1/dead-letters:replay", json={"reason": "x"}, headers=manager)
        assert empty.status_code == 422 and empty.json()["error"] == "no_letters_named"

        # Fix, then replay: applied once, announced once.
        await run_sql(settings.asyncpg_url, FIX)
        one = await http.post(
            f"/v1/dead-letters/{letter['id']}:replay",
            json={"reason": "dropped the bad trigger"},
            headers=manager,
        )
        assert one.status_code == 200, one.text
        assert one.json() == {"replayed": [letter["id"]]}
        await out.wait_for(lambda r: any(x["subject"] == poison for x in r), what="poison scored")
        # Replaying again (by filter, from the CLI this time) is as harmless as a redelivery.
        async with served(http) as url:
            cli = ["dlq", "--service", "scorer", "--url", url, "--key", manager_key]
            again = [*cli, "replay", "--lead", poison, "--reason", "just to be sure"]
            assert await asyncio.to_thread(main, again) == 0
            assert await asyncio.to_thread(main, [*cli[:-1], reader_key, "list"]) == 0
        out_lines = capsys.readouterr().out.splitlines()
        printed = [line for line in out_lines if not line.startswith('{"ts"')]  # not the logs
        assert printed[0] == f"replayed 1: {letter['id']}"
        assert printed[1].split()[:4] == [letter["id"], printed[1].split()[1],
                                          LeadCaptured.TYPE, poison]  # fmt: skip
        assert printed[1].endswith("replayed x2") and printed[-1] == "1 of 1 letter(s)"
        (after,) = await listed()
        assert after["replays"] == 2 and after["last_replayed_at"] is not None

        db = make_engine(settings.asyncpg_url, "scorer")
        try:
            async with db.connect() as conn:
                rows = await conn.execute(
                    text("SELECT count(*) FROM leads WHERE lead_id = :l"), {"l": poison}
                )
                assert rows.scalar_one() == 1
        finally:
            await db.dispose()
        await out.wait_for(lambda r: len(r) >= 2, what="both scored")
        await out.poll()
        assert [x["subject"] for x in out.records].count(poison) == 1
        audit = (await http.get("/v1/audit", params={"action": "dead_letter.replayed"})).json()
        reasons = [e["detail"]["reason"] for e in audit["entries"]]
        assert reasons == ["just to be sure", "dropped the bad trigger"]
