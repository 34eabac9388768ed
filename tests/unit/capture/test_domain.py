"""Capture's cleaning rules: what a submitted lead becomes, and what is refused."""

from dataclasses import asdict
from typing import Any

import pytest

from services.capture.domain import (
    InvalidLead,
    clean_lead,
    merge_profile,
    normalise_country,
    tidy_name,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("GB", "GB"),
        ("gb", "GB"),
        ("GBR", "GB"),
        ("United Kingdom", "GB"),
        ("uk", "GB"),
        ("Deutschland", None),  # not an English name pycountry knows: refused below
        ("Germany", "DE"),
        (" united states ", "US"),
        ("USA", "US"),
    ],
)
def test_countries_become_iso_alpha_2(raw: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="unknown country"):
            normalise_country(raw)
    else:
        assert normalise_country(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ana", "Ana"),
        ("ANA MARIA", "Ana Maria"),
        ("jean-luc", "Jean-Luc"),
        ("McDonald", "McDonald"),  # mixed case is left as typed
        ("  van  der Berg ", "van der Berg"),
    ],
)
def test_names_are_title_cased_only_when_typed_all_lower_or_upper(raw: str, expected: str) -> None:
    assert tidy_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "field", "value"),
    [
        ({"email": "  Ana@Example.COM "}, "email", "ana@example.com"),
        ({"phone": "020 7183 8750", "country": "GB"}, "phone", "+442071838750"),
        ({"phone": "+49 30 901820"}, "phone", "+4930901820"),
        ({"email": "a@b.example", "source": "Google-Ads"}, "source", "google-ads"),
        ({"email": "a@b.example"}, "source", "api"),
        ({"email": "a@b.example", "utm_medium": "CPC"}, "channel", "cpc"),
        ({"email": "a@b.example", "utm_campaign": "launch"}, "campaign", "launch"),
        ({"email": "a@b.example", "interest": " Shoes "}, "interest", "shoes"),
        ({"email": "a@b.example", "language": "EN"}, "language", "en"),
    ],
)
def test_fields_are_normalised(raw: dict[str, Any], field: str, value: Any) -> None:
    assert getattr(clean_lead(raw), field) == value


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        ({}, {"email", "phone"}),
        ({"first_name": "Ana"}, {"email", "phone"}),
        ({"email": "not-an-email"}, {"email"}),
        ({"phone": "12"}, {"phone"}),
        ({"phone": "020 7183 8750"}, {"phone"}),  # national number without a country
        ({"email": "a@b.example", "country": "Atlantis"}, {"country"}),
        ({"email": "a@b.example", "language": "english"}, {"language"}),
        ({"email": "a@b.example", "company_size": -1}, {"company_size"}),
        ({"email": "a@b.example", "company_size": True}, {"company_size"}),
        ({"email": "a@b.example", "company": "x" * 300}, {"company"}),
        ({"email": "a@b.example", "company": 42}, {"company"}),
        ({"email": "a@b.example", "attributes": []}, {"attributes"}),
        ({"email": "a@b.example", "attributes": {"n": ["ok", "bad\x00"]}}, {"attributes.n[1]"}),
        ({"email": "a\x00@b.example"}, {"email"}),
    ],
)
def test_every_problem_names_its_field(raw: dict[str, Any], fields: set[str]) -> None:
    with pytest.raises(InvalidLead) as err:
        clean_lead(raw)
    assert {p.field for p in err.value.problems} == fields


def test_a_phone_alone_is_enough_to_contact_the_lead() -> None:
    lead = clean_lead({"phone": "+44 20 7183 8750"})
    assert (lead.email, lead.phone) == (None, "+442071838750")


def test_a_merge_fills_and_updates_but_keeps_first_touch_and_identity() -> None:
    first = {"email": "a@b.example", "title": "Dev", "source": "web", "utm_campaign": "spring"}
    existing = asdict(clean_lead({**first, "attributes": {"k": 1, "j": 2}}))
    later = {"email": "a@b.example", "title": "CTO", "company": "Acme", "source": "ads"}
    incoming = clean_lead({**later, "utm_campaign": "autumn", "attributes": {"k": 3}})
    merged, changes = merge_profile(existing, incoming)
    assert [(c.field, c.old, c.new) for c in changes] == [
        ("company", None, "Acme"), ("title", "Dev", "CTO"), ("attributes.k", 1, 3),
    ]  # fmt: skip
    assert merged["source"] == "web" and merged["campaign"] == "spring"
    assert merged["attributes"] == {"k": 3, "j": 2}


def test_a_merge_never_erases_and_keeps_the_matching_phone() -> None:
    existing = asdict(clean_lead({"phone": "+442071838750", "company": "Acme"}))
    incoming = clean_lead({"phone": "+44 20 7183 8750", "first_name": "bo"})
    merged, changes = merge_profile(existing, incoming, keep_phone=True)
    assert [c.field for c in changes] == ["first_name"]
    assert merged["company"] == "Acme" and merged["phone"] == "+442071838750"
    assert merge_profile(merged, incoming, keep_phone=True)[1] == []


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"email": "a@b.example", "company": "Ac\udaedme"}, "company"),
        ({"email": "a@b.example", "attributes": {"n": 2**64}}, "attributes.n"),
        ({"email": "a@b.example", "attributes": {"k": ["x", "\x00"]}}, "attributes.k[1]"),
    ],
)
def test_what_storage_would_refuse_is_named(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidLead) as refused:
        clean_lead(raw)
    assert refused.value.problems[0].field == field
