"""Capture's merge rules: how a later submission of a known person changes their lead."""

from dataclasses import asdict

from services.capture.domain.cleaning import clean_lead
from services.capture.domain.merge import merge_profile


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


def test_a_merge_moves_flags_with_the_values() -> None:
    first = clean_lead({"email": "a@b.example", "phone": "12", "country": "Atlantis"})
    existing = first.as_profile()
    later = clean_lead({"email": "a@b.example", "phone": "+44 20 7183 8750"})
    merged, changes = merge_profile(existing, later)
    assert (merged["phone"], merged["phone_raw"]) == ("+442071838750", None)
    assert [f["field"] for f in merged["data_quality"]] == ["country"]
    assert {c.field for c in changes} == {"phone", "phone_raw", "data_quality"}
    again, none = merge_profile(merged, later)
    assert none == [] and again == merged
