"""Who an alert goes to: recipients resolved per event, and their quiet hours.

A subscription's ``to`` lists roles and fixed addresses. Roles are read from the event:

- ``rep``: the rep who owns the lead in the event (``data.rep``);
- ``previous_rep``: the rep the lead was taken from, on a reassignment (``data.previous_rep``);
- ``manager``: the owner's team manager, from the event (SLA events carry ``team.manager``)
  or else from the roster's teams (the manager of ``rep``'s, then ``previous_rep``'s, team);
- a fixed entry (``{email: ..., phone: ..., slack: ...}``), optionally only for events of one
  queue (``queue: fashion-uk``).

People's contact details come from what the event says (the router names a rep with their
name, e-mail and time zone, and the owner's team with its manager, from its routing config
as it is *now*, admin API changes included) and from the :class:`Roster` (built from
``notifier.people`` and, for what events do not carry, from the config file's
``routing.reps`` and ``routing.teams``, see :mod:`services.notifier.config`). Precedence: what
``notifier.people`` sets for someone, then the event, then the config file's routing section,
which is only a start-up copy and goes stale when reps change through the router's API.

Pure functions over frozen dataclasses: the caller passes the time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Role = Literal["rep", "previous_rep", "manager", "fixed"]
ROLES: tuple[str, ...] = ("rep", "previous_rep", "manager")
_REP_ROLES: dict[str, Role] = {"rep": "rep", "previous_rep": "previous_rep"}


@dataclass(frozen=True)
class QuietHours:
    """Local minutes of the day when a person is not to be disturbed; ``start > end`` wraps
    midnight (21:00-08:00)."""

    start: int
    end: int


@dataclass(frozen=True)
class Person:
    """How to reach someone: any of e-mail, Slack member id and phone, in a time zone."""

    id: str
    name: str | None = None
    email: str | None = field(default=None, repr=False)
    slack_user_id: str | None = None
    phone: str | None = field(default=None, repr=False)
    timezone: str | None = None
    quiet_hours: QuietHours | None = None


@dataclass(frozen=True)
class Roster:
    """The people the notifier knows, by id, and each rep's team manager."""

    people: Mapping[str, Person] = field(default_factory=dict)
    manager_of: Mapping[str, Person] = field(default_factory=dict)  # rep id -> manager
    # Per person, the fields ``notifier.people`` sets: those win over what events say.
    pinned: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def by_email(self, email: str) -> Person | None:
        lowered = email.lower()
        for person in self.people.values():
            if person.email and person.email.lower() == lowered:
                return person
        return None


@dataclass(frozen=True)
class FixedTarget:
    """A fixed address from a subscription's ``to``, optionally only for one queue."""

    email: str | None = None
    phone: str | None = None
    slack: str | None = None  # a Slack channel or member id
    name: str | None = None
    queue: str | None = None


RecipientSpec = str | FixedTarget  # a role name, or a fixed target


@dataclass(frozen=True)
class Recipient:
    """One resolved recipient of one alert: ``key`` names it in the delivery row (unique per
    subscription and event), ``person`` says how to reach them."""

    key: str
    role: Role
    person: Person


def _ref(data: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = data.get(name)
    return value if isinstance(value, Mapping) else None


def _person_for_rep(ref: Mapping[str, Any], roster: Roster) -> Person:
    rep_id = str(ref.get("rep_id") or "")
    said = Person(
        id=rep_id,
        name=_text(ref, "name") if ref.get("name") != rep_id else None,  # a removed rep's
        email=_text(ref, "email"),
        timezone=known_zone(_text(ref, "timezone")),
    )
    known = roster.people.get(rep_id)
    if known is None:
        return said
    return current_person(known, said, roster.pinned.get(rep_id, frozenset()))


CURRENT_FIELDS = ("name", "email", "timezone")


def current_person(known: Person, said: Person, pinned: frozenset[str]) -> Person:
    """A rep as the event names them (the router's routing config now) over the roster's
    start-up copy, except for what ``notifier.people`` pins; the roster's channels (Slack,
    phone) and quiet hours stay, events carry none."""
    now = {f: getattr(said, f) for f in CURRENT_FIELDS if f not in pinned and getattr(said, f)}
    return replace(known, **now)


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def known_zone(name: str | None) -> str | None:
    """A time zone this machine knows, else None (the person's local time falls back)."""
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def _manager(data: Mapping[str, Any], roster: Roster) -> Person | None:
    team = _ref(data, "team")
    manager = _ref(team, "manager") if team else None
    if manager is not None and manager.get("email"):
        known = roster.by_email(str(manager["email"]))
        if known is not None:
            return replace(known, slack_user_id=known.slack_user_id or manager.get("slack_user_id"))
        return Person(
            id=f"manager:{team['name'] if team else ''}",
            name=manager.get("name"),
            email=str(manager["email"]),
            slack_user_id=manager.get("slack_user_id"),
        )
    for role in ("rep", "previous_rep"):
        ref = _ref(data, role)
        if ref is not None and str(ref.get("rep_id")) in roster.manager_of:
            return roster.manager_of[str(ref.get("rep_id"))]
    return None


def _queue(data: Mapping[str, Any]) -> str | None:
    queue = data.get("queue")
    if isinstance(queue, str):
        return queue
    trace = _ref(data, "trace")
    return str(trace["queue"]) if trace and trace.get("queue") else None


def resolve_recipients(
    specs: Iterable[RecipientSpec], data: Mapping[str, Any], roster: Roster
) -> list[Recipient]:
    """The recipients ``specs`` name for an event, in order, each once (the same person named
    by two roles is alerted once, under the first)."""
    found: list[Recipient] = []
    seen: set[str] = set()

    def add(key: str, role: Role, person: Person) -> None:
        if key not in seen:
            seen.add(key)
            found.append(Recipient(key, role, person))

    for spec in specs:
        if isinstance(spec, FixedTarget):
            if spec.queue is None or spec.queue == _queue(data):
                address = spec.email or spec.phone or spec.slack or ""
                person = Person(
                    id=address, name=spec.name, email=spec.email, phone=spec.phone,
                    slack_user_id=spec.slack,
                )  # fmt: skip
                add(f"to:{address}", "fixed", person)
        elif spec in _REP_ROLES:
            ref = _ref(data, spec)
            if ref is not None and ref.get("rep_id"):
                person = _person_for_rep(ref, roster)
                add(f"person:{person.id}", _REP_ROLES[spec], person)
        elif spec == "manager":
            manager = _manager(data, roster)
            if manager is not None:
                add(f"person:{manager.id}", "manager", manager)
    return found


def address_for(channel: str, person: Person) -> str | None:
    """Where a person is reached on a channel: e-mail, phone (SMS) or Slack id (bot DMs)."""
    if channel == "email":
        return person.email
    if channel == "sms":
        return person.phone
    if channel == "slack":
        return person.slack_user_id
    return None


def quiet_until(now: datetime, person: Person) -> datetime | None:
    """When a person's quiet hours end, if ``now`` falls inside them (in their time zone);
    None when they may be alerted now (no quiet hours, or outside them)."""
    quiet = person.quiet_hours
    if quiet is None or quiet.start == quiet.end:
        return None
    local = now.astimezone(ZoneInfo(person.timezone or "UTC"))
    minute = local.hour * 60 + local.minute
    wraps = quiet.start > quiet.end
    inside = (
        (minute >= quiet.start or minute < quiet.end)
        if wraps
        else (quiet.start <= minute < quiet.end)
    )
    if not inside:
        return None
    end_day = local.date()
    if wraps and minute >= quiet.start:
        end_day += timedelta(days=1)
    naive = datetime(end_day.year, end_day.month, end_day.day) + timedelta(minutes=quiet.end)
    # Wall-clock end in the person's zone (fold=0 picks the first of a repeated hour).
    end_local = naive.replace(tzinfo=local.tzinfo)
    return end_local.astimezone(now.tzinfo)
