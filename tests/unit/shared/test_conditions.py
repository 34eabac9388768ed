"""The condition language shared by scoring rules, routing rules and subscriptions."""

from typing import Any

import pytest

from shared.conditions import ConditionError, evaluate, parse_condition

LEAD = {
    "country": "GB",
    "interest": "Shoes",
    "company_size": 250,
    "title": "VP of Sales",
    "tags": ["vip", "Returning"],
    "utm": {"source": "google"},
    "attributes": {"budget": "50000"},
    "empty": "",
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"field": "country", "eq": "gb"}, True),  # case-insensitive
        ({"field": "country", "ne": "DE"}, True),
        ({"field": "interest", "in": ["shoes", "apparel"]}, True),
        ({"field": "interest", "not_in": ["shoes"]}, False),
        ({"field": "company_size", "gte": 250}, True),
        ({"field": "company_size", "gt": 250}, False),
        ({"field": "company_size", "lt": 1000}, True),
        ({"field": "company_size", "lte": 249}, False),
        ({"field": "attributes.budget", "gte": 10000}, True),  # numeric strings compare as numbers
        ({"field": "title", "contains": "vp"}, True),
        ({"field": "tags", "contains": "returning"}, True),  # list membership
        ({"field": "title", "matches": "^(vp|head|chief)"}, True),
        ({"field": "utm.source", "eq": "google"}, True),  # dotted path
        ({"field": "industry", "exists": False}, True),
        ({"field": "empty", "exists": True}, False),  # blank counts as absent
        ({"field": "industry", "eq": "retail"}, False),  # missing fails a positive test
        ({"field": "industry", "ne": "retail"}, True),
        ({"field": "title", "gte": 3}, False),  # not a number
        ({"all": [{"field": "country", "eq": "GB"}, {"field": "interest", "eq": "shoes"}]}, True),
        ({"any": [{"field": "country", "eq": "DE"}, {"field": "country", "eq": "GB"}]}, True),
        ({"not": {"field": "country", "eq": "GB"}}, False),
        ({"all": []}, True),
        ({"any": []}, False),
        (None, True),  # no condition always matches
    ],
)
def test_evaluates_each_operator_on_a_lead(condition: Any, expected: bool) -> None:
    assert evaluate(parse_condition(condition), LEAD) is expected


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("country", "when: a condition must be a mapping"),
        ({"field": "country"}, "when: needs exactly one operator"),
        ({"field": "country", "eq": "GB", "ne": "DE"}, "when: needs exactly one operator"),
        ({"field": "country", "equals": "GB"}, "when.equals: unknown operator"),
        ({"country": "GB"}, "when: needs 'field'"),
        ({"field": "", "eq": "GB"}, "when.field: must be a non-empty string"),
        ({"field": "country", "in": "GB"}, "when.in: must be a non-empty list"),
        ({"field": "size", "gte": "ten"}, "when.gte: must be a number"),
        ({"field": "size", "gte": True}, "when.gte: must be a number"),
        ({"field": "x", "exists": "yes"}, "when.exists: must be true or false"),
        ({"field": "x", "matches": "(unclosed"}, "when.matches: invalid regular expression"),
        ({"field": "x", "eq": [1]}, "when.eq: must be a single value"),
        ({"all": [{"field": "x"}]}, "when.all[0]: needs exactly one operator"),
        ({"all": {"field": "x", "eq": 1}}, "when.all: must be a list"),
        ({"not": {"field": "x", "eq": 1}, "field": "y"}, "when: 'not' must stand alone"),
    ],
)
def test_a_malformed_condition_is_refused_naming_where(condition: Any, message: str) -> None:
    with pytest.raises(ConditionError) as err:
        parse_condition(condition)
    assert str(err.value).startswith(message)
