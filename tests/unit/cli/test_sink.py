"""The demo receiver accepts only deliveries signed with its subscription's secret."""

import stat
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest

from leadflow.demo_secrets import demo_secret_env
from leadflow.sink import create_sink, secrets_for, summary
from services.notifier.domain import signed_headers
from shared.config import DEFAULT_CONFIG_FILE

SECRET = "whsec_bGVhZGZsb3ctZGVtby1zZWNyZXQtbm90LWZvci1wcm9k"
EVENT = {
    "type": "io.leadflow.lead.assigned.v1",
    "subject": "l1",
    "data": {
        "lead": {"email": "ana@acme.example"},
        "rep": {"name": "Ana Ashworth"},
        "queue": "fashion-uk",
        "trace": {"rule": "uk-shoes"},
    },
}


async def test_a_signed_delivery_is_accepted_and_a_forged_one_refused() -> None:
    app = create_sink([SECRET])
    body = orjson.dumps(EVENT)
    good = signed_headers(SECRET, "msg-1", datetime.now(UTC), body)
    forged = dict(good, **{"webhook-signature": "v1,AAAA"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        assert (await c.post("/hooks", content=body, headers=good)).status_code == 200
        assert (await c.post("/hooks", content=body, headers=forged)).status_code == 401
        shown = (await c.get("/")).json()
    assert shown == [  # newest first: the refusal is shown too
        {"webhook_id": "msg-1", "summary": "REJECTED (401): bad signature"},
        {"webhook_id": "msg-1", "summary": summary(EVENT)},
    ]


def test_the_summary_says_who_got_the_lead_and_why() -> None:
    assert (
        summary(EVENT) == "lead.assigned: ana@acme.example -> Ana Ashworth (fashion-uk, uk-shoes)"
    )


async def test_without_a_subscription_secret_every_delivery_is_refused_and_shown() -> None:
    app = create_sink([])
    body = orjson.dumps(EVENT)
    unsigned = {"webhook-id": "msg-2", "content-type": "application/json"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        assert (await c.post("/hooks", content=body, headers=unsigned)).status_code == 401
        shown = (await c.get("/")).json()
        tally = (await c.get("/tally")).json()
    assert shown == [
        {
            "webhook_id": "msg-2",
            "summary": "REJECTED (401): no subscription secret for this receiver",
        }
    ]
    assert tally == {"accepted": 0, "rejected": 1, "by_type": {}}


async def test_the_tally_counts_each_webhook_id_per_lead_so_a_retry_shows() -> None:
    app = create_sink([SECRET])
    body = orjson.dumps(EVENT)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        for msg in ("msg-1", "msg-1", "msg-3"):
            headers = signed_headers(SECRET, msg, datetime.now(UTC), body)
            assert (await c.post("/hooks", content=body, headers=headers)).status_code == 200
        tally = (await c.get("/tally")).json()
    assert tally == {
        "accepted": 3,
        "rejected": 0,
        "by_type": {"lead.assigned": {"l1": {"msg-1": 2, "msg-3": 1}}},
    }


def test_the_receiver_finds_the_secret_of_the_subscription_that_follows_its_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_WEBHOOK_SINK_PORT", "18123")
    monkeypatch.setenv("LEADFLOW_DEMO_WEBHOOK_SECRET", SECRET)
    assert secrets_for(DEFAULT_CONFIG_FILE, 18123) == [SECRET] * 4  # the demo subscriptions
    assert secrets_for(DEFAULT_CONFIG_FILE, 8099) == []


def test_leadflow_up_makes_the_demo_secret_once_readable_only_by_its_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = demo_secret_env(tmp_path, {})
    path = Path(first["LEADFLOW_DEMO_WEBHOOK_SECRET_FILE"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert demo_secret_env(tmp_path, {}) == first
    secret = path.read_text().strip()
    assert secret.startswith("whsec_") and secret != SECRET
    monkeypatch.setenv("LEADFLOW_WEBHOOK_SINK_PORT", "18123")
    monkeypatch.delenv("LEADFLOW_DEMO_WEBHOOK_SECRET", raising=False)  # the file alone
    monkeypatch.setenv("LEADFLOW_DEMO_WEBHOOK_SECRET_FILE", str(path))
    assert secrets_for(DEFAULT_CONFIG_FILE, 18123) == [secret] * 4


def test_a_demo_secret_the_user_gives_is_not_replaced(tmp_path: Path) -> None:
    assert demo_secret_env(tmp_path, {"LEADFLOW_DEMO_WEBHOOK_SECRET": SECRET}) == {}
    assert demo_secret_env(tmp_path, {"LEADFLOW_DEMO_WEBHOOK_SECRET_FILE": "/x"}) == {}
    assert not (tmp_path / "secrets").exists()
