"""Who is who: configured identity rules (normalised keys, free mail never matches, missing
fields), and within one intake batch: new people, the same person twice, rule matches."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from services.capture.domain.cleaning import clean_lead
from services.capture.domain.identity import (
    MatchRule,
    RuleMatch,
    keys_of,
    resolve_batch,
    rule_candidates,
    rule_matches,
)
from services.capture.domain.merge import merge_profile
from shared.contracts.accounts import company_key

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


@pytest.mark.parametrize(
    ("one", "two"),
    [
        ("ACME Shoes Ltd.", "Acme shoes"),
        ("Müller GmbH & Co. KG", "müller"),
        ("  Globex,  Inc ", "GLOBEX"),
    ],
)
def test_company_names_that_differ_trivially_share_a_key(one: str, two: str) -> None:
    assert company_key(one) == company_key(two)


def test_the_rule_key_joins_normalised_fields() -> None:
    lead = asdict(clean_lead({"email": "Ana@Acme.example", "company": "ACME Ltd"}))
    assert DOMAIN_COMPANY.key(lead) == "domain-company:acme.example|acme"


def test_free_mail_and_missing_fields_never_match() -> None:
    gmail = asdict(clean_lead({"email": "ana@gmail.com", "company": "Acme"}))
    no_company = asdict(clean_lead({"email": "ana@acme.example"}))
    assert keys_of((DOMAIN_COMPANY,), gmail) == []
    assert keys_of((DOMAIN_COMPANY,), no_company) == []


def test_a_rule_with_unknown_fields_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown: shoe_size"):
        MatchRule("odd", ("company", "shoe_size"))


def test_a_rule_merge_keeps_the_first_email_and_records_the_other() -> None:
    first = asdict(clean_lead({"email": "ana@acme.example", "company": "Acme"}))
    other = clean_lead({"email": "a.silva@acme.example", "company": "Acme", "title": "CTO"})
    merged, changes = merge_profile(first, other)
    assert merged["email"] == "ana@acme.example"
    assert merged["attributes"]["alternate_emails"] == ["a.silva@acme.example"]
    assert {c.field for c in changes} == {"title", "attributes.alternate_emails"}
    assert merge_profile(merged, other)[1] == []


def test_only_submissions_unknown_by_email_or_phone_with_rule_keys_are_rule_candidates() -> None:
    leads = [
        clean_lead({"email": "ana@acme.example", "company": "Acme"}),
        clean_lead({"email": "bo@acme.example", "company": "Acme Ltd"}),
        clean_lead({"email": "cy@gmail.com", "company": "Acme"}),
    ]
    candidates = rule_candidates(
        leads,
        _keys("ana@acme.example", "bo@acme.example", "cy@gmail.com"),
        {"ana@acme.example"},
        (DOMAIN_COMPANY,),
    )
    assert candidates == {1: ["domain-company:acme.example|acme"]}


def test_a_rule_match_takes_the_first_rule_in_order_that_found_a_lead() -> None:
    candidates = {0: ["first:x", "second:y"], 1: ["first:z"], 2: ["second:y"]}
    found = {"second:y": "lead-1"}
    assert rule_matches(candidates, found) == {
        0: RuleMatch("lead-1", "second"), 2: RuleMatch("lead-1", "second"),
    }  # fmt: skip
