"""A lead's whole route: nurture or queue, then rep, following fallbacks or waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.router.domain.model import (
    Candidate,
    Queue,
    Rep,
    RepLoad,
    Routing,
    Rule,
    SlaPolicy,
    WorkingHours,
)
from services.router.domain.routing import (
    Assigned,
    ToNurture,
    Waiting,
    apply_assignment,
    load_for_today,
    route_lead,
    stays_decided,
)
from shared.conditions import parse_condition

NOW = datetime(2026, 1, 13, 10, 0, tzinfo=UTC)  # Tuesday: 10:00 London, 05:00 New York
NINE_TO_FIVE = WorkingHours(frozenset(range(5)), 9 * 60, 17 * 60)
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
GB_SHOES = {"country": "GB", "interest": "shoes"}
SLA_30M = SlaPolicy(timedelta(minutes=30))
SLA_60M = SlaPolicy(timedelta(minutes=60))


def org(
    uk_online: bool = True, global_online: bool = True, nurture: frozenset[str] | None = None
) -> Routing:
    """fashion-uk (ana, ben) -> fashion-backup (cy, in New York) -> general-global (uma)."""
    reps = [
        Rep("ana", "Ana", LONDON, working_hours=NINE_TO_FIVE, online=uk_online),
        Rep("ben", "Ben", LONDON, working_hours=NINE_TO_FIVE, online=uk_online, max_open=3),
        Rep("cy", "Cy", NEW_YORK, working_hours=NINE_TO_FIVE),
        Rep("uma", "Uma", LONDON, online=global_online),
    ]
    queues = [
        Queue(
            "fashion-uk", "fashion", "uk", ("ana", "ben"), fallback="fashion-backup", sla=SLA_30M
        ),
        Queue("fashion-backup", "fashion", "us", ("cy",), fallback="general-global"),
        Queue("general-global", "general", "global", ("uma",), sla=SLA_60M),
        Queue("hot-desk", "general", "global", ("uma",), strategy="least_loaded"),
    ]
    rules = (
        Rule("hot-leads", parse_condition({"field": "bucket", "eq": "hot"}), "hot-desk"),
        Rule(
            "uk-fashion",
            parse_condition(
                {"all": [{"field": "country", "eq": "GB"}, {"field": "interest", "eq": "shoes"}]}
            ),
            "fashion-uk",
        ),
    )
    return Routing(
        {r.id: r for r in reps},
        {q.name: q for q in queues},
        rules,
        "general-global",
        nurture if nurture is not None else frozenset({"nurture"}),
    )


def route(facts: dict[str, Any], bucket: str = "warm", routing: Routing | None = None, **kw: Any):
    return route_lead(
        facts,
        bucket,
        routing or org(),
        kw.get("loads", {}),
        kw.get("cursors", {}),
        kw.get("now", NOW),
        kw.get("exclude", frozenset()),
    )


@pytest.mark.parametrize(
    ("bucket", "buckets", "nurtured"),
    [
        ("nurture", None, True),
        ("Nurture", None, True),
        ("cold", None, False),
        ("cold", frozenset({"cold", "nurture"}), True),
        ("warm", frozenset({"cold", "nurture"}), False),
    ],
)
def test_leads_in_nurture_buckets_go_to_nurture_not_to_a_rep(
    bucket: str, buckets: frozenset[str] | None, nurtured: bool
) -> None:
    decision = route(GB_SHOES, bucket, org(nurture=buckets))
    assert isinstance(decision, ToNurture) is nurtured
    if nurtured:
        assert decision == ToNurture(f"bucket '{bucket}' is a nurture bucket; not sales-ready yet")


def test_routes_gb_shoes_to_fashion_uk_with_sla_and_trace() -> None:
    decision = route(GB_SHOES, cursors={"fashion-uk": 1})
    assert isinstance(decision, Assigned)
    assert (decision.rule, decision.queue, decision.matched_queue) == (
        "uk-fashion",
        "fashion-uk",
        "fashion-uk",
    )
    assert (decision.rep_id, decision.next_cursor) == ("ben", 2)
    assert decision.sla_due_at == NOW + timedelta(minutes=30)
    assert decision.choice.strategy == "round_robin"
    assert decision.trace == (
        "rule 'uk-fashion' matched: fashion-uk; "
        "round_robin picked ben in fashion-uk: next in rotation (position 2 of 2)"
    )


def test_bucket_is_a_fact_rules_can_use() -> None:
    decision = route(GB_SHOES, "hot")
    assert isinstance(decision, Assigned)
    assert (decision.rule, decision.queue, decision.choice.strategy) == (
        "hot-leads",
        "hot-desk",
        "least_loaded",
    )
    assert decision.sla_due_at is None


def test_unmatched_lead_goes_to_default_queue_and_trace_says_so() -> None:
    decision = route({"country": "JP", "interest": "shoes"})
    assert isinstance(decision, Assigned)
    assert (decision.rule, decision.queue, decision.rep_id) == ("default", "general-global", "uma")
    assert decision.trace.startswith("no rule matched; default queue general-global; ")
    assert decision.sla_due_at == NOW + timedelta(minutes=60)


def test_fallback_chain_is_followed_when_nobody_in_the_queue_can_take_the_lead() -> None:
    decision = route(GB_SHOES, routing=org(uk_online=False), cursors={"general-global": 4})
    assert isinstance(decision, Assigned)
    assert (decision.matched_queue, decision.queue, decision.rep_id) == (
        "fashion-uk",
        "general-global",
        "uma",
    )
    assert decision.next_cursor == 1  # general-global's cursor: 4 % 1 = 0, picked index 0
    assert decision.sla_due_at == NOW + timedelta(minutes=60)
    assert [a.queue for a in decision.attempts] == [
        "fashion-uk",
        "fashion-backup",
        "general-global",
    ]
    assert "fashion-uk: nobody available; fell back to fashion-backup" in decision.trace
    assert "fashion-backup: nobody available; fell back to general-global" in decision.trace
    assert decision.trace.endswith(
        "round_robin picked uma in general-global: next in rotation (position 1 of 1)"
    )
    assert decision.attempts[1].choice.candidates == (
        Candidate(
            "cy", False, "unavailable: off hours (05:00 America/New_York, works 09:00-17:00)"
        ),
    )


def test_fallback_queue_is_used_when_the_queue_is_full() -> None:
    loads = {"ben": RepLoad("ben", 3, 3)}
    decision = route(
        GB_SHOES, exclude=frozenset({"ana"}), loads=loads, now=NOW + timedelta(hours=6)
    )
    assert isinstance(decision, Assigned)
    assert (decision.queue, decision.rep_id) == ("fashion-backup", "cy")
    assert decision.attempts[0].choice.candidates == (
        Candidate("ana", False, "excluded (already had this lead)"),
        Candidate("ben", False, "at capacity: max_open 3 reached (3 open)"),
    )


def test_lead_waits_when_nobody_in_the_queue_or_its_fallbacks_can_take_it() -> None:
    decision = route(GB_SHOES, routing=org(uk_online=False, global_online=False))
    assert isinstance(decision, Waiting)
    assert (decision.rule, decision.queue) == ("uk-fashion", "fashion-uk")
    assert [c.rep_id for c in decision.candidates] == ["ana", "ben", "cy", "uma"]
    assert not any(c.eligible for c in decision.candidates)
    assert decision.reason == (
        "nobody can take the lead now (tried fashion-uk -> fashion-backup -> general-global)"
    )
    assert decision.trace.endswith("general-global: nobody available")


def test_exclude_sends_a_recycled_lead_to_another_rep() -> None:
    decision = route(GB_SHOES, exclude=frozenset({"ana"}))
    assert isinstance(decision, Assigned)
    assert decision.rep_id == "ben"


def test_handler_loop_applies_each_assignment_before_the_next_lead() -> None:
    routing = org()
    loads: dict[str, RepLoad] = {"ben": RepLoad("ben", 2, 0)}
    cursors: dict[str, int] = {}
    picked = []
    for _ in range(5):
        decision = route_lead(GB_SHOES, "warm", routing, loads, cursors, NOW)
        assert isinstance(decision, Assigned)
        picked.append((decision.queue, decision.rep_id))
        loads, cursors = apply_assignment(decision, loads, cursors)
    # ben's cap of 3 open leads is reached after one more; the rest alternate to ana.
    assert picked == [
        ("fashion-uk", "ana"),
        ("fashion-uk", "ben"),
        ("fashion-uk", "ana"),
        ("fashion-uk", "ana"),
        ("fashion-uk", "ana"),
    ]
    assert loads["ana"] == RepLoad("ana", 4, 4)
    assert loads["ben"] == RepLoad("ben", 3, 1)
    assert cursors == {"fashion-uk": 1}


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        route(GB_SHOES, now=datetime(2026, 1, 13, 10))


@pytest.mark.parametrize(
    ("status", "nurture_bucket", "stays"),
    [
        ("assigned", False, True),  # an owned lead keeps its owner whatever its new score
        ("assigned", True, True),
        ("nurture", True, True),  # still not ready: stays in nurture
        ("nurture", False, False),  # qualified out of nurture: routed to a rep now
        ("waiting", False, False),  # waiting for a rep: routed again
        (None, False, False),  # never decided
    ],
)
def test_a_decided_lead_stays_decided_unless_it_leaves_the_nurture_buckets(
    status: str | None, nurture_bucket: bool, stays: bool
) -> None:
    assert stays_decided(status, nurture_bucket) is stays


_DAY1 = datetime(2026, 12, 1, tzinfo=UTC)
_DAY2 = datetime(2026, 12, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stored", "stored_day", "today", "expected"),
    [
        (None, None, _DAY2, (RepLoad("r"), _DAY2)),  # first sight of the rep
        (RepLoad("r", 3, 5), _DAY1, _DAY2, (RepLoad("r", 3, 0), _DAY2)),  # a new day
        (RepLoad("r", 3, 5), _DAY2, _DAY2, (RepLoad("r", 3, 5), _DAY2)),  # same day
        (RepLoad("r", 3, 5), _DAY2, _DAY1, (RepLoad("r", 3, 5), _DAY2)),  # clock behind
    ],
)
def test_the_daily_count_restarts_on_a_new_local_day_and_never_goes_back(
    stored: RepLoad | None,
    stored_day: datetime | None,
    today: datetime,
    expected: tuple[RepLoad, datetime],
) -> None:
    assert load_for_today("r", stored, stored_day, today) == expected
