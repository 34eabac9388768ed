"""Who is who within one intake batch: new people, the same person twice, rule matches."""

from __future__ import annotations

from services.capture.domain import clean_lead
from services.capture.identity import resolve_batch
from services.capture.matching import MatchRule

DOMAIN_COMPANY = MatchRule("domain-company", ("email_domain", "company"))


def _keys(*emails: str) -> list[str]:
    return list(emails)


def test_each_new_person_of_a_batch_becomes_one_lead() -> None:
    leads = [clean_lead({"email": "a@acme.example"}), clean_lead({"email": "b@acme.example"})]
    batch = resolve_batch(leads, _keys("a@acme.example", "b@acme.example"), set(), (), {})
    assert list(batch.new_people) == ["a@acme.example", "b@acme.example"]
    assert batch.via == {}


def test_a_known_person_is_left_to_the_merge() -> None:
    leads = [clean_lead({"email": "a@acme.example"})]
    batch = resolve_batch(leads, _keys("a@acme.example"), {"a@acme.example"}, (), {})
    assert batch.new_people == {}


def test_the_same_person_twice_in_a_batch_is_one_lead_with_both_submissions() -> None:
    leads = [
        clean_lead({"email": "a@acme.example", "title": "Dev"}),
        clean_lead({"email": "a@acme.example", "company": "Acme"}),
    ]
    batch = resolve_batch(leads, _keys("a@acme.example", "a@acme.example"), set(), (), {})
    person = batch.new_people["a@acme.example"]
    assert (person.profile["title"], person.profile["company"]) == ("Dev", "Acme")
    assert person.first is leads[0]


def test_a_rule_match_within_the_batch_joins_the_earlier_new_lead_and_names_the_rule() -> None:
    leads = [
        clean_lead({"email": "a@acme.example", "company": "Acme Ltd"}),
        clean_lead({"email": "b@acme.example", "company": "ACME"}),
    ]
    batch = resolve_batch(
        leads, _keys("a@acme.example", "b@acme.example"), set(), (DOMAIN_COMPANY,), {}
    )
    assert batch.keys == ["a@acme.example", "a@acme.example"]
    assert batch.via == {1: "domain-company"}
    assert list(batch.new_people) == ["a@acme.example"]
