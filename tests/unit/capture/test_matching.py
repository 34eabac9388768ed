"""Configured identity rules: normalised keys, free mail never matches, missing fields."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from services.capture.domain import clean_lead, merge_profile
from services.capture.matching import MatchRule, keys_of
from shared.contracts.accounts import company_key

DOMAIN_COMPANY = MatchRule("domain-company", ("email_domain", "company"))


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
