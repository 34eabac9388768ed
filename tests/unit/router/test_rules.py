"""Routing rules: the first rule whose condition holds picks the queue, else the default."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.router.domain.model import Queue, Rep, Routing, Rule
from services.router.domain.rules import lead_facts, match_rule
from shared.conditions import parse_condition

ANA = Rep("ana", "Ana", ZoneInfo("Europe/London"))


def routing(*rules: tuple[str, dict[str, Any] | None, str]) -> Routing:
    queues = {name: Queue(name, "sales", "uk", ("ana",)) for name in ("a", "b", "c", "general")}
    return Routing(
        {"ana": ANA},
        queues,
        tuple(Rule(name, parse_condition(when), queue) for name, when, queue in rules),
        "general",
    )


GB_SHOES = {"country": "GB", "interest": "shoes", "source": "web-form", "language": "en"}


# fmt: off
CONDITIONS = [
    # condition, lead facts, matches
    ({"field": "country", "eq": "GB"}, {"country": "GB"}, True),
    ({"field": "country", "eq": "GB"}, {"country": "gb"}, True),
    ({"field": "country", "eq": "GB"}, {"country": "IE"}, False),
    ({"field": "country", "eq": "GB"}, {}, False),
    ({"field": "country", "in": ["DE", "AT", "CH"]}, {"country": "AT"}, True),
    ({"field": "country", "in": ["DE", "AT", "CH"]}, {"country": "FR"}, False),
    ({"field": "country", "not_in": ["US"]}, {"country": "DE"}, True),
    ({"field": "interest", "in": ["shoes", "apparel"]}, {"interest": "apparel"}, True),
    ({"field": "interest", "in": ["shoes", "apparel"]}, {"interest": "software"}, False),
    ({"field": "industry", "eq": "retail"}, {"industry": "Retail"}, True),
    ({"field": "industry", "ne": "retail"}, {"industry": "retail"}, False),
    ({"field": "company_size", "gte": 1000}, {"company_size": 1000}, True),
    ({"field": "company_size", "gte": 1000}, {"company_size": 999}, False),
    ({"field": "company_size", "lt": 50}, {"company_size": 10}, True),
    ({"field": "company_size", "lt": 50}, {}, False),
    ({"field": "language", "eq": "de"}, {"language": "de"}, True),
    ({"field": "language", "eq": "de"}, {"language": "en"}, False),
    ({"field": "source", "eq": "meta-lead-ads"}, {"source": "meta-lead-ads"}, True),
    ({"field": "source", "matches": "^meta-"}, {"source": "web-form"}, False),
    ({"field": "utm.source", "eq": "linkedin"}, {"utm": {"source": "linkedin"}}, True),
    ({"field": "utm.campaign", "contains": "berlin"}, {"utm": {"campaign": "fw-berlin-26"}}, True),
    ({"field": "utm.campaign", "exists": False}, {"utm": {}}, True),
    ({"field": "attributes.budget", "gt": 5000}, {"attributes": {"budget": "7500"}}, True),
    ({"field": "attributes.budget", "gt": 5000}, {"attributes": {"budget": 100}}, False),
    ({"field": "bucket", "eq": "hot"}, {"bucket": "hot"}, True),
    ({"field": "bucket", "in": ["hot", "warm"]}, {"bucket": "cold"}, False),
    ({"field": "score", "gte": 80}, {"score": 80.0}, True),
    ({"field": "score", "gte": 80}, {"score": 79.5}, False),
    ({"all": [{"field": "country", "eq": "GB"}, {"field": "interest", "eq": "shoes"}]},
     GB_SHOES, True),
    ({"all": [{"field": "country", "eq": "GB"}, {"field": "interest", "eq": "software"}]},
     GB_SHOES, False),
    ({"any": [{"field": "country", "eq": "US"}, {"field": "language", "eq": "en"}]},
     GB_SHOES, True),
    ({"not": {"field": "country", "eq": "GB"}}, GB_SHOES, False),
    (None, {}, True),
]
# fmt: on


@pytest.mark.parametrize(("when", "facts", "matches"), CONDITIONS)
def test_rule_condition_decides_whether_the_lead_goes_to_its_queue(
    when: dict[str, Any] | None, facts: dict[str, Any], matches: bool
) -> None:
    expected = ("r", "a") if matches else ("default", "general")
    assert match_rule(facts, routing(("r", when, "a"))) == expected


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"country": "GB", "interest": "shoes"}, ("gb-shoes", "a")),
        ({"country": "GB", "interest": "software"}, ("gb-any", "b")),
        ({"country": "US", "interest": "shoes"}, ("shoes-anywhere", "c")),
        ({"country": "US", "interest": "software"}, ("default", "general")),
    ],
)
def test_first_matching_rule_wins(facts: dict[str, Any], expected: tuple[str, str]) -> None:
    rules = routing(
        (
            "gb-shoes",
            {"all": [{"field": "country", "eq": "GB"}, {"field": "interest", "eq": "shoes"}]},
            "a",
        ),
        ("gb-any", {"field": "country", "eq": "GB"}, "b"),
        ("shoes-anywhere", {"field": "interest", "eq": "shoes"}, "c"),
    )
    assert match_rule(facts, rules) == expected


def test_lead_with_no_matching_rule_goes_to_the_default_queue() -> None:
    assert match_rule({"country": "JP"}, routing()) == ("default", "general")


def test_lead_facts_add_score_and_bucket_to_the_profile() -> None:
    facts = lead_facts({"country": "GB", "utm": {"source": "x"}}, score=72.5, bucket="hot")
    assert facts == {"country": "GB", "utm": {"source": "x"}, "score": 72.5, "bucket": "hot"}
    assert match_rule(facts, routing(("hot", {"field": "score", "gt": 70}, "a"))) == ("hot", "a")
