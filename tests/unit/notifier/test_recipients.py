"""Who gets an alert: roles read from the event, the roster, fixed and per-queue addresses,
quiet hours in the recipient's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.notifier.alerts_config import PersonConfig, build_roster
from services.notifier.recipients import (
    FixedTarget,
    Person,
    QuietHours,
    Roster,
    address_for,
    quiet_until,
    resolve_recipients,
)

ROUTING = {
    "reps": [
        {"id": "ana", "name": "Ana Silva", "email": "ana@example.com", "timezone": "Europe/London"},
        {
            "id": "ben",
            "name": "Ben Bryant",
            "email": "ben@example.com",
            "timezone": "Europe/Berlin",
        },
    ],
    "teams": [
        {
            "name": "uk",
            "manager": {"name": "Zoe Grant", "email": "zoe@example.com", "slack_user_id": "UZOE"},
            "members": ["ana", "ben"],
        }
    ],
}
PEOPLE = {
    "ana": PersonConfig(slack_user_id="UANA", phone="+447700900123"),
    "zoe": PersonConfig(email="zoe@example.com", phone="+447700900999", timezone="Europe/London"),
}
ROSTER = build_roster(PEOPLE, ROUTING)


def keys(specs: list[Any], data: dict[str, Any], roster: Roster = ROSTER) -> list[str]:
    return [r.key for r in resolve_recipients(specs, data, roster)]


def test_the_roster_joins_routing_reps_with_the_notifiers_people() -> None:
    ana = ROSTER.people["ana"]
    assert (ana.name, ana.email, ana.timezone) == ("Ana Silva", "ana@example.com", "Europe/London")
    assert (ana.slack_user_id, ana.phone) == ("UANA", "+447700900123")
    assert ROSTER.people["ben"].slack_user_id is None
    assert ROSTER.manager_of["ben"].id == "zoe"  # known by e-mail in notifier.people
    assert ROSTER.manager_of["ben"].phone == "+447700900999"


def test_the_roster_ignores_what_it_cannot_read_in_routing() -> None:
    roster = build_roster({}, {"reps": [{"name": "no id"}, "x", {"id": "cy", "email": "${X}"}]})
    assert list(roster.people) == ["cy"]
    assert roster.people["cy"].email is None
    assert build_roster({}, None).people == {}


def test_the_assigned_rep_is_found_in_the_roster() -> None:
    (rep,) = resolve_recipients(["rep"], {"rep": {"rep_id": "ana", "name": "A"}}, ROSTER)
    assert (rep.key, rep.role, rep.person.slack_user_id) == ("person:ana", "rep", "UANA")


def test_a_rep_the_roster_does_not_know_is_reached_by_the_events_own_details() -> None:
    data = {"rep": {"rep_id": "new", "name": "Nia New", "email": "nia@example.com"}}
    (rep,) = resolve_recipients(["rep"], data, ROSTER)
    assert (rep.person.name, rep.person.email, rep.person.slack_user_id) == (
        "Nia New",
        "nia@example.com",
        None,
    )


def test_what_the_event_says_of_a_rep_wins_over_the_config_files_start_up_copy() -> None:
    """A rep changed through the router's admin API: the router names them as they are now,
    the notifier's copy of the config file is from its start-up."""
    data = {
        "rep": {
            "rep_id": "ana",
            "name": "Ana Costa",
            "email": "ana.costa@example.com",
            "timezone": "America/New_York",
        }
    }
    (rep,) = resolve_recipients(["rep"], data, ROSTER)
    person = rep.person
    assert (person.name, person.email, person.timezone) == (
        "Ana Costa",
        "ana.costa@example.com",
        "America/New_York",
    )
    assert (person.slack_user_id, person.phone) == ("UANA", "+447700900123")  # notifier's own


def test_what_notifier_people_sets_for_a_rep_wins_over_the_event() -> None:
    roster = build_roster({"ana": PersonConfig(email="ana.alerts@example.com")}, ROUTING)
    data = {"rep": {"rep_id": "ana", "name": "Ana Costa", "email": "ana.costa@example.com"}}
    (rep,) = resolve_recipients(["rep"], data, roster)
    assert (rep.person.name, rep.person.email) == ("Ana Costa", "ana.alerts@example.com")


def test_an_event_that_says_less_leaves_the_rosters_details() -> None:
    """A removed rep is named by id only; an unknown zone is not taken."""
    data = {"rep": {"rep_id": "ana", "name": "ana", "email": None, "timezone": "Mars/Olympus"}}
    (rep,) = resolve_recipients(["rep"], data, ROSTER)
    assert (rep.person.name, rep.person.email, rep.person.timezone) == (
        "Ana Silva",
        "ana@example.com",
        "Europe/London",
    )


def test_a_reassignment_reaches_the_new_and_the_previous_owner_and_their_manager() -> None:
    data = {
        "rep": {"rep_id": "ben", "name": "Ben"},
        "previous_rep": {"rep_id": "ana", "name": "Ana"},
        "reassigned": True,
    }
    assert keys(["rep", "previous_rep", "manager"], data) == [
        "person:ben",
        "person:ana",
        "person:zoe",
    ]


def test_the_manager_comes_from_the_events_team_first() -> None:
    data = {
        "rep": {"rep_id": "ana", "name": "Ana"},
        "team": {"name": "dach", "manager": {"name": "Kat", "email": "kat@example.com"}},
    }
    (manager,) = resolve_recipients(["manager"], data, ROSTER)
    assert (manager.key, manager.person.email) == ("person:manager:dach", "kat@example.com")


def test_missing_roles_are_skipped_and_one_person_is_alerted_once() -> None:
    data = {"rep": {"rep_id": "ana", "name": "Ana"}, "previous_rep": None}
    assert keys(["rep", "previous_rep", "rep"], data) == ["person:ana"]
    assert keys(["manager"], {"lead_id": "x"}) == []


def test_a_fixed_address_can_be_for_one_queue_only() -> None:
    specs = [FixedTarget(email="uk@example.com", queue="fashion-uk"), FixedTarget(slack="C1")]
    assert keys(specs, {"queue": "fashion-uk"}) == ["to:uk@example.com", "to:C1"]
    assert keys(specs, {"queue": "fashion-de"}) == ["to:C1"]
    assert keys(specs, {"trace": {"queue": "fashion-uk"}}) == ["to:uk@example.com", "to:C1"]


@pytest.mark.parametrize(
    ("channel", "expected"),
    [("email", "ana@example.com"), ("sms", "+447700900123"), ("slack", "UANA"), ("teams", None)],
)
def test_each_channel_reaches_a_person_at_its_own_address(
    channel: str, expected: str | None
) -> None:
    assert address_for(channel, ROSTER.people["ana"]) == expected


LONDON_NIGHT = Person("p", timezone="Europe/London", quiet_hours=QuietHours(21 * 60, 8 * 60))


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (datetime(2026, 12, 5, 22, 30, tzinfo=UTC), datetime(2026, 12, 6, 8, tzinfo=UTC)),
        (datetime(2026, 12, 5, 6, 0, tzinfo=UTC), datetime(2026, 12, 5, 8, tzinfo=UTC)),
        (datetime(2026, 12, 5, 8, 0, tzinfo=UTC), None),
        (datetime(2026, 12, 5, 20, 59, tzinfo=UTC), None),
        # Summer time: 21:00 in London is 20:00 UTC, and quiet ends 07:00 UTC.
        (datetime(2026, 7, 1, 20, 30, tzinfo=UTC), datetime(2026, 7, 2, 7, tzinfo=UTC)),
    ],
)
def test_quiet_hours_hold_an_alert_until_they_end_in_the_recipients_zone(
    now: datetime, until: datetime | None
) -> None:
    assert quiet_until(now, LONDON_NIGHT) == until


def test_quiet_hours_within_one_day_and_none_at_all() -> None:
    lunch = Person("p", timezone="Asia/Tokyo", quiet_hours=QuietHours(12 * 60, 13 * 60))
    at = datetime(2026, 12, 5, 3, 30, tzinfo=UTC)  # 12:30 in Tokyo
    assert quiet_until(at, lunch) == datetime(2026, 12, 5, 4, tzinfo=UTC)
    assert quiet_until(at, Person("p")) is None
