"""The notifier config section: the example validates, and every mistake names its key."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import ipaddress
from pathlib import Path
from typing import Any

import pytest

from services.notifier.config import (
    NotifierConfig,
    load_notifier_config,
    names_to_resolve,
    target_problems,
)
from services.notifier.domain import matching_subscriptions
from shared.config import INLINE_SECRET, ConfigError, interpolate, validate_section
from shared.net.egress import IPAddress

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sections" / "notifier.yaml"
FILE = Path("leadflow.yaml")
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


# Secrets are never in the file: each test secret is a ${NAME} reference whose value sits in
# this environment, as the variable's would.
ENV: dict[str, str] = {}


def _ref(secret: str) -> str:
    name = "SECRET_" + hashlib.sha256(secret.encode()).hexdigest()[:12].upper()
    ENV[name] = secret
    return "${" + name + "}"


def _sub(secret: str = SECRET, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "crm",
        "url": "https://crm.example.com/hooks/leadflow",
        "secret": _ref(secret),
        "events": ["lead.assigned"],
    }
    base.update(overrides)
    return base


def _validate(section: dict[str, Any]) -> NotifierConfig:
    resolved = interpolate(section, ENV, FILE, ("notifier",))
    return validate_section(FILE, {"notifier": resolved}, "notifier", NotifierConfig)


CHANNEL_SECRETS = {
    "LEADFLOW_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/x",
    "LEADFLOW_SLACK_BOT_TOKEN": "xoxb-1",
    "LEADFLOW_TEAMS_WEBHOOK_URL": "https://example.webhook.office.com/webhookb2/x",
    "LEADFLOW_SMS_AUTH_TOKEN": "token",
}


@pytest.fixture(autouse=True)
def _demo_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADFLOW_DEMO_WEBHOOK_SECRET", SECRET)
    for name, value in CHANNEL_SECRETS.items():
        monkeypatch.setenv(name, value)


def test_the_example_loads_without_the_channel_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo starts with none of them: the subscriptions needing them are disabled."""
    for name in CHANNEL_SECRETS:
        monkeypatch.delenv(name)
    config = load_notifier_config(EXAMPLE)
    names = [s.name for s in config.subscriptions]
    assert names == [
        "crm-demo", "sla-alerts", "followup-reminders", "manager-email", "rep-sms",
        "cold-lead-alerts",
    ]  # fmt: skip
    assert config.sms is None and config.smtp is not None


def test_the_example_section_validates() -> None:
    rules = load_notifier_config(EXAMPLE).to_domain()
    crm, sla, followups, slack, turned_hot, dm, teams, mail, sms, cold = rules.subscriptions
    assert [(s.channel, s.enabled) for s in (dm, teams, mail, sms)] == [
        ("slack", False),
        ("teams", False),
        ("email", False),
        ("sms", False),
    ]
    assert dm.bearer == "xoxb-1" and dm.recipients == ("rep", "previous_rep")
    assert mail.recipients == ("manager", "rep")
    assert (crm.name, crm.url, crm.enabled) == (
        "crm-demo",
        "http://127.0.0.1:8099/hooks/leadflow",
        True,
    )
    assert crm.event_types == {
        "io.leadflow.lead.assigned.v1",
        "io.leadflow.nurture.step_due.v1",
    }
    assert crm.secret.startswith("whsec_")
    assert sla.event_types == {
        "io.leadflow.lead.sla_warning.v1",
        "io.leadflow.lead.sla_breached.v1",
    }
    assert (followups.name, followups.url) == (
        "followup-reminders",
        "http://127.0.0.1:8099/hooks/followups",
    )
    assert followups.event_types == {"io.leadflow.lead.followup_due.v1"}
    assert followups.secret == crm.secret
    assert (slack.name, slack.enabled) == ("slack-hot-leads", False)
    assert not rules.egress.refusal("127.0.0.1", ipaddress.ip_address("127.0.0.1"), 8099)
    assert rules.egress.refusal("127.0.0.1", ipaddress.ip_address("127.0.0.1"), 8100)
    assert slack.event_types == {"io.leadflow.lead.qualified.v1"}
    assert (turned_hot.name, turned_hot.enabled) == ("slack-turned-hot", False)
    assert turned_hot.event_types == {"io.leadflow.lead.bucket_changed.v1"}
    assert (cold.name, cold.url, cold.enabled) == (
        "cold-lead-alerts",
        "http://127.0.0.1:8099/hooks/cold",
        True,
    )
    assert cold.event_types == {"io.leadflow.lead.gone_cold.v1"}
    assert (rules.retry.base_s, rules.retry.max_s) == (1, 300)


def test_the_example_hot_lead_condition_reads_the_bucket() -> None:
    slack = load_notifier_config(EXAMPLE).to_domain().subscriptions[3]
    enabled = dataclasses.replace(slack, enabled=True)
    qualified = "io.leadflow.lead.qualified.v1"
    assert matching_subscriptions(qualified, {"bucket": "hot"}, [enabled]) == [enabled]
    assert matching_subscriptions(qualified, {"bucket": "warm"}, [enabled]) == []


def test_the_example_turned_hot_condition_reads_the_new_bucket() -> None:
    """A lead that qualified as warm and turned hot later is caught too, and only then."""
    turned_hot = load_notifier_config(EXAMPLE).to_domain().subscriptions[4]
    enabled = dataclasses.replace(turned_hot, enabled=True)
    changed = "io.leadflow.lead.bucket_changed.v1"
    warm_to_hot = {"from_bucket": "warm", "to_bucket": "hot"}
    hot_to_warm = {"from_bucket": "hot", "to_bucket": "warm"}
    assert matching_subscriptions(changed, warm_to_hot, [enabled]) == [enabled]
    assert matching_subscriptions(changed, hot_to_warm, [enabled]) == []
    assert matching_subscriptions("io.leadflow.lead.qualified.v1", warm_to_hot, [enabled]) == []


def test_an_empty_section_has_no_subscriptions_and_the_default_retry() -> None:
    rules = validate_section(FILE, {}, "notifier", NotifierConfig).to_domain()
    assert rules.subscriptions == ()
    assert (rules.retry.base_s, rules.retry.max_s) == (1.0, 300.0)


def test_subscription_defaults_reach_the_domain() -> None:
    sub = _validate({"subscriptions": [_sub()]}).to_domain().subscriptions[0]
    assert (sub.timeout_s, sub.max_attempts, sub.enabled) == (5.0, 8, True)


@pytest.mark.parametrize(
    "secret",
    [
        SECRET,
        SECRET.rstrip("="),
        "whsec_" + base64.b64encode(bytes(24)).decode(),
        "whsec_" + base64.b64encode(bytes(64)).decode(),
    ],
)
def test_standard_webhooks_secrets_are_accepted(secret: str) -> None:
    sub = _validate({"subscriptions": [_sub(secret=secret)]}).to_domain().subscriptions[0]
    assert sub.secret == secret


def test_the_secret_is_not_shown_in_the_config_repr() -> None:
    config = _validate({"subscriptions": [_sub()]})
    assert SECRET not in repr(config)
    assert SECRET not in repr(config.to_domain())


def test_a_bad_secret_error_does_not_echo_the_secret() -> None:
    secret = "whsec_" + base64.b64encode(b"too-short-secret").decode()
    with pytest.raises(ConfigError) as caught:
        _validate({"subscriptions": [_sub(secret=secret)]})
    assert "decodes to 16 bytes" in str(caught.value)
    assert secret not in str(caught.value)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"webhooks": []}, "notifier.webhooks: Extra inputs are not permitted"),
        (
            {"subscriptions": [_sub(headers={"x": "y"})]},
            "notifier.subscriptions[0].headers: Extra inputs are not permitted",
        ),
        ({"subscriptions": [{"name": "crm"}]}, "notifier.subscriptions[0].events: Field required"),
        (
            {"subscriptions": [{"name": "crm", "events": ["lead.assigned"]}]},
            "notifier.subscriptions[0]: Value error, a webhook subscription needs url",
        ),
        ({"subscriptions": [_sub(name="crm hooks!")]}, "notifier.subscriptions[0].name"),
        (
            {"subscriptions": [_sub(url="ftp://crm.example.com/in")]},
            "notifier.subscriptions[0].url: Value error, must be an http:// or https:// URL",
        ),
        (
            {"subscriptions": [_sub(url="crm.example.com/hooks")]},
            "notifier.subscriptions[0].url: Value error, must be an http:// or https:// URL",
        ),
        (
            {"subscriptions": [_sub(url="https:///hooks")]},
            "notifier.subscriptions[0].url: Value error, has no host",
        ),
        (
            {"subscriptions": [_sub(url="https://crm.example.com/my hooks")]},
            "notifier.subscriptions[0].url: Value error, must not contain spaces",
        ),
        (
            {"subscriptions": [_sub(secret="s3cr3t")]},
            "notifier.subscriptions[0].secret: Value error, must start with 'whsec_'",
        ),
        (
            {"subscriptions": [_sub(secret="whsec_not*base64!")]},
            "notifier.subscriptions[0].secret: Value error, the part after 'whsec_' is not "
            "valid base64",
        ),
        (
            {"subscriptions": [_sub(secret="whsec_")]},
            "notifier.subscriptions[0].secret: Value error, decodes to 0 bytes",
        ),
        (
            {"subscriptions": [_sub(secret="whsec_" + base64.b64encode(bytes(65)).decode())]},
            "notifier.subscriptions[0].secret: Value error, decodes to 65 bytes; Standard "
            "Webhooks secrets are 24 to 64 bytes",
        ),
        (
            {"subscriptions": [_sub(events=["lead.scored"])]},
            "notifier.subscriptions[0].events: Value error, unknown event 'lead.scored'; "
            "use one of lead.assigned, lead.qualified",
        ),
        (
            {"subscriptions": [_sub(events=[])]},
            "notifier.subscriptions[0].events: Tuple should have at least 1 item",
        ),
        (
            {"subscriptions": [_sub(events=["lead.assigned", "lead.assigned"])]},
            "notifier.subscriptions[0].events: Value error, 'lead.assigned' is listed twice",
        ),
        (
            {"subscriptions": [_sub(when={"field": "bucket", "equals": "hot"})]},
            "notifier.subscriptions[0].when: Value error, when.equals: unknown operator",
        ),
        (
            {"subscriptions": [_sub(when={"field": "score", "gt": "high"})]},
            "notifier.subscriptions[0].when: Value error, when.gt: must be a number",
        ),
        (
            {"subscriptions": [_sub(timeout_s=0)]},
            "notifier.subscriptions[0].timeout_s: Input should be greater than 0",
        ),
        (
            {"subscriptions": [_sub(timeout_s=600)]},
            "notifier.subscriptions[0].timeout_s: Input should be less than or equal to 60",
        ),
        (
            {"subscriptions": [_sub(max_attempts=0)]},
            "notifier.subscriptions[0].max_attempts: Input should be greater than or equal to 1",
        ),
        (
            {"subscriptions": [_sub(enabled="sometimes")]},
            "notifier.subscriptions[0].enabled: Input should be a valid boolean",
        ),
        (
            {"subscriptions": [_sub(), _sub(url="https://other.example.com/")]},
            "notifier.subscriptions: Value error, duplicate subscription name 'crm'",
        ),
        (
            {"retry": {"base_s": 5, "max_s": 1}},
            "notifier.retry: Value error, max_s (1.0) must be at least base_s (5.0)",
        ),
        ({"retry": {"base_s": 0}}, "notifier.retry.base_s: Input should be greater than 0"),
        ({"retry": {"jitter": 0.1}}, "notifier.retry.jitter: Extra inputs are not permitted"),
        (
            {"allow_private_targets": ["127.0.0.1:8099", "10.1.2.3/16"]},
            "notifier.allow_private_targets[1]: Value error, '10.1.2.3/16' is not a network in"
            " CIDR notation (10.1.2.3/16 has host bits set); did you mean 10.1.0.0/16?",
        ),
        (
            {"allow_private_targets": ["crm internal"]},
            "notifier.allow_private_targets[0]: Value error, 'crm internal' is not an address,"
            " network or host name",
        ),
        (
            {"allow_private_targets": ["127.0.0.1:http"]},
            "notifier.allow_private_targets[0]: Value error, '127.0.0.1:http': the port must be"
            " a number from 1 to 65535",
        ),
    ],
)
def test_a_config_mistake_is_reported_under_its_key(section: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _validate(section)
    assert f"leadflow.yaml: {expected}" in str(caught.value)


def _problems(
    section: dict[str, Any], resolved: dict[tuple[str, int], list[str]] | None = None
) -> list[str]:
    answers: dict[tuple[str, int], list[IPAddress]] = {
        target: [ipaddress.ip_address(a) for a in addresses]
        for target, addresses in (resolved or {}).items()
    }
    return target_problems(_validate(section), answers)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8099/hooks", "refused: 127.0.0.1 is a loopback address"),
        ("http://10.0.0.1/hooks", "refused: 10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest", "refused: 169.254.169.254 is a cloud metadata address"),
        ("https://[::1]/hooks", "refused: ::1 is a loopback address"),
        ("https://[::ffff:127.0.0.1]/hooks", "refused: ::ffff:127.0.0.1 is a loopback address"),
    ],
)
def test_a_subscription_to_an_internal_address_is_refused_naming_it_and_why(
    url: str, why: str
) -> None:
    (problem,) = _problems({"subscriptions": [_sub(url=url)]})
    assert problem.startswith(f"subscriptions[0].url: subscription 'crm': {why}; allow-list it")


def test_a_disabled_subscription_to_an_internal_address_is_refused_too() -> None:
    section = {"subscriptions": [_sub(url="http://10.0.0.1/hooks", enabled=False)]}
    assert _problems(section) != []


def test_a_name_resolving_to_an_internal_address_is_refused() -> None:
    section = {"subscriptions": [_sub(url="https://crm.example.com/hooks")]}
    (problem,) = _problems(section, {("crm.example.com", 443): ["93.184.215.14", "10.0.0.7"]})
    assert "crm.example.com resolves to 10.0.0.7, which is a private address" in problem


def test_a_name_resolving_to_public_addresses_or_not_yet_at_all_is_accepted() -> None:
    section = {"subscriptions": [_sub(url="https://crm.example.com/hooks")]}
    assert _problems(section, {("crm.example.com", 443): ["93.184.215.14"]}) == []
    assert _problems(section, {}) == []  # unresolved: checked again at delivery


@pytest.mark.parametrize(
    "allow",
    [["127.0.0.1:8099"], ["127.0.0.1"], ["127.0.0.0/8"], ["10.0.0.0/8", "127.0.0.1:8099"]],
)
def test_an_allow_listed_internal_address_is_accepted(allow: list[str]) -> None:
    section = {
        "allow_private_targets": allow,
        "subscriptions": [_sub(url="http://127.0.0.1:8099/hooks")],
    }
    assert _problems(section) == []


def test_an_allow_list_entry_for_another_port_does_not_cover_the_subscription() -> None:
    section = {
        "allow_private_targets": ["127.0.0.1:8100"],
        "subscriptions": [_sub(url="http://127.0.0.1:8099/hooks")],
    }
    assert len(_problems(section)) == 1


def test_only_enabled_subscriptions_with_names_not_vouched_for_are_looked_up() -> None:
    config = _validate(
        {
            "allow_private_targets": ["crm.internal"],
            "subscriptions": [
                _sub(name="a", url="https://crm.example.com/hooks"),
                _sub(name="b", url="http://hooks.example.com:8080/x"),
                _sub(name="c", url="http://10.0.0.1/x"),
                _sub(name="d", url="https://off.example.com/x", enabled=False),
                _sub(name="e", url="https://crm.internal/x"),
            ],
        }
    )
    assert names_to_resolve(config) == [("crm.example.com", 443), ("hooks.example.com", 8080)]


def test_loading_refuses_an_internal_target_with_the_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_TEST_CRM_SECRET", SECRET)
    path = tmp_path / "leadflow.yaml"
    path.write_text(
        "notifier:\n  subscriptions:\n"
        "    - {name: crm, url: 'http://10.0.0.1/x', secret: '${LEADFLOW_TEST_CRM_SECRET}',"
        " events: [lead.assigned]}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_notifier_config(path)
    assert str(caught.value).startswith(
        f"{path}: notifier.subscriptions[0].url: subscription 'crm': refused: 10.0.0.1 is a"
        " private address"
    )


@pytest.mark.parametrize(
    "written",
    [
        SECRET,  # the secret itself
        "whsec_${TAIL}",  # partly a variable
        "${LEADFLOW_UNSET_SECRET:-" + SECRET + "}",  # the secret as a default
    ],
)
def test_a_secret_written_in_the_file_is_refused(written: str) -> None:
    section = {"subscriptions": [{**_sub(), "secret": written}]}
    with pytest.raises(ConfigError) as caught:
        validate_section(
            FILE,
            {"notifier": interpolate(section, {"TAIL": "x"}, FILE, ("notifier",))},
            "notifier",
            NotifierConfig,
        )
    assert str(caught.value) == f"leadflow.yaml: notifier.subscriptions[0].secret: {INLINE_SECRET}"
    assert str(caught.value).startswith(
        "leadflow.yaml: notifier.subscriptions[0].secret: put secrets in an environment"
        " variable (${NAME}) or a file, not in the config"
    )
    assert SECRET not in str(caught.value)


def test_a_secret_comes_from_the_file_its_variable_file_names(tmp_path: Path) -> None:
    secret_file = tmp_path / "crm-secret"
    secret_file.write_text(SECRET + "\n")
    section = {"subscriptions": [{**_sub(), "secret": "${CRM_SECRET}"}]}
    env = {"CRM_SECRET_FILE": str(secret_file)}
    resolved = interpolate(section, env, FILE, ("notifier",))
    config = validate_section(FILE, {"notifier": resolved}, "notifier", NotifierConfig)
    assert config.to_domain().subscriptions[0].secret == SECRET


def test_the_example_file_loads_its_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = "whsec_" + base64.b64encode(bytes(range(32))).decode()
    monkeypatch.setenv("LEADFLOW_DEMO_WEBHOOK_SECRET", other)
    crm = load_notifier_config(EXAMPLE).to_domain().subscriptions[0]
    assert crm.secret == other
