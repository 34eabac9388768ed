"""Replanning a follow-up plan as events arrive: which touches are fixed, when they close,
and what a batch decides on an assignment, a rep's touch, an opt-out or a won deal."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from services.nurture.config import load_nurture_config
from services.nurture.contact_rules import ContactRules, ContactWindow, PressureCaps
from services.nurture.followup import FollowupPlan, PlanTouch
from services.nurture.followup_handlers import (
    FollowupBatch,
    FollowupRules,
    on_activity,
    on_assigned,
    on_routed_to_nurture,
)
from services.nurture.followup_replan import Replanned, TouchRow, cancel_open, move_open, replan
from services.nurture.sequence_timing import StepContact
from services.nurture.suppression import Suppression, SuppressionReason
from services.nurture.time_zones import TimeZoneRules
from services.nurture.touch_modes import TouchMode
from services.nurture.touch_status import ReportedActivity
from shared.contracts import (
    ActivityKind,
    ContactSnapshot,
    LeadActivityRecorded,
    LeadAssigned,
    RepRef,
    RoutingTrace,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sections" / "nurture.yaml"
NEW_YORK = ZoneInfo("America/New_York")
RULES = ContactRules(ContactWindow(), PressureCaps(per_day=2, per_week=4))
HOT = FollowupPlan(
    "hot",
    (
        PlanTouch(TouchMode.CALL),
        PlanTouch(TouchMode.CALL, timedelta(days=1)),
        PlanTouch(TouchMode.MEETING, timedelta(days=2)),
    ),
    grace=timedelta(hours=2),
)
FRIDAY_EVENING = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)  # 18:30 in New York


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


MONDAY_9 = utc(2026, 12, 7, 14)  # 09:00 in New York


def run(
    rows: Sequence[TouchRow],
    now: datetime,
    activities: Sequence[ReportedActivity] = (),
    suppressions: Sequence[Suppression] = (),
    plan: FollowupPlan = HOT,
) -> Replanned:
    return replan(
        plan,
        rows,
        assigned_at=FRIDAY_EVENING,
        rep=("ana", "Ana"),
        zone=NEW_YORK,
        rules=RULES,
        activities=activities,
        suppressions=suppressions,
        now=now,
    )


def test_a_new_plan_starts_at_the_leads_next_working_hour_and_closes_at_the_next_touch() -> None:
    made = run((), FRIDAY_EVENING)
    due = [t.due_at for t in made.touches]
    assert due == [MONDAY_9, utc(2026, 12, 8, 14), utc(2026, 12, 10, 14)]
    assert [t.closes_at for t in made.touches] == [*due[1:], due[2] + HOT.last_touch_window]
    assert {(t.status, t.rep_id, t.total) for t in made.touches} == {("pending", "ana", 3)}
    assert [change[2] for change in made.changes] == ["pending"] * 3


def test_a_late_call_is_counted_late_and_moves_the_next_touch_after_it() -> None:
    made = run((), FRIDAY_EVENING).touches
    call = ReportedActivity("called", utc(2026, 12, 7, 17))  # due 14:00, grace 2h
    after = run(made, utc(2026, 12, 7, 17, 5), [call])
    first, second, third = after.touches
    assert (first.status, first.done_at) == ("late", call.at)
    assert second.due_at == call.at + timedelta(days=1)
    assert third.due_at == second.due_at + timedelta(days=2)
    assert after.changes == ((1, "pending", "late"),)


def test_a_call_within_the_grace_is_done() -> None:
    made = run((), FRIDAY_EVENING).touches
    call = ReportedActivity("contacted", utc(2026, 12, 7, 15), channel="phone")
    assert run(made, utc(2026, 12, 7, 15, 1), [call]).touches[0].status == "done"


def test_a_touch_not_done_when_the_next_falls_due_is_missed_and_due_times_stop_moving() -> None:
    made = run((), FRIDAY_EVENING).touches
    later = run(made, utc(2026, 12, 8, 14, 0, 1))  # touch 2 just fell due
    assert [t.status for t in later.touches] == ["missed", "due", "pending"]
    assert [t.due_at for t in later.touches] == [t.due_at for t in made]  # nothing moved
    assert (1, "pending", "missed") in later.changes


def test_announced_touches_keep_their_due_time_even_before_it() -> None:
    made = run((), FRIDAY_EVENING).touches
    announced = (replace(made[0], announced_at=MONDAY_9), *made[1:])
    again = run(announced, utc(2026, 12, 7, 13))
    assert again.touches[0].due_at == MONDAY_9


def test_an_unsubscribe_skips_email_touches_and_keeps_the_call() -> None:
    warm = FollowupPlan(
        "warm",
        (
            PlanTouch(TouchMode.EMAIL),
            PlanTouch(TouchMode.CALL, timedelta(days=1)),
            PlanTouch(TouchMode.EMAIL, timedelta(days=2)),
        ),
    )
    made = run((), FRIDAY_EVENING, plan=warm).touches
    stop = Suppression(TouchMode.EMAIL, SuppressionReason.UNSUBSCRIBED, utc(2026, 12, 7, 15))
    after = run(made, utc(2026, 12, 7, 15, 1), suppressions=[stop], plan=warm)
    assert [(t.mode, t.status, t.skipped_by) for t in after.touches] == [
        ("email", "skipped", "unsubscribed"),
        ("call", "pending", None),
        ("email", "skipped", "unsubscribed"),
    ]
    # The call is now the last live touch: it closes a week after it is due.
    assert after.touches[1].closes_at == after.touches[1].due_at + warm.last_touch_window


def test_moving_and_cancelling_touch_only_the_open_ones() -> None:
    made = run((), FRIDAY_EVENING).touches
    call = ReportedActivity("called", utc(2026, 12, 7, 15))
    worked = run(made, utc(2026, 12, 7, 15, 1), [call]).touches
    moved = move_open(worked, ("bo", "Bo"))
    assert [t.rep_id for t in moved] == ["ana", "bo", "bo"]
    assert [t.status for t in cancel_open(moved)] == ["done", "cancelled", "cancelled"]
    assert run(cancel_open(moved), utc(2026, 12, 30)).touches[1].status == "cancelled"


def _assigned(lead: str, bucket: str, at: datetime, rep: str = "ana") -> LeadAssigned:
    return LeadAssigned(
        lead_id=lead,
        assignment_id=str(uuid.uuid4()),
        queue="q",
        rep=RepRef(rep_id=rep, name=rep.title()),
        lead=ContactSnapshot(phone="+12125550123", country="US"),
        score=90.0,
        bucket=bucket,
        source="web",
        captured_at=at,
        assigned_at=at,
        trace=RoutingTrace(rule="r", queue="q", strategy="s", candidates=[], explanation="-"),
    )


def _activity(lead: str, kind: ActivityKind, at: datetime) -> LeadActivityRecorded:
    return LeadActivityRecorded(
        lead_id=lead, activity_id=str(uuid.uuid4()), kind=kind, occurred_at=at, recorded_at=at
    )


def _batch(now: datetime) -> FollowupBatch:
    rules = FollowupRules({"hot": HOT}, RULES, TimeZoneRules("Europe/London"))
    return FollowupBatch(rules, now, plans={}, touches={}, activities={}, suppressions={})


def test_a_batch_makes_the_plan_in_the_leads_zone_and_ends_it_on_a_won_deal() -> None:
    lead = str(uuid.uuid4())
    batch = _batch(FRIDAY_EVENING)
    on_assigned(batch, lead, _assigned(lead, "HOT", FRIDAY_EVENING))
    plan = batch.plans[lead]
    assert (plan.zone, plan.zone_source, plan.bucket) == ("America/New_York", "phone", "hot")
    assert batch.touches[plan.plan_id][0].due_at == MONDAY_9
    on_assigned(batch, lead, _assigned(lead, "hot", FRIDAY_EVENING + timedelta(hours=1), "bo"))
    assert plan.rep_id == "bo" and {t.rep_id for t in batch.touches[plan.plan_id]} == {"bo"}
    on_activity(batch, lead, _activity(lead, ActivityKind.WON, MONDAY_9))
    assert lead not in batch.plans
    assert (plan.status, plan.reason) == ("ended", "converted: won")
    assert {t.status for t in batch.touches[plan.plan_id]} == {"cancelled"}


def test_a_batch_ignores_buckets_without_a_plan_and_keeps_opt_outs_without_one() -> None:
    lead = str(uuid.uuid4())
    batch = _batch(FRIDAY_EVENING)
    on_assigned(batch, lead, _assigned(lead, "nurture", FRIDAY_EVENING))
    assert batch.plans == {}
    on_activity(batch, lead, _activity(lead, ActivityKind.BOUNCED, FRIDAY_EVENING))
    on_activity(batch, lead, _activity(lead, ActivityKind.UNSUBSCRIBED, FRIDAY_EVENING))
    assert [(s.mode, s.reason) for _, s in batch.new_suppressions] == [
        (TouchMode.EMAIL, SuppressionReason.HARD_BOUNCE)  # the first one is kept
    ]
    on_activity(batch, lead, _activity(lead, ActivityKind.CALLED, FRIDAY_EVENING))
    on_activity(batch, lead, _activity(lead, ActivityKind.REPLIED, FRIDAY_EVENING))
    assert [a.activity.kind for a in batch.new_activities] == ["called"]


def test_the_example_config_gives_hot_calls_and_email_cadences() -> None:
    config = load_nurture_config(EXAMPLE)
    rules = config.followup_rules()
    assert [t.mode for t in rules.plans["hot"].touches] == ["call", "call", "meeting"]
    assert [t.wait for t in rules.plans["hot"].touches] == [
        timedelta(0),
        timedelta(days=1),
        timedelta(days=3),
    ]
    assert {t.mode for t in rules.plans["warm"].touches} == {TouchMode.EMAIL}
    assert len(rules.plans["warm"].touches) == 5  # 4 / 1 + 1
    assert len(rules.plans["cold"].touches) == 4  # 6 / 2 + 1
    assert (rules.contact.caps.per_day, rules.contact.caps.per_week) == (2, 4)
    assert rules.zones.countries["US"] == "America/New_York"


def test_a_plan_removed_from_the_config_keeps_its_due_times_and_still_counts_missed() -> None:
    lead = str(uuid.uuid4())
    batch = _batch(FRIDAY_EVENING)
    on_assigned(batch, lead, _assigned(lead, "hot", FRIDAY_EVENING))
    plan = batch.plans[lead]
    made = batch.touches[plan.plan_id]
    later = FollowupBatch(
        FollowupRules({}, RULES, TimeZoneRules()),
        utc(2026, 12, 8, 14, 0, 1),
        plans={lead: plan},
        touches={plan.plan_id: made},
        activities={},
        suppressions={},
    )
    later.refresh(plan)
    kept = later.touches[plan.plan_id]
    assert [t.due_at for t in kept] == [t.due_at for t in made]
    assert [t.status for t in kept] == ["missed", "due", "pending"]


def test_touches_reported_outside_the_plan_count_against_the_daily_cap() -> None:
    quick = FollowupPlan(
        "hot", (PlanTouch(TouchMode.CALL), PlanTouch(TouchMode.CALL, timedelta(hours=1)))
    )
    made = run((), FRIDAY_EVENING, plan=quick).touches  # Monday 09:00 and 10:00 New York
    done = ReportedActivity("called", utc(2026, 12, 7, 14, 30))  # touch 1, 09:30
    extra = ReportedActivity("emailed", utc(2026, 12, 7, 14, 45))  # outside the plan
    alone = run(made, utc(2026, 12, 7, 14, 50), [done], plan=quick).touches
    assert alone[1].due_at == utc(2026, 12, 7, 15, 30)  # an hour after the call
    capped = run(made, utc(2026, 12, 7, 14, 50), [done, extra], plan=quick).touches
    assert capped[1].due_at == utc(2026, 12, 8, 14)  # Monday's two are used: Tuesday 09:00


def test_the_fixed_clock_setting_freezes_the_services_clock() -> None:
    from pydantic import ValidationError

    from services.nurture.config import Settings
    from services.nurture.main import service_clock
    from shared.clock import now

    frozen = Settings(leadflow_nurture_fixed_now="2026-12-04T23:30:00Z")
    assert service_clock(frozen)() == FRIDAY_EVENING
    assert service_clock(frozen, lambda: MONDAY_9)() == MONDAY_9  # a test's clock wins
    assert service_clock(Settings()) is now
    try:
        Settings(leadflow_nurture_fixed_now="2026-12-04T23:30:00")
    except ValidationError as refused:
        assert "needs a time zone" in str(refused)
    else:
        raise AssertionError("a fixed time without a zone was accepted")


def test_nurture_sequence_steps_count_against_the_follow_up_caps() -> None:
    lead = str(uuid.uuid4())
    batch = _batch(FRIDAY_EVENING)
    # Two sequence e-mails went to the lead on Monday (the cap is two a day).
    batch.steps[lead] = [
        StepContact("e", utc(2026, 12, 7, 14), pending=False),
        StepContact("e", utc(2026, 12, 7, 16), pending=False),
    ]
    on_assigned(batch, lead, _assigned(lead, "hot", FRIDAY_EVENING))
    first = batch.touches[batch.plans[lead].plan_id][0]
    assert first.due_at == utc(2026, 12, 8, 14)  # Tuesday 09:00 New York, not Monday


def test_a_lead_routed_to_nurture_leaves_the_plan_and_its_announced_touch_still_counts() -> None:
    lead = str(uuid.uuid4())
    batch = _batch(FRIDAY_EVENING)
    on_assigned(batch, lead, _assigned(lead, "hot", FRIDAY_EVENING))
    plan = batch.plans[lead]
    announced = replace(batch.touches[plan.plan_id][0], announced_at=MONDAY_9, status="due")
    batch.touches[plan.plan_id] = (announced, *batch.touches[plan.plan_id][1:])
    batch.now = MONDAY_9 + timedelta(hours=1)
    on_routed_to_nurture(batch, lead)
    assert lead not in batch.plans
    assert (plan.status, plan.reason) == ("ended", "routed to nurture")
    assert [t.status for t in batch.touches[plan.plan_id]] == ["cancelled"] * 3
    # Told to the rep, maybe made: it counts against the lead's caps; the others do not.
    assert batch.contacts_of(lead) == [MONDAY_9]


def test_a_touch_settled_done_late_or_missed_is_announced_once() -> None:
    lead = str(uuid.uuid4())
    batch = _batch(FRIDAY_EVENING)
    on_assigned(batch, lead, _assigned(lead, "hot", FRIDAY_EVENING))
    plan = batch.plans[lead]
    batch.now = utc(2026, 12, 7, 17, 5)
    on_activity(batch, lead, _activity(lead, ActivityKind.CALLED, utc(2026, 12, 7, 17)))
    [late] = batch.closed
    assert (late.outcome, late.step, late.rep_id, late.done_at) == (
        "late",
        1,
        "ana",
        utc(2026, 12, 7, 17),
    )
    assert late.due_at == MONDAY_9 and late.closed_at == batch.now
    batch.now = utc(2026, 12, 10, 17, 0, 1)  # touch 2 closes when touch 3 falls due
    batch.refresh(plan)
    batch.refresh(plan)  # nothing new: no second announcement
    assert [(c.outcome, c.step) for c in batch.closed] == [("late", 1), ("missed", 2)]
    assert batch.closed[1].done_at is None
