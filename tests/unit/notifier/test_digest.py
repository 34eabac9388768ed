"""Digests: which period an alert falls in, the lines an event leaves for later, and the one
summary per recipient they become."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from services.notifier import digest
from services.notifier.config import NotifierConfig
from services.notifier.domain import DigestSpec
from services.notifier.recipients import FixedTarget
from services.notifier.subscription_config import SubscriptionConfig
from shared.config import ConfigError, interpolate, validate_section
from tests.unit.notifier.test_alerts import ANA, RULES, channel_sub, envelope, plan

HOURLY_KOLKATA = DigestSpec("hourly", "Asia/Kolkata")  # UTC+05:30: hours start at :30 UTC
DAILY_LONDON = DigestSpec("daily", "Europe/London", time(8, 0))


@pytest.mark.parametrize(
    ("at", "spec", "ends"),
    [
        (datetime(2026, 12, 5, 9, 10, tzinfo=UTC), DigestSpec("hourly"), "2026-12-05T10:00:00"),
        (datetime(2026, 12, 5, 10, 0, tzinfo=UTC), DigestSpec("hourly"), "2026-12-05T11:00:00"),
        (datetime(2026, 12, 5, 9, 10, tzinfo=UTC), HOURLY_KOLKATA, "2026-12-05T09:30:00"),
        (datetime(2026, 12, 5, 9, 40, tzinfo=UTC), HOURLY_KOLKATA, "2026-12-05T10:30:00"),
        # daily at 08:00 London: before 08:00 today's, after it tomorrow's
        (datetime(2026, 12, 5, 7, 59, tzinfo=UTC), DAILY_LONDON, "2026-12-05T08:00:00"),
        (datetime(2026, 12, 5, 8, 0, tzinfo=UTC), DAILY_LONDON, "2026-12-06T08:00:00"),
        # summer time: 08:00 in London is 07:00 UTC; the night the clocks go forward
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), DAILY_LONDON, "2026-07-02T07:00:00"),
        (datetime(2026, 3, 28, 9, 0, tzinfo=UTC), DAILY_LONDON, "2026-03-29T07:00:00"),
    ],
)
def test_an_alert_waits_for_the_end_of_its_period(
    at: datetime, spec: DigestSpec, ends: str
) -> None:
    assert digest.period_end(at, spec) == datetime.fromisoformat(ends + "+00:00")


def test_a_digest_subscription_keeps_lines_instead_of_deliveries() -> None:
    mail = channel_sub(
        "mail", "email", ["lead.sla_breached"], digest=DAILY_LONDON,
        recipients=("rep", FixedTarget(email="ops@example.com", name="Ops")),
    )  # fmt: skip
    teams = channel_sub(
        "teams", "teams", ["lead.sla_breached"], url="https://t", digest=DAILY_LONDON
    )
    env = envelope("lead.sla_breached", rep={"rep_id": "ana", "name": "Ana Silva"})
    p = plan(env, mail, teams)
    assert p.planned == []
    assert sorted((i.subscription, i.recipient) for i in p.digest) == [
        ("mail", "person:ana"),
        ("mail", "to:ops@example.com"),
        ("teams", "channel"),
    ]
    (ana,) = [i for i in p.digest if i.recipient == "person:ana"]
    assert ana.period_end == datetime(2026, 12, 6, 8, tzinfo=UTC)  # 23:30 -> 08:00 tomorrow
    assert ana.title == "SLA breached: Tom Baker"
    assert ana.link == f"http://localhost:8006/leads/{env.data.lead_id}"
    assert digest.person_from_json(ana.person) == ANA


def lines(count: int, recipient: str = "person:ana") -> list[digest.DigestLine]:
    return [
        digest.DigestLine(
            "mail", recipient, f"evt-{i}", f"lead-{i}", f"Alert {i}", "text", f"http://l/{i}",
            ANA, "rep",
        )
        for i in range(count)
    ]  # fmt: skip


ENDS = datetime(2026, 12, 6, 8, tzinfo=UTC)


def test_the_lines_become_one_email_summary() -> None:
    mail = channel_sub("mail", "email", ["lead.sla_breached"], digest=DAILY_LONDON)
    body = orjson.loads(digest.digest_message(mail, lines(3), ENDS, RULES, ENDS, "k"))
    assert body["to"] == ["ana@example.com"]
    parsed = email.message_from_string(body["mime"], policy=email.policy.default)
    assert parsed["Subject"] == "3 Leadflow alerts (mail)"
    plain = parsed.get_body(("plain",))
    assert plain is not None
    assert str(plain.get_content()).splitlines()[:3] == [
        "• Alert 0 http://l/0",
        "• Alert 1 http://l/1",
        "• Alert 2 http://l/2",
    ]


def test_an_sms_and_a_teams_summary() -> None:
    sms = channel_sub("sms", "sms", ["lead.sla_breached"], url="https://sms", digest=DAILY_LONDON)
    form = orjson.loads(digest.digest_message(sms, lines(1), ENDS, RULES, ENDS, "k"))
    assert form == {
        "To": "+447700900123",
        "From": "+15005550006",
        "Body": "1 Leadflow alert (sms)\n• Alert 0 http://l/0",
    }
    teams = channel_sub("teams", "teams", ["lead.sla_breached"], url="https://t")
    card = orjson.loads(digest.digest_message(teams, lines(2), ENDS, RULES, ENDS, "k"))
    assert card["attachments"][0]["content"]["body"][0]["text"] == "2 Leadflow alerts (teams)"


def test_a_summary_key_is_stable_for_the_same_events_and_new_for_late_ones() -> None:
    first = digest.summary_id("mail", ENDS, ["b", "a"])
    assert first == digest.summary_id("mail", ENDS, ["a", "b"])
    assert first.startswith("digest:2026-12-06T08:00:00+00:00:")
    assert digest.summary_id("mail", ENDS, ["c"]) != first


def test_a_quiet_recipient_gets_the_summary_when_quiet_hours_end() -> None:
    night = datetime(2026, 12, 5, 23, 0, tzinfo=UTC)
    assert digest.quiet_until(night, lines(1)[0]) == datetime(2026, 12, 6, 8, tzinfo=UTC)


def validate(section: dict[str, Any]) -> NotifierConfig:
    env = {"S": "whsec_" + "A" * 43 + "="}
    resolved = interpolate(section, env, Path("leadflow.yaml"), ("notifier",))
    return validate_section(
        Path("leadflow.yaml"), {"notifier": resolved}, "notifier", NotifierConfig
    )


def test_digest_config_is_checked() -> None:
    base = {"name": "m", "channel": "email", "events": ["lead.assigned"], "to": ["rep"]}
    ok = SubscriptionConfig.model_validate(
        base | {"digest": {"every": "daily", "timezone": "Europe/Berlin", "at": "07:30"}}
    )
    assert ok.to_domain(None, None, "https://slack").digest == DigestSpec(
        "daily", "Europe/Berlin", time(7, 30)
    )
    for bad, says in (
        ({"every": "weekly"}, "hourly"),
        ({"every": "daily", "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"every": "daily", "at": "8am"}, "HH:MM"),
    ):
        with pytest.raises(ValidationError, match=says):
            SubscriptionConfig.model_validate(base | {"digest": bad})
    hook = {"name": "h", "url": "https://x.example/h", "secret": "${S}", "events": ["e"]}
    with pytest.raises(ConfigError, match="digest is for alerts to people"):
        validate(
            {"subscriptions": [hook | {"events": ["lead.assigned"], "digest": {"every": "hourly"}}]}
        )
