"""First-contact SLA rules: deadlines on the rep's clock, warnings, contacts, and what
happens after a breach (the next rep, never a previous owner; escalation after the last)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.router.domain.availability import add_working_time
from services.router.domain.model import (
    Candidate,
    DateRange,
    Escalation,
    Queue,
    Rep,
    RepLoad,
    Routing,
    SlaPolicy,
    WorkingHours,
)
from services.router.domain.reassignment import Handover, Stay, after_breach, apply_handover
from services.router.domain.routing import route_lead
from services.router.domain.sla import (
    SlaClock,
    first_contact,
    is_breach,
    is_first_contact,
    is_handover_pending,
    should_warn,
    sla_deadline,
    sla_met_rate,
    start_clock,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
MON_FRI = frozenset(range(5))
NINE_TO_HALF_FIVE = WorkingHours(MON_FRI, 9 * 60, 17 * 60 + 30)
NINE_TO_FIVE = WorkingHours(MON_FRI, 9 * 60, 17 * 60)
MINUTE = timedelta(minutes=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def rep(rep_id: str = "ana", zone: ZoneInfo = LONDON, **kwargs: Any) -> Rep:
    kwargs.setdefault("working_hours", NINE_TO_HALF_FIVE)
    return Rep(rep_id, rep_id.title(), zone, **kwargs)


def policy(**kwargs: Any) -> SlaPolicy:
    kwargs.setdefault("first_contact", 15 * MINUTE)
    return SlaPolicy(**kwargs)


# 2026-01-13 is a Tuesday, 2026-01-16 a Friday, 2026-01-17 a Saturday. In January London is
# on UTC, Berlin UTC+1, New York UTC-5, Los Angeles UTC-8. London moves to BST (UTC+1) on
# Sunday 2026-03-29.
# fmt: off
BUSINESS_HOURS = [
    # case, rep, assigned at (UTC), SLA, due (UTC)
    ("in hours: the wall clock", rep(), "2026-01-13T10:00", 15, "2026-01-13T10:15"),
    ("assigned before the day starts", rep(), "2026-01-13T07:00", 15, "2026-01-13T09:15"),
    ("five minutes before close: ten the next morning", rep(),
     "2026-01-13T17:25", 15, "2026-01-14T09:10"),
    ("assigned in the evening", rep(), "2026-01-13T20:00", 15, "2026-01-14T09:15"),
    ("friday evening: monday morning", rep(), "2026-01-16T17:20", 15, "2026-01-19T09:05"),
    ("saturday: monday", rep(), "2026-01-17T11:00", 15, "2026-01-19T09:15"),
    ("a holiday is skipped", rep(holidays=frozenset({date(2026, 1, 14)})),
     "2026-01-13T17:25", 15, "2026-01-15T09:10"),
    ("out of office is skipped",
     rep(out_of_office=(DateRange(date(2026, 1, 14), date(2026, 1, 15)),)),
     "2026-01-13T17:25", 15, "2026-01-16T09:10"),
    ("a whole working day and a bit", rep(), "2026-01-13T10:00", 8 * 60, "2026-01-14T09:30"),
    ("new york: 17:00 local is after hours", rep(zone=NEW_YORK, working_hours=NINE_TO_FIVE),
     "2026-01-13T22:00", 15, "2026-01-14T14:15"),
    ("new york: monday 02:00 utc is still sunday there",
     rep(zone=NEW_YORK, working_hours=NINE_TO_FIVE),
     "2026-01-19T02:00", 15, "2026-01-19T14:15"),
    ("berlin: 08:30 utc is 09:30 there", rep(zone=BERLIN, working_hours=NINE_TO_FIVE),
     "2026-01-13T08:30", 15, "2026-01-13T08:45"),
    ("los angeles: the day ends at 01:00 utc",
     rep(zone=LOS_ANGELES, working_hours=NINE_TO_FIVE),
     "2026-01-14T00:55", 15, "2026-01-14T17:10"),
    ("clocks go forward over the weekend", rep(), "2026-03-27T17:20", 15, "2026-03-30T08:05"),
    ("no working hours: only days away stop the clock", rep(working_hours=None,
     holidays=frozenset({date(2026, 1, 14)})), "2026-01-13T23:55", 15, "2026-01-15T00:10"),
    ("a window to midnight", rep(working_hours=WorkingHours(MON_FRI, 18 * 60, 24 * 60)),
     "2026-01-13T23:50", 15, "2026-01-14T18:05"),
]
# fmt: on


@pytest.mark.parametrize(
    ("case", "owner", "start", "minutes", "due"), BUSINESS_HOURS, ids=[c[0] for c in BUSINESS_HOURS]
)
def test_business_hours_clock_only_runs_in_the_reps_working_time(
    case: str, owner: Rep, start: str, minutes: int, due: str
) -> None:
    sla = policy(first_contact=minutes * MINUTE, business_hours=True)
    assert sla_deadline(sla, owner, "warm", utc(start)).due_at == utc(due)
    assert add_working_time(owner, utc(start), minutes * MINUTE) == utc(due)


def test_without_business_hours_the_clock_is_the_wall_clock() -> None:
    deadline = sla_deadline(policy(warn_before=5 * MINUTE), rep(), "warm", utc("2026-01-13T17:25"))
    assert (deadline.warn_at, deadline.due_at) == (utc("2026-01-13T17:35"), utc("2026-01-13T17:40"))


def test_a_bucket_has_its_own_time_and_buckets_ignore_case() -> None:
    sla = policy(first_contact=30 * MINUTE, by_bucket=(("hot", 5 * MINUTE),))
    start = utc("2026-01-13T10:00")
    assert sla_deadline(sla, rep(), "Hot", start).due_at == start + 5 * MINUTE
    assert sla_deadline(sla, rep(), "warm", start).due_at == start + 30 * MINUTE


def test_warning_comes_when_warn_before_is_left_on_the_same_clock() -> None:
    sla = policy(warn_before=5 * MINUTE, business_hours=True)
    deadline = sla_deadline(sla, rep(), "warm", utc("2026-01-13T17:25"))
    # 5 working minutes on Tuesday, 5 more on Wednesday morning: warn; 5 more: due.
    assert deadline.warn_at == utc("2026-01-14T09:05")
    assert deadline.due_at == utc("2026-01-14T09:10")


def test_no_warning_without_warn_before() -> None:
    assert sla_deadline(policy(), rep(), "warm", utc("2026-01-13T10:00")).warn_at is None


def test_a_rep_who_never_works_gets_the_wall_clock() -> None:
    away = rep(out_of_office=(DateRange(date(2026, 1, 1), date(2030, 12, 31)),))
    start = utc("2026-01-13T10:00")
    assert add_working_time(away, start, 15 * MINUTE) == start + 15 * MINUTE


def test_routing_stamps_the_deadline_of_the_queue_the_rep_was_found_in() -> None:
    routing = org(sla=policy(business_hours=True, by_bucket=(("hot", 5 * MINUTE),)))
    decision = route_lead({}, "hot", routing, {}, {}, utc("2026-01-13T17:28"))
    assert decision.sla_due_at == utc("2026-01-14T09:03")  # type: ignore[union-attr]


# ---- the clock ---------------------------------------------------------------------------

T0 = utc("2026-01-13T10:00")


def clock(**kwargs: Any) -> SlaClock:
    base = SlaClock(
        lead_id="lead-1", queue="uk", bucket="warm", rep_id="ana", assignment_id="a-1",
        attempt=1, owners=("ana",), escalated=False, started_at=T0, due_at=T0 + 15 * MINUTE,
        warn_at=T0 + 10 * MINUTE,
    )  # fmt: skip
    return replace(base, **kwargs)


def test_a_new_assignment_starts_a_running_clock_with_one_owner() -> None:
    deadline = sla_deadline(policy(warn_before=5 * MINUTE), rep(), "warm", T0)
    started = start_clock("lead-1", "uk", "warm", "ana", "a-1", deadline, T0)
    assert started == clock()


@pytest.mark.parametrize(
    ("changes", "attempt", "now", "warn"),
    [
        ({}, 1, T0 + 10 * MINUTE, True),
        ({}, 2, T0 + 10 * MINUTE, False),  # a timer of another attempt
        ({"status": "met"}, 1, T0 + 10 * MINUTE, False),  # contacted already
        ({}, 1, T0 + 15 * MINUTE, False),  # too late: the breach supersedes it
    ],
)
def test_a_warning_is_for_a_running_clock_before_its_deadline(
    changes: dict[str, Any], attempt: int, now: datetime, warn: bool
) -> None:
    assert should_warn(clock(**changes), attempt, now) is warn


def test_a_breach_is_for_the_running_attempt_and_a_handover_for_a_breached_one() -> None:
    assert is_breach(clock(), 1) and not is_breach(clock(), 2)
    assert not is_breach(clock(status="met"), 1)
    assert is_handover_pending(clock(status="breached"), 1)
    assert not is_handover_pending(clock(status="late"), 1)


@pytest.mark.parametrize(
    "kind",
    ["contacted", "called", "emailed", "sms_sent", "replied", "meeting_booked", "won", "lost"],
)
def test_these_activities_are_a_first_contact(kind: str) -> None:
    assert is_first_contact(kind)


@pytest.mark.parametrize("kind", ["email_opened", "page_visited", "unsubscribed", "bounced"])
def test_engagement_is_not_a_contact(kind: str) -> None:
    assert not is_first_contact(kind)


def test_contact_by_the_deadline_meets_the_sla_and_stops_the_clock() -> None:
    at = T0 + 14 * MINUTE
    contact, after = first_contact(clock(), "ana", T0, at)
    assert (contact.rep_id, contact.within_sla, contact.response) == ("ana", True, 14 * MINUTE)
    assert after == clock(status="met", contacted_at=at)


def test_contact_after_the_deadline_is_late() -> None:
    contact, after = first_contact(clock(), "ana", T0, T0 + 16 * MINUTE)
    assert contact.within_sla is False
    assert after is not None and after.status == "late"


def test_contact_after_a_breach_is_late_even_when_the_job_was_slow() -> None:
    contact, after = first_contact(clock(status="breached"), "ana", T0, T0 + 5 * MINUTE)
    assert contact.within_sla is False
    assert after is not None and after.status == "late"


def test_a_previous_owners_late_synced_call_counts_for_them_not_the_new_owner() -> None:
    current = clock(rep_id="ben", owners=("ana", "ben"), attempt=2)
    contact, after = first_contact(current, "ben", T0, T0 + MINUTE, by="ana")
    assert (contact.rep_id, contact.within_sla, contact.response) == ("ana", False, None)
    assert after is not None and after.status == "late"


def test_a_lead_without_an_sla_still_counts_the_contact() -> None:
    contact, after = first_contact(None, "ana", T0, T0 + 3 * MINUTE)
    assert (contact.rep_id, contact.within_sla, contact.response) == ("ana", None, 3 * MINUTE)
    assert after is None


@pytest.mark.parametrize(("within", "breached", "rate"), [(3, 1, 0.75), (0, 2, 0.0), (0, 0, None)])
def test_sla_met_rate_is_the_share_of_clocks_met(
    within: int, breached: int, rate: float | None
) -> None:
    assert sla_met_rate(within, breached) == rate


# ---- after a breach ----------------------------------------------------------------------

NOW = utc("2026-01-13T10:20")


def org(
    sla: SlaPolicy | None = None, *, extra: tuple[Rep, ...] = (), **reps: dict[str, Any]
) -> Routing:
    """uk (ana, ben, cat; London 09:00-17:30) falls back to nothing; pool (uma, vic; always
    available); zoe manages, in no queue."""
    people = [
        rep("ana", **reps.get("ana", {})),
        rep("ben", **reps.get("ben", {})),
        rep("cat", **reps.get("cat", {})),
        rep("uma", working_hours=None, **reps.get("uma", {})),
        rep("vic", working_hours=None, **reps.get("vic", {})),
        rep("zoe", **reps.get("zoe", {})),
        *extra,
    ]
    queues = [
        Queue("uk", "sales", "uk", ("ana", "ben", "cat"), sla=sla or policy()),
        Queue("pool", "general", "global", ("uma", "vic")),
    ]
    return Routing({r.id: r for r in people}, {q.name: q for q in queues}, (), "uk")


def breach_of(c: SlaClock, routing: Routing, **kwargs: Any) -> Handover | Stay:
    return after_breach(
        c, routing, kwargs.get("loads", {}), kwargs.get("cursors", {}), kwargs.get("now", NOW),
        kwargs.get("facts", {}), "a-2",
    )  # fmt: skip


def test_breach_hands_the_lead_to_the_next_rep_by_the_queues_strategy() -> None:
    outcome = breach_of(clock(), org(policy(max_attempts=3)), cursors={"uk": 0})
    assert isinstance(outcome, Handover)
    assert (outcome.rep_id, outcome.queue, outcome.strategy) == ("ben", "uk", "round_robin")
    assert outcome.attempts[0].choice.candidates == (
        Candidate("ana", False, "excluded (already had this lead)"),
        Candidate("ben", True, "next in rotation (position 2 of 3)"),
    )
    assert outcome.next_cursor == 2
    assert outcome.action == "reassigned"
    assert outcome.trace.startswith(
        "SLA breached by ana in uk (attempt 1 of 3, due 2026-01-13T10:15:00Z); round_robin picked"
    )
    assert outcome.clock == clock(
        rep_id="ben", assignment_id="a-2", attempt=2, owners=("ana", "ben"), started_at=NOW,
        due_at=NOW + 15 * MINUTE, warn_at=None,
    )  # fmt: skip


def test_reassignment_never_picks_a_rep_who_already_had_the_lead() -> None:
    second = clock(rep_id="ben", attempt=2, owners=("ana", "ben"))
    outcome = breach_of(second, org(policy(max_attempts=3)), cursors={"uk": 0})
    assert isinstance(outcome, Handover)
    assert outcome.rep_id == "cat"
    assert [c.reason for c in outcome.attempts[0].choice.candidates][:2] == [
        "excluded (already had this lead)",
        "excluded (already had this lead)",
    ]
    assert outcome.clock.owners == ("ana", "ben", "cat")


def test_the_new_reps_clock_runs_on_the_new_reps_hours() -> None:
    routing = org(
        policy(business_hours=True), ben={"zone": NEW_YORK, "working_hours": NINE_TO_FIVE}
    )
    # 21:50 UTC is 16:50 in New York: ben has 10 minutes today and 5 tomorrow from 09:00.
    outcome = breach_of(clock(), routing, cursors={"uk": 1}, now=utc("2026-01-13T21:50"))
    assert isinstance(outcome, Handover) and outcome.rep_id == "ben"
    assert outcome.clock.due_at == utc("2026-01-14T14:05")


@pytest.mark.parametrize(
    ("then", "rep_id", "strategy"),
    [
        (Escalation(queue="pool"), "uma", "round_robin"),
        (Escalation(rep="zoe"), "zoe", "escalation"),
    ],
)
def test_after_the_last_attempt_the_lead_is_escalated(
    then: Escalation, rep_id: str, strategy: str
) -> None:
    last = clock(rep_id="ben", attempt=2, owners=("ana", "ben"))
    outcome = breach_of(last, org(policy(max_attempts=2, then=then)))
    assert isinstance(outcome, Handover)
    assert (outcome.rep_id, outcome.strategy, outcome.escalated) == (rep_id, strategy, True)
    assert outcome.action == "escalated"
    assert outcome.clock.attempt == 3 and outcome.clock.owners == ("ana", "ben", rep_id)
    assert "all 2 attempts missed; escalated to" in outcome.trace


def test_escalation_to_a_pool_skips_previous_owners_there_too() -> None:
    last = clock(rep_id="uma", attempt=1, owners=("uma",))
    routing = org(policy(max_attempts=1, then=Escalation(queue="pool")))
    outcome = breach_of(last, routing)
    assert isinstance(outcome, Handover) and outcome.rep_id == "vic"


def test_an_escalated_lead_stays_with_its_rep_when_they_miss_it_too() -> None:
    escalated = clock(rep_id="zoe", attempt=3, owners=("ana", "ben", "zoe"), escalated=True)
    outcome = breach_of(escalated, org(policy(max_attempts=2, then=Escalation(rep="zoe"))))
    assert outcome == Stay("zoe got the lead by escalation; it stays with them", retry=False)


def test_without_escalation_the_last_rep_keeps_the_lead() -> None:
    outcome = breach_of(
        clock(rep_id="ben", attempt=2, owners=("ana", "ben")), org(policy(max_attempts=2))
    )
    assert isinstance(outcome, Stay)
    assert (outcome.retry, outcome.action) == (False, "kept")
    assert outcome.reason.endswith("no escalation set; stays with ben")


def test_nobody_available_now_keeps_the_lead_and_retries_later() -> None:
    routing = org(policy(max_attempts=3), ben={"online": False}, cat={"online": False})
    outcome = breach_of(clock(), routing)
    assert isinstance(outcome, Stay)
    assert (outcome.retry, outcome.action) == (True, "retrying")
    assert "nobody else can take it now (tried uk); stays with ana" in outcome.reason


def test_when_everyone_already_had_it_retrying_cannot_help() -> None:
    everyone = clock(rep_id="cat", attempt=3, owners=("ana", "ben", "cat"))
    outcome = breach_of(everyone, org(policy(max_attempts=5)))
    assert isinstance(outcome, Stay) and outcome.retry is False


def test_nobody_else_in_the_queue_escalates_early() -> None:
    routing = org(policy(max_attempts=3, then=Escalation(queue="pool")), ben={"online": False},
                  cat={"online": False})  # fmt: skip
    outcome = breach_of(clock(), routing)
    assert isinstance(outcome, Handover)
    assert (outcome.rep_id, outcome.escalated) == ("uma", True)
    assert "escalated early to queue pool" in outcome.trace


def test_an_escalation_rep_off_hours_or_at_capacity_is_retried() -> None:
    routing = org(policy(max_attempts=1, then=Escalation(rep="zoe")), zoe={"max_open": 2})
    full = breach_of(clock(), routing, loads={"zoe": RepLoad("zoe", 2, 2)})
    assert isinstance(full, Stay) and full.retry
    assert "zoe cannot take it now: at capacity: max_open 2 reached" in full.reason
    night = breach_of(clock(), routing, now=utc("2026-01-13T22:00"))
    assert isinstance(night, Stay) and night.retry and "off hours" in night.reason


def test_a_queue_that_lost_its_sla_keeps_the_lead() -> None:
    routing = org()
    routing = replace(
        routing, queues={**routing.queues, "uk": replace(routing.queues["uk"], sla=None)}
    )
    outcome = breach_of(clock(), routing)
    assert outcome == Stay("queue uk has no SLA any more; stays with ana", retry=False)


def test_handover_moves_one_open_lead_from_the_old_rep_to_the_new_one() -> None:
    outcome = breach_of(clock(), org(), cursors={"uk": 1})
    assert isinstance(outcome, Handover)
    loads = {"ana": RepLoad("ana", 3, 5), "ben": RepLoad("ben", 1, 1)}
    new_loads, cursors = apply_handover(outcome, "ana", loads, {"uk": 1})
    assert new_loads["ana"] == RepLoad("ana", 2, 5)
    assert new_loads["ben"] == RepLoad("ben", 2, 2)
    assert cursors == {"uk": 2}


def test_handover_never_takes_a_load_below_zero() -> None:
    outcome = breach_of(clock(), org(), cursors={"uk": 1})
    assert isinstance(outcome, Handover)
    new_loads, _ = apply_handover(outcome, "ana", {}, {})
    assert new_loads["ana"].open_leads == 0
