"""The example routing config validates and routes the example org's leads sensibly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.router.config.model import load_routing_config, to_domain
from services.router.domain.routing import Assigned, ToNurture, route_lead
from services.router.domain.rules import match_rule

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sections" / "router.yaml"
ROUTING = to_domain(load_routing_config(EXAMPLE))


def test_example_section_validates_with_a_realistic_org() -> None:
    assert len(ROUTING.reps) >= 20
    zones = {rep.timezone.key for rep in ROUTING.reps.values()}
    assert {"Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles"} <= zones
    assert {"fashion", "software"} <= {q.department for q in ROUTING.queues.values()}
    assert {"uk", "dach", "us", "emea-other"} <= {q.region for q in ROUTING.queues.values()}
    assert ROUTING.default_queue == "general-global"
    assert ROUTING.nurture_buckets == frozenset({"nurture"})


def test_general_pool_covers_every_hour_and_every_queue_falls_back_to_it() -> None:
    pool = ROUTING.queues["general-global"]
    always = [m for m in pool.members if ROUTING.reps[m].working_hours is None]
    assert len(always) >= 2
    assert pool.fallback is None
    for queue in ROUTING.queues.values():
        if queue.name != "general-global":
            assert queue.fallback == "general-global", queue.name


@pytest.mark.parametrize(
    ("facts", "rule", "queue"),
    [
        ({"country": "GB", "interest": "shoes"}, "uk-fashion", "fashion-uk"),
        ({"country": "GB", "interest": "apparel"}, "uk-fashion", "fashion-uk"),
        ({"country": "AT", "interest": "shoes"}, "dach-fashion", "fashion-dach"),
        ({"country": "US", "interest": "apparel"}, "us-fashion", "fashion-us"),
        ({"country": "GB", "interest": "software"}, "uk-software", "software-uk"),
        ({"country": "CH", "interest": "software"}, "dach-software", "software-dach"),
        ({"country": "US", "interest": "software"}, "us-software", "software-us"),
        ({"country": "FR", "interest": "software"}, "emea-software", "software-emea"),
        (
            {"country": "DE", "interest": "software", "company_size": 5000},
            "enterprise-software",
            "software-enterprise",
        ),
        (
            {"country": "GB", "interest": "shoes", "utm": {"campaign": "fashion-week-berlin"}},
            "berlin-trade-show",
            "fashion-dach",
        ),
        ({"country": "JP", "interest": "shoes"}, "default", "general-global"),
        ({"country": "FR", "interest": "shoes"}, "default", "general-global"),
    ],
)
def test_example_rules_route_leads_to_department_region_queues(
    facts: dict[str, Any], rule: str, queue: str
) -> None:
    assert match_rule(facts, ROUTING) == (rule, queue)


LEADS: list[dict[str, Any]] = [
    {"country": "GB", "interest": "shoes"},
    {"country": "DE", "interest": "apparel", "language": "de"},
    {"country": "US", "interest": "software", "company_size": 20000},
    {"country": "IE", "interest": "software"},
]


@pytest.mark.parametrize("hour", range(0, 7 * 24, 5))
def test_example_assigns_a_lead_at_any_hour_of_the_week(hour: int) -> None:
    now = datetime(2026, 1, 12, tzinfo=UTC) + timedelta(hours=hour)  # from Monday 00:00
    for facts in LEADS:
        decision = route_lead(facts, "warm", ROUTING, {}, {}, now)
        assert isinstance(decision, Assigned), decision


def test_example_sends_nurture_bucket_to_nurture() -> None:
    decision = route_lead(
        {"country": "GB"}, "nurture", ROUTING, {}, {}, datetime(2026, 1, 12, tzinfo=UTC)
    )
    assert isinstance(decision, ToNurture)


def test_example_queues_have_business_hours_slas_hot_in_five_minutes() -> None:
    members = {m for q in ROUTING.queues.values() for m in q.members}
    for queue in ROUTING.queues.values():
        sla = queue.sla
        assert sla is not None, queue.name
        assert sla.business_hours and sla.warn_before is not None, queue.name
        assert sla.limit_for("hot") == timedelta(minutes=5), queue.name
        assert timedelta(minutes=15) <= sla.limit_for("warm") <= timedelta(minutes=60), queue.name
        assert sla.then is not None, queue.name
    pool = ROUTING.queues["general-global"].sla
    assert pool is not None and pool.then is not None and pool.then.rep == "zoe"
    assert "zoe" not in members  # the head of sales takes escalations, not new leads


def test_the_full_example_escalates_fashion_uk_to_the_uk_managers_rep() -> None:
    full = to_domain(load_routing_config(EXAMPLE.parents[1] / "leadflow.yaml"))
    sla = full.queues["fashion-uk"].sla
    assert sla is not None and sla.then is not None and sla.then.manager
    uk = full.team_of("ana")
    assert uk is not None and (uk.name, uk.manager.rep) == ("uk", "zoe")
    assert all(full.team_of(m) == uk for m in full.queues["fashion-uk"].members)


def test_example_hot_lead_on_friday_evening_is_due_on_monday_morning() -> None:
    friday = datetime(2026, 1, 16, 17, 28, tzinfo=UTC)  # 17:28 in London
    decision = route_lead({"country": "GB", "interest": "shoes"}, "hot", ROUTING, {}, {}, friday)
    assert isinstance(decision, Assigned)
    assert (decision.queue, decision.rep_id) == ("fashion-uk", "ana")  # works until 17:30
    # 2 working minutes on Friday, 3 on Monday from 09:00; warned 2 minutes before.
    assert decision.sla_due_at == datetime(2026, 1, 19, 9, 3, tzinfo=UTC)
    assert decision.deadline is not None
    assert decision.deadline.warn_at == datetime(2026, 1, 19, 9, 1, tzinfo=UTC)
