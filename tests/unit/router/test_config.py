"""The routing config validates on load and names the key of every problem."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.router.config.model import RoutingConfig, load_routing_config, to_domain
from services.router.domain.model import DateRange, Escalation, OwnerMatch, SlaPolicy, WorkingHours
from shared.conditions import ALWAYS, Leaf
from shared.config import ConfigError, duration_text, parse_duration, validate_section

CONFIG_FILE = Path("leadflow.yaml")

VALID: dict[str, Any] = {
    "reps": [
        {
            "id": "ana",
            "name": "Ana",
            "email": "ana@example.com",
            "timezone": "Europe/London",
            "working_hours": {"days": ["Mon", "tue"], "start": "09:00", "end": "17:30"},
            "holidays": ["2026-12-25"],
            "out_of_office": [{"from": "2026-08-03", "to": "2026-08-14"}],
            "languages": ["EN", "de"],
            "skills": ["Enterprise"],
            "weight": 3,
            "max_open": 10,
            "max_per_day": 5,
        },
        {"id": "ben", "name": "Ben", "timezone": "America/New_York"},
    ],
    "queues": [
        {
            "name": "fashion-uk",
            "department": "fashion",
            "region": "uk",
            "members": ["ana", "ben"],
            "strategy": "weighted_round_robin",
            "required_skills": ["enterprise"],
            "match_language": True,
            "fallback": "general-global",
            "sla": {
                "first_contact": "30m",
                "by_bucket": {"Hot": "5m"},
                "warn_before": "2m",
                "business_hours": True,
                "max_attempts": 2,
                "then": {"queue": "general-global"},
            },
        },
        {"name": "general-global", "department": "general", "region": "global", "members": ["ben"]},
    ],
    "rules": [
        {"name": "uk", "when": {"field": "country", "eq": "GB"}, "queue": "fashion-uk"},
        {"name": "everything", "queue": "general-global"},
    ],
    "default_queue": "general-global",
}


def validate(data: dict[str, Any]) -> RoutingConfig:
    return validate_section(CONFIG_FILE, {"routing": data}, "routing", RoutingConfig)


def with_change(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """VALID with the value at ``path`` replaced (or removed when value is ...)."""
    data = copy.deepcopy(VALID)
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


def test_valid_config_converts_to_frozen_domain_values() -> None:
    routing = to_domain(validate(VALID))
    ana = routing.reps["ana"]
    assert list(routing.reps) == ["ana", "ben"]
    assert ana.timezone == ZoneInfo("Europe/London")
    assert ana.working_hours == WorkingHours(frozenset({0, 1}), 9 * 60, 17 * 60 + 30)
    assert ana.holidays == frozenset({date(2026, 12, 25)})
    assert ana.out_of_office == (DateRange(date(2026, 8, 3), date(2026, 8, 14)),)
    assert ana.languages == frozenset({"en", "de"})
    assert ana.skills == frozenset({"enterprise"})
    assert (ana.weight, ana.max_open, ana.max_per_day) == (3, 10, 5)
    assert routing.reps["ben"].working_hours is None
    queue = routing.queues["fashion-uk"]
    assert queue.members == ("ana", "ben")
    assert queue.strategy == "weighted_round_robin"
    assert queue.required_skills == frozenset({"enterprise"})
    assert (queue.match_language, queue.fallback) == (True, "general-global")
    assert queue.sla == SlaPolicy(
        first_contact=timedelta(minutes=30),
        by_bucket=(("hot", timedelta(minutes=5)),),
        warn_before=timedelta(minutes=2),
        business_hours=True,
        max_attempts=2,
        then=Escalation(queue="general-global"),
    )
    assert routing.queues["general-global"].sla is None
    assert routing.queues["general-global"].strategy == "round_robin"
    assert routing.rules[0].when == Leaf("country", "eq", "gb")
    assert routing.rules[1].when == ALWAYS
    assert routing.default_queue == "general-global"
    assert routing.nurture_buckets == frozenset({"nurture"})


def test_working_hours_default_to_monday_to_friday() -> None:
    data = with_change(("reps", 0, "working_hours"), {"start": "09:00", "end": "24:00"})
    hours = to_domain(validate(data)).reps["ana"].working_hours
    assert hours == WorkingHours(frozenset(range(5)), 9 * 60, 24 * 60)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("queues", 1, "members", 0),
            "zed",
            "routing.queues[1].members[0]: unknown rep 'zed'",
        ),
        (
            ("queues", 0, "members"),
            ["ana", "ben", "ana"],
            "routing.queues[0].members[2]: rep 'ana' listed twice",
        ),
        (("queues", 0, "members"), [], "routing.queues[0].members: List should have at least 1"),
        (("rules", 0, "queue"), "nope", "routing.rules[0].queue: unknown queue 'nope'"),
        (("queues", 0, "fallback"), "nope", "routing.queues[0].fallback: unknown queue 'nope'"),
        (("default_queue",), "nope", "routing.default_queue: unknown queue 'nope'"),
        (("default_queue",), ..., "routing.default_queue: Field required"),
        (("reps", 1, "id"), "ana", "routing.reps[1].id: duplicate rep id 'ana' (also reps[0])"),
        (
            ("queues", 1, "name"),
            "fashion-uk",
            "routing.queues[1].name: duplicate queue name 'fashion-uk' (also queues[0])",
        ),
        (
            ("rules", 1, "name"),
            "uk",
            "routing.rules[1].name: duplicate rule name 'uk' (also rules[0])",
        ),
        (("rules", 1, "name"), "default", "routing.rules[1].name: rule name 'default' is reserved"),
        (
            ("queues", 1, "fallback"),
            "fashion-uk",
            "routing.queues[0].fallback: fallback cycle: "
            "fashion-uk -> general-global -> fashion-uk",
        ),
        (
            ("queues", 1, "fallback"),
            "general-global",
            "routing.queues[1].fallback: fallback cycle: general-global -> general-global",
        ),
        (
            ("reps", 0, "timezone"),
            "Europe/Londn",
            "routing.reps[0].timezone: unknown time zone 'Europe/Londn' (use an IANA name",
        ),
        (
            ("reps", 0, "working_hours", "start"),
            "18:00",
            "routing.reps[0].working_hours.start: start 18:00 must be before end 17:30",
        ),
        (
            ("reps", 0, "working_hours", "end"),
            "09:00",
            "routing.reps[0].working_hours.start: start 09:00 must be before end 09:00",
        ),
        (
            ("reps", 0, "working_hours", "end"),
            "25:00",
            "routing.reps[0].working_hours.end: must be a time as HH:MM, got '25:00'",
        ),
        (
            ("reps", 0, "working_hours", "days"),
            ["mon", "funday"],
            "routing.reps[0].working_hours.days[1]: Input should be 'mon', 'tue'",
        ),
        (
            ("reps", 0, "working_hours", "days"),
            ["mon", "mon"],
            "routing.reps[0].working_hours.days: day listed twice: mon",
        ),
        (
            ("reps", 0, "out_of_office", 0, "to"),
            "2026-08-01",
            "routing.reps[0].out_of_office[0].to: 2026-08-01 is before from 2026-08-03",
        ),
        (
            ("reps", 0, "languages"),
            ["en", "eng"],
            "routing.reps[0].languages[1]: must be an ISO 639-1 language code like 'de'",
        ),
        (("reps", 0, "weight"), 0, "routing.reps[0].weight: Input should be greater than or"),
        (("reps", 0, "max_open"), 0, "routing.reps[0].max_open: Input should be greater than"),
        (("reps", 0, "email"), "not-an-email", "routing.reps[0].email: value is not a valid"),
        (("reps", 0, "nickname"), "Annie", "routing.reps[0].nickname: Extra inputs are not"),
        (("queues", 0, "name"), "Fashion UK", "routing.queues[0].name: String should match"),
        (("queues", 0, "strategy"), "random", "routing.queues[0].strategy: Input should be"),
        (
            ("queues", 0, "required_skills"),
            ["enterprise", "retail"],
            "routing.queues[0].required_skills[1]: no member of fashion-uk has skill 'retail'",
        ),
        (
            ("rules", 0, "when"),
            {"field": "country", "in": []},
            "routing.rules[0].when: in: must be a non-empty list",
        ),
        (
            ("rules", 0, "when"),
            {"all": [{"field": "country", "between": [1, 2]}]},
            "routing.rules[0].when: all[0].between: unknown operator",
        ),
        (
            ("rules", 0, "when"),
            {"field": "contry", "eq": "GB"},
            "routing.rules[0].when: unknown field 'contry'; use one of",
        ),
        (
            ("rules", 0, "when"),
            {"field": "nested.thing", "eq": "x"},
            "routing.rules[0].when: unknown field 'nested.thing'",
        ),
        (("rules", 0, "when"), {}, "routing.rules[0].when: needs 'field' and one operator"),
        (
            ("queues", 0, "sla", "first_contact"),
            "15",
            "routing.queues[0].sla.first_contact: invalid duration '15' (write a number and a unit",
        ),
        (
            ("queues", 0, "sla", "first_contact"),
            15,
            "routing.queues[0].sla.first_contact: 15 has no unit; write a number and a unit",
        ),
        (
            ("queues", 0, "sla", "first_contact"),
            "0s",
            "routing.queues[0].sla.first_contact: must be longer than zero, got '0s'",
        ),
        (
            ("queues", 0, "sla", "by_bucket"),
            {"hot": "soon"},
            "routing.queues[0].sla.by_bucket.hot: invalid duration 'soon'",
        ),
        (
            ("queues", 0, "sla", "warn_before"),
            "5m",
            "routing.queues[0].sla.warn_before: warn_before 5m must be shorter than "
            "by_bucket.hot 5m",
        ),
        (
            ("queues", 0, "sla", "warn_before"),
            "1h",
            "routing.queues[0].sla.warn_before: warn_before 1h must be shorter than "
            "first_contact 30m",
        ),
        (
            ("queues", 0, "sla", "max_attempts"),
            0,
            "routing.queues[0].sla.max_attempts: Input should be greater than or equal to 1",
        ),
        (
            ("queues", 0, "sla", "then"),
            {"queue": "general-global", "rep": "ana"},
            "routing.queues[0].sla.then: name one target: a queue, a rep or the owner's manager,"
            " e.g. {queue: general-global}, {rep: zoe} or {manager: true}",
        ),
        (("queues", 0, "sla", "then"), {}, "routing.queues[0].sla.then: name one target"),
        (
            ("queues", 0, "sla", "then"),
            {"queue": "nope"},
            "routing.queues[0].sla.then.queue: unknown queue 'nope'",
        ),
        (
            ("queues", 0, "sla", "then"),
            {"queue": "fashion-uk"},
            "routing.queues[0].sla.then.queue: fashion-uk escalates to itself; name a pool queue",
        ),
        (
            ("queues", 0, "sla", "then"),
            {"rep": "zed"},
            "routing.queues[0].sla.then.rep: unknown rep 'zed'",
        ),
        (
            ("queues", 0, "sla", "by_bucket"),
            {"nurture": "1h"},
            "routing.queues[0].sla.by_bucket.nurture: bucket 'nurture' is a nurture bucket",
        ),
        (
            ("queues", 0, "sla", "escalate_to"),
            "ana",
            "routing.queues[0].sla.escalate_to: Extra inputs are not permitted",
        ),
        (
            ("queues", 0, "sla_minutes"),
            30,
            "routing.queues[0].sla_minutes: give sla or sla_minutes (its old spelling), not both",
        ),
    ],
)
def test_invalid_config_names_the_key_and_the_problem(
    path: tuple[str | int, ...], value: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        validate(with_change(path, value))
    assert f"{CONFIG_FILE}: {message}" in str(caught.value)


def test_every_reference_problem_is_reported_at_once() -> None:
    data = with_change(("rules", 0, "queue"), "nope")
    data["queues"][1]["members"] = ["zed"]
    with pytest.raises(ConfigError) as caught:
        validate(data)
    lines = str(caught.value).splitlines()
    assert lines == [
        "leadflow.yaml: routing.queues[1].members[0]: unknown rep 'zed'",
        "leadflow.yaml: routing.rules[0].queue: unknown queue 'nope'",
    ]


def test_missing_routing_section_says_what_is_required() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_section(CONFIG_FILE, {}, "routing", RoutingConfig)
    assert "routing.reps: Field required" in str(caught.value)
    assert "routing.default_queue: Field required" in str(caught.value)


def test_rule_may_use_utm_attributes_score_and_bucket() -> None:
    data = with_change(
        ("rules", 0, "when"),
        {
            "all": [
                {"field": "utm.source", "eq": "google"},
                {"field": "attributes.budget", "gte": 1000},
                {"field": "score", "gte": 50},
                {"not": {"field": "bucket", "eq": "cold"}},
            ]
        },
    )
    assert len(to_domain(validate(data)).rules) == 2


def test_nurture_buckets_are_configurable_and_lower_cased() -> None:
    data = with_change(("nurture_buckets",), ["Nurture", "cold"])
    assert to_domain(validate(data)).nurture_buckets == frozenset({"nurture", "cold"})


def test_load_routing_config_reads_the_routing_section(tmp_path: Path) -> None:
    path = tmp_path / "leadflow.yaml"
    path.write_text("routing:\n  reps: []\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_routing_config(path)
    assert f"{path}: routing.reps: List should have at least 1 item" in str(caught.value)


def test_sla_may_be_just_a_duration_with_defaults_for_the_rest() -> None:
    data = with_change(("queues", 0, "sla"), "15m")
    assert to_domain(validate(data)).queues["fashion-uk"].sla == SlaPolicy(
        first_contact=timedelta(minutes=15),
        by_bucket=(),
        warn_before=None,
        business_hours=False,
        max_attempts=3,
        then=None,
    )


def test_sla_minutes_is_the_old_spelling_of_first_contact() -> None:
    data = with_change(("queues", 0, "sla"), ...)
    data["queues"][0]["sla_minutes"] = 45
    sla = to_domain(validate(data)).queues["fashion-uk"].sla
    assert sla == SlaPolicy(first_contact=timedelta(minutes=45))


def test_sla_can_escalate_to_a_named_rep() -> None:
    data = with_change(("queues", 0, "sla", "then"), {"rep": "ben"})
    sla = to_domain(validate(data)).queues["fashion-uk"].sla
    assert sla is not None and sla.then == Escalation(rep="ben")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2s", 2),
        ("15m", 900),
        ("1h30m", 5400),
        ("1.5h", 5400),
        ("1d", 86400),
        ("1w", 604800),
        (" 2S ", 2),
    ],
)
def test_durations_are_a_number_and_a_unit(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "15", "m", "15 m", "-5m", "5y", "1h 30m"])
def test_durations_without_a_unit_or_with_an_unknown_one_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(2, "2s"), (900, "15m"), (5400, "1h30m"), (90061, "1d1h1m1s")]
)
def test_duration_text_is_the_shortest_spelling(seconds: int, text: str) -> None:
    assert duration_text(timedelta(seconds=seconds)) == text


@pytest.mark.parametrize(
    ("routing_level", "queue_level", "default", "fashion_uk"),
    [
        (..., ..., None, None),
        (["email_domain", "company"], ..., OwnerMatch(("email_domain", "company")), None),
        (
            {"by": ["Company"], "owner_is": "contacted"},
            [],
            OwnerMatch(("company",), "contacted"),
            OwnerMatch(()),
        ),
        (False, ["email_domain"], OwnerMatch(()), OwnerMatch(("email_domain",))),
    ],
)
def test_owner_match_is_set_for_every_queue_or_one_queue(
    routing_level: Any, queue_level: Any, default: Any, fashion_uk: Any
) -> None:
    data = copy.deepcopy(VALID)
    if routing_level is not ...:
        data["owner_match"] = routing_level
    if queue_level is not ...:
        data["queues"][0]["owner_match"] = queue_level
    routing = to_domain(validate(data))
    assert routing.owner_match == default
    assert routing.queues["fashion-uk"].owner_match == fashion_uk
    assert routing.queues["general-global"].owner_match is None


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("owner_match",),
            ["email_domain", "phone"],
            "routing.owner_match.by[1]: unknown account key 'phone'; use email_domain or company",
        ),
        (
            ("queues", 0, "owner_match"),
            ["company", "company"],
            "routing.queues[0].owner_match.by: account key listed twice: company",
        ),
        (
            ("owner_match",),
            {"by": ["company"], "owner_is": "emailed"},
            "routing.owner_match.owner_is: Input should be 'assigned' or 'contacted'",
        ),
        (("owner_match",), "company", "routing.owner_match: Input should be a valid dictionary"),
    ],
)
def test_owner_match_problems_are_named_at_their_key(
    path: tuple[str | int, ...], value: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        validate(with_change(path, value))
    assert message in str(exc.value)
