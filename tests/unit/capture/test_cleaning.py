"""Capture's cleaning rules: what a submitted lead becomes, and what is refused."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.capture.domain.cleaning import clean_lead, normalise_country, tidy_name
from services.capture.domain.lead import InvalidLead


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
        ("ana", "ana"),  # issue 10: names are kept as the person typed them
        ("API", "API"),
        ("ANA MARIA", "ANA MARIA"),
        ("McDonald", "McDonald"),
        ("  van  der Berg ", "van der Berg"),  # only runs of spaces collapse
        ("de la Cruz", "de la Cruz"),
    ],
)
def test_names_are_kept_as_typed(raw: str, expected: str) -> None:
    assert tidy_name(raw) == expected
    assert clean_lead({"email": "a@b.example", "first_name": raw}).first_name == expected


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
        ({"email": "a\x00@b.example"}, {"email"}),
        ({"email": "nope", "phone": "12", "country": "Atlantis"}, {"email", "phone"}),
        ({"email": 42, "company": "Acme"}, {"email"}),
    ],
)
def test_only_a_lead_nobody_can_contact_is_refused_naming_the_contacts(
    raw: dict[str, Any], fields: set[str]
) -> None:
    with pytest.raises(InvalidLead) as err:
        clean_lead(raw)
    assert {p.field for p in err.value.problems} == fields


@pytest.mark.parametrize(
    "phone",
    [
        "+1 555 0100",  # a test number
        "+44 20 7183 875",  # a typo: one digit short
        "020 7183 8750",  # a local format, no country to read it in
        "call me",
        "12",
        "+1 (415) 555-01OO",
    ],
)
def test_a_valid_email_with_any_phone_string_is_kept_with_the_phone_flagged(phone: str) -> None:
    lead = clean_lead({"email": "ana@example.com", "phone": phone, "first_name": "Ana"})
    assert (lead.email, lead.phone, lead.phone_raw) == ("ana@example.com", None, phone)
    assert [(f.field, f.raw) for f in lead.data_quality] == [("phone", phone)]
    profile = lead.as_profile()
    assert profile["phone_raw"] == phone and profile["data_quality"][0]["field"] == "phone"


@pytest.mark.parametrize(
    "raw",
    [
        {"email": "jane.doe@@example", "phone": "+44 20 7183 875"},
        {"email": "jane doe@example.com", "phone": "+1 555 0100", "country": "US"},
        {"email": "jane@example", "phone": "020 7183 875", "country": "GB"},
    ],
)
def test_a_problem_names_the_field_and_never_repeats_the_address_or_number(
    raw: dict[str, Any],
) -> None:
    with pytest.raises(InvalidLead) as err:
        clean_lead(raw)
    problems = " ".join(p.problem for p in err.value.problems)
    assert {p.field for p in err.value.problems} == {"email", "phone"}
    assert raw["email"] not in problems and raw["phone"] not in problems
    assert "jane" not in problems and "7183" not in problems and "0100" not in problems


def test_a_phone_extension_is_kept_beside_the_e164_number() -> None:
    lead = clean_lead({"email": "a@b.example", "phone": "+1 415 555 0100 ext 12"})
    assert (lead.phone, lead.attributes["phone_extension"], lead.data_quality) == (
        "+14155550100", "12", (),
    )  # fmt: skip


def test_a_valid_phone_with_a_bad_email_is_kept_with_the_email_flagged() -> None:
    lead = clean_lead({"email": "ana at example", "phone": "+44 20 7183 8750"})
    assert (lead.email, lead.email_raw, lead.phone) == (None, "ana at example", "+442071838750")
    assert [f.field for f in lead.data_quality] == ["email"]


@pytest.mark.parametrize(
    ("raw", "field", "value", "raw_kept"),
    [
        ({"country": "Atlantis"}, "country", None, "Atlantis"),
        ({"language": "english"}, "language", None, "english"),
        ({"company_size": -1}, "company_size", None, -1),
        ({"company_size": True}, "company_size", None, True),
        ({"company_size": "lots"}, "company_size", None, "lots"),
        ({"company": "x" * 300}, "company", "x" * 256, "x" * 300),
        ({"company": ["Acme"]}, "company", None, ["Acme"]),
        ({"attributes": []}, "attributes", {}, []),
        ({"company": "Ac\udaedme"}, "company", "Ac\ufffdme", "Ac\ufffdme"),
    ],
)
def test_a_field_that_does_not_clean_is_flagged_and_the_lead_kept(
    raw: dict[str, Any], field: str, value: Any, raw_kept: Any
) -> None:
    lead = clean_lead({"email": "a@b.example", **raw})
    assert lead.email == "a@b.example"
    assert getattr(lead, field) == value
    assert [(f.field, f.raw) for f in lead.data_quality] == [(field, raw_kept)]


def test_numbers_for_text_fields_are_read_as_text_exactly() -> None:
    lead = clean_lead({"phone": 442071838750, "country": "GB", "company": 3.0})
    assert (lead.phone, lead.company, lead.data_quality) == ("+442071838750", "3", ())
    assert clean_lead({"email": "a@b.example", "company_size": "250"}).company_size == 250


def test_a_phone_alone_is_enough_to_contact_the_lead() -> None:
    lead = clean_lead({"phone": "+44 20 7183 8750"})
    assert (lead.email, lead.phone) == (None, "+442071838750")


def test_what_storage_would_refuse_is_repaired_and_flagged_and_big_ints_become_text() -> None:
    attributes = {"n": 2**64, "id": 2**53 + 1, "small": 2**53, "k": ["x", "\x00"]}
    lead = clean_lead({"email": "a@b.example", "attributes": attributes})
    assert lead.attributes == {
        "n": str(2**64), "id": str(2**53 + 1), "small": 2**53, "k": ["x", "\ufffd"],
    }  # fmt: skip
    assert [(f.field, f.raw) for f in lead.data_quality] == [("attributes.k[1]", "\ufffd")]


@settings(max_examples=300, deadline=None)
@given(phone=st.text(max_size=60))
def test_any_phone_string_beside_a_valid_email_never_costs_the_lead(phone: str) -> None:
    """Whatever the phone says (unicode, control characters, digits), the lead is kept with
    its e-mail; a phone that does not clean is kept raw and flagged, never dropped silently."""
    lead = clean_lead({"email": "ana@example.com", "phone": phone})
    assert lead.email == "ana@example.com"
    if lead.phone is None and phone.strip():  # kept as sent (repaired if unstorable), flagged
        assert [f.raw for f in lead.data_quality if f.field == "phone"], lead.data_quality
    lead.as_profile()  # and it can be stored and published
