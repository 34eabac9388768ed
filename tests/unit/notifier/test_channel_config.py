"""Channel subscriptions in the config: each channel's target, secrets only by reference,
recipients, providers, templates refused at load, the SSRF guard on every HTTP channel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.notifier.config import (
    NotifierConfig,
    load_notifier_config,
    target_problems,
)
from services.notifier.recipients import FixedTarget
from shared.config import INLINE_SECRET, ConfigError, interpolate, validate_section

FILE = Path("leadflow.yaml")
ENV = {
    "SLACK_HOOK": "https://hooks.slack.com/services/T000/B000/XXXX",
    "SLACK_BOT": "xoxb-123-456",
    "TEAMS_HOOK": "https://example.webhook.office.com/webhookb2/abc",
    "SMTP_PASSWORD": "pw",
    "SMS_TOKEN": "tok",
}
SMTP = {"host": "smtp.example.com", "port": 587, "password": "${SMTP_PASSWORD}",
        "username": "alerts", "from": "Leadflow <alerts@example.com>"}  # fmt: skip
SMS = {"account_sid": "AC1", "auth_token": "${SMS_TOKEN}", "from": "+15005550006"}


def validate(section: dict[str, Any]) -> NotifierConfig:
    resolved = interpolate(section, ENV, FILE, ("notifier",))
    return validate_section(FILE, {"notifier": resolved}, "notifier", NotifierConfig)


def sub(channel: str, **fields: Any) -> dict[str, Any]:
    return {"name": f"{channel}-alerts", "channel": channel, "events": ["lead.assigned"], **fields}


def refused(section: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        validate(section)
    return str(caught.value)


def test_every_channel_reaches_the_domain_with_its_target_and_credentials() -> None:
    config = validate(
        {
            "smtp": SMTP,
            "sms": SMS,
            "subscriptions": [
                sub("slack", slack={"webhook_url": "${SLACK_HOOK}"}, to=["rep"]),
                sub("slack", name="dm", slack={"bot_token": "${SLACK_BOT}"}, to=["rep"]),
                sub("teams", teams={"url": "${TEAMS_HOOK}"}),
                sub("email", to=["manager", {"email": "ops@example.com", "queue": "q1"}]),
                sub("sms", to=["rep"]),
            ],
        }
    )
    hook, dm, teams, mail, sms = config.to_domain().subscriptions
    assert (hook.url, hook.shown_target) == (ENV["SLACK_HOOK"], "slack:incoming-webhook")
    assert (dm.url, dm.bearer) == ("https://slack.com/api/chat.postMessage", "xoxb-123-456")
    assert (teams.url, teams.shown_target) == (ENV["TEAMS_HOOK"], "teams:webhook")
    assert mail.shown_target == "smtp://smtp.example.com:587"
    assert mail.recipients == ("manager", FixedTarget(email="ops@example.com", queue="q1"))
    assert sms.url == "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
    assert sms.basic_auth == ("AC1", "tok")
    for s in (hook, dm, teams, sms):
        assert "XXXX" not in repr(s) and "xoxb" not in repr(s) and "tok" not in repr(s)
    rules = config.alert_rules()
    assert rules.smtp is not None and rules.smtp.password == "pw"
    assert rules.sms_from == "+15005550006"
    assert rules.urgent == frozenset({"lead.sla_breached"})


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            {"subscriptions": [sub("slack", slack={"webhook_url": ENV["SLACK_HOOK"]})]},
            "notifier.subscriptions[0].slack.webhook_url: " + INLINE_SECRET,
        ),
        (
            {"subscriptions": [sub("teams", teams={"url": ENV["TEAMS_HOOK"]})]},
            "notifier.subscriptions[0].teams.url: " + INLINE_SECRET,
        ),
        (
            {"smtp": {**SMTP, "password": "hunter2"}},
            "notifier.smtp.password: " + INLINE_SECRET,
        ),
        ({"sms": {**SMS, "auth_token": "tok"}}, "notifier.sms.auth_token: " + INLINE_SECRET),
        (
            {"subscriptions": [sub("slack", slack={})]},
            "notifier.subscriptions[0].slack: Value error, give exactly one of webhook_url or"
            " bot_token",
        ),
        (
            {"subscriptions": [sub("slack", slack={"bot_token": "${SLACK_BOT}"})]},
            "notifier.subscriptions[0]: Value error, a slack subscription needs to",
        ),
        (
            {"subscriptions": [sub("teams")]},
            "notifier.subscriptions[0]: Value error, a teams subscription needs teams",
        ),
        (
            {"subscriptions": [sub("email", to=["rep"])]},
            "notifier: Value error, subscription 'email-alerts' sends e-mail: configure smtp",
        ),
        (
            {"sms": SMS, "subscriptions": [sub("sms")]},
            "notifier.subscriptions[0]: Value error, a sms subscription needs to",
        ),
        (
            {"subscriptions": [sub("teams", teams={"url": "${TEAMS_HOOK}"}, url="https://x.io")]},
            "notifier.subscriptions[0]: Value error, url is not used by a teams subscription",
        ),
        (
            {"subscriptions": [sub("email", to=["boss"])]},
            "notifier.subscriptions[0].to[0]",
        ),
        (
            {"subscriptions": [sub("email", to=[{"queue": "q1"}])]},
            "give an email, phone or slack address",
        ),
        (
            {"people": {"ana": {"phone": "07700 900123"}}},
            "notifier.people.ana.phone: String should match pattern",
        ),
        (
            {"people": {"ana": {"timezone": "Mars/Olympus"}}},
            "notifier.people.ana.timezone: Value error, unknown time zone 'Mars/Olympus'",
        ),
        (
            {"people": {"ana": {"quiet_hours": {"start": "9pm", "end": "08:00"}}}},
            "notifier.people.ana.quiet_hours.start: Value error, must be a time as HH:MM",
        ),
        ({"urgent": ["lead.sla_late"]}, "notifier.urgent: Value error, unknown alert kind"),
        (
            {"templates": {"lead.sla_breached": {"email": {"subject": "{{ team.manger.name }}"}}}},
            "notifier.templates: Value error, template lead.sla_breached.email.subject:"
            " 'dict object' has no attribute 'manger'",
        ),
        (
            {"templates": {"lead.captured": {"text": "{{ ''.__class__.__mro__ }}"}}},
            "notifier.templates: Value error, template lead.captured.text: access to attribute"
            " '__class__' of 'str' object is unsafe",
        ),
    ],
)
def test_a_channel_mistake_is_reported_under_its_key(
    section: dict[str, Any], expected: str
) -> None:
    assert expected in refused(section)


def test_a_secret_url_is_never_quoted_in_an_error() -> None:
    env_url = "ftp://hooks.slack.com/secret-path"
    section = {"subscriptions": [sub("slack", slack={"webhook_url": "${BAD}"})]}
    with pytest.raises(ConfigError) as caught:
        validate_section(
            FILE,
            {"notifier": interpolate(section, {"BAD": env_url}, FILE, ("notifier",))},
            "notifier",
            NotifierConfig,
        )
    assert "secret-path" not in str(caught.value)
    assert "must be an http:// or https:// URL, got (the secret URL)" in str(caught.value)


def test_the_ssrf_guard_covers_slack_teams_and_sms_urls() -> None:
    hook = {"SLACK_HOOK": "http://10.0.0.5/hook", "TEAMS_HOOK": "http://127.0.0.1:9/x"}
    section = {
        "sms": {**SMS, "url": "http://169.254.169.254/{account_sid}"},
        "smtp": SMTP,
        "subscriptions": [
            sub("slack", slack={"webhook_url": "${SLACK_HOOK}"}),
            sub("teams", teams={"url": "${TEAMS_HOOK}"}),
            sub("sms", to=["rep"]),
            sub("email", to=["rep"]),
        ],
    }
    resolved = interpolate(section, {**ENV, **hook}, FILE, ("notifier",))
    config = validate_section(FILE, {"notifier": resolved}, "notifier", NotifierConfig)
    problems = target_problems(config, {})
    assert [p.split(":")[0] for p in problems] == [
        "subscriptions[0].slack",
        "subscriptions[1].teams.url",
        "subscriptions[2].sms.url",
    ]
    assert "private" in problems[0] and "loopback" in problems[1]
    assert "metadata" in problems[2]


def test_a_disabled_subscription_whose_variables_are_unset_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEADFLOW_TEST_UNSET_HOOK", raising=False)
    path = tmp_path / "leadflow.yaml"
    slack = {"webhook_url": "${LEADFLOW_TEST_UNSET_HOOK}"}
    path.write_text(
        yaml.safe_dump({"notifier": {"subscriptions": [sub("slack", slack=slack, enabled=False)]}})
    )
    assert load_notifier_config(path).subscriptions == ()
    path.write_text(yaml.safe_dump({"notifier": {"subscriptions": [sub("slack", slack=slack)]}}))
    with pytest.raises(ConfigError, match=r"\$\{LEADFLOW_TEST_UNSET_HOOK\} is not set"):
        load_notifier_config(path)


def test_what_sends_nothing_needs_no_secret_but_what_is_enabled_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_TEST_EMPTY_HOOK", "")  # Compose passes unset ones empty
    monkeypatch.delenv("LEADFLOW_TEST_UNSET_PW", raising=False)
    path = tmp_path / "leadflow.yaml"
    smtp = {**SMTP, "password": "${LEADFLOW_TEST_UNSET_PW}"}
    slack = {"webhook_url": "${LEADFLOW_TEST_EMPTY_HOOK}"}
    mail = sub("email", to=["rep"], enabled="${LEADFLOW_TEST_MAIL_ON:-false}")
    section = {"smtp": smtp, "subscriptions": [sub("slack", slack=slack, enabled=False), mail]}
    path.write_text(yaml.safe_dump({"notifier": section}))
    config = load_notifier_config(path)
    assert [(s.name, s.enabled) for s in config.subscriptions] == [("email-alerts", False)]
    assert config.smtp is None  # left out: nothing sends e-mail
    monkeypatch.setenv("LEADFLOW_TEST_MAIL_ON", "true")
    with pytest.raises(ConfigError, match=r"\$\{LEADFLOW_TEST_UNSET_PW\} is not set"):
        load_notifier_config(path)  # now e-mail is sent: its password must be given
