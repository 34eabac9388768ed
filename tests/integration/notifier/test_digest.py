"""Digests on the running notifier (real PostgreSQL, a real broker, a local SMS API), on a
driven clock: events of a period become one summary per recipient when it ends, and a flush
that fails half-way loses nothing and sends nothing twice."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from services.notifier import digest_job, store
from services.notifier.main import create_app
from shared import clock
from shared.contracts import RepRef
from shared.db.engine import make_engine
from tests.integration.notifier.test_channels import SMS_PATH, ChannelReceiver
from tests.integration.notifier.test_service import (
    Notifier,
    assigned,
    deliveries,
    notifier_settings,
    send,
    sql,
    wait_consumed,
)
from tests.support.app import running_app
from tests.support.http import serving
from tests.support.kafka import Bus
from tests.support.waits import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

T0 = datetime(2026, 12, 5, 9, 10, tzinfo=UTC)
SMS_TOKEN = "sms-digest-token"


@pytest.fixture
async def receiver() -> AsyncIterator[ChannelReceiver]:
    rec = ChannelReceiver()
    app = Starlette(routes=[Route("/{path:path}", rec.handle, methods=["POST"])])
    async with serving(app) as server:
        rec.port = server.port
        yield rec


def config(rec: ChannelReceiver) -> dict[str, Any]:
    return {
        "notifier": {
            "retry": {"base_s": 0.05, "max_s": 0.2},
            "allow_private_targets": [f"127.0.0.1:{rec.port}"],
            "sms": {
                "url": rec.url("/sms/2010-04-01/Accounts/{account_sid}/Messages.json"),
                "account_sid": "AC123",
                "auth_token": "${LEADFLOW_TEST_DIGEST_SMS_TOKEN}",
                "from": "+15005550006",
            },
            "people": {"ana": {"phone": "+447700900123"}},
            "subscriptions": [
                {
                    "name": "hourly-sms",
                    "channel": "sms",
                    "events": ["lead.assigned"],
                    "to": ["rep"],
                    "digest": {"every": "hourly", "timezone": "Europe/London"},
                }
            ],
        }
    }


@pytest.fixture
async def notifier(
    database_url: str,
    bus: Bus,
    receiver: ChannelReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Notifier, Path]]:
    monkeypatch.setenv("LEADFLOW_TEST_DIGEST_SMS_TOKEN", SMS_TOKEN)
    clock_file = tmp_path / "clock"
    clock.write_clock_file(clock_file, T0)
    settings = notifier_settings(database_url, bus, config(receiver), tmp_path).model_copy(
        update={"clock_file": clock_file}
    )
    app = create_app(settings)
    async with running_app(app, ready_timeout=20) as http:
        db = make_engine(settings.asyncpg_url, "notifier", pool_size=1)
        try:
            yield Notifier(http, bus, db, app.state.runtime), clock_file
        finally:
            await db.dispose()


def to_ana(lead: str | None = None) -> Any:
    event = assigned(lead or str(uuid.uuid4()))
    return event.model_copy(update={"rep": RepRef(rep_id="ana", name="Ana Silva")})


async def test_a_periods_alerts_arrive_as_one_summary_once(
    notifier: tuple[Notifier, Path], receiver: ChannelReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    n, clock_file = notifier
    ids = [await send(n, to_ana()) for _ in range(3)]
    await wait_consumed(n, *ids)
    assert await sql(n, "SELECT count(*) FROM digest_items") == 3
    assert await sql(n, "SELECT min(period_end) = max(period_end) FROM digest_items") is True
    assert await deliveries(n) == []
    assert receiver.at(SMS_PATH) == []

    # The summary's transaction fails half-way (the process dies): nothing is lost.
    end = T0.replace(minute=0) + timedelta(hours=1)
    runtime, cfg = n.runtime, n.runtime.deps.delivery

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(store, "insert_deliveries", broken)
    with pytest.raises(ConnectionError):
        await digest_job.flush(runtime, cfg, end)
    monkeypatch.undo()
    assert await sql(n, "SELECT count(*) FROM digest_items") == 3
    assert await digest_job.flush(runtime, cfg, end - timedelta(seconds=1)) == 0  # not yet

    # The period ends on the service clock: one SMS with the three alerts.
    clock.write_clock_file(clock_file, end + timedelta(seconds=5))

    async def sent() -> bool:
        return len(receiver.at(SMS_PATH)) == 1 and all(
            d["status"] == "delivered" for d in await deliveries(n)
        )

    await eventually(sent, what="the summary", timeout=15)
    (sms,) = receiver.at(SMS_PATH)
    form = {k: v[0] for k, v in parse_qs(sms.body.decode()).items()}
    assert form["To"] == "+447700900123"
    assert form["Body"] == "3 Leadflow alerts (hourly-sms)\n" + "\n".join(
        ["• New lead for Ana Silva: Tom Baker"] * 3
    )
    (row,) = await deliveries(n)
    assert (row["event_type"], row["recipient"], row["lead_id"]) == ("digest", "person:ana", "")
    assert row["event_id"].startswith("digest:2026-12-05T10:00:00+00:00:")

    # Flushing again (another replica, a restart) sends nothing more.
    assert await digest_job.flush(runtime, cfg, end + timedelta(minutes=1)) == 0
    assert await sql(n, "SELECT count(*) FROM digest_items") == 0
    assert len(await deliveries(n)) == 1
    assert len(receiver.at(SMS_PATH)) == 1
