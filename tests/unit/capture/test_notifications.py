"""Notifications that only point at records: what is fetched, what is skipped, and how a
fetched record reads (HubSpot's v3 contact, LinkedIn's response mapped through its form)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from services.capture.domain.cleaning import clean_lead
from services.capture.sources.base import InboundRequest, PayloadError
from services.capture.sources.notifications import FetchRef, Skipped, linkedin_form_of, notice_of
from services.capture.sources.vendors import PARSERS
from tests.unit.capture.test_vendors import as_json, fixture


def body_of(name: str) -> Any:
    return json.loads(fixture(name).body)


def test_a_meta_notification_points_at_each_leadgen_id_with_its_ids() -> None:
    notice = notice_of("meta_lead_ads", fixture("meta_lead_ads_webhook.json"))
    assert notice is not None and notice.skipped == []
    assert [r.record_id for r in notice.refs] == ["123123123123", "123123123124"]
    first = notice.refs[0]
    assert first.vendor == "meta"
    assert first.notified_at == datetime.fromtimestamp(1440120384, UTC)
    assert first.context == {"page_id": "123123123", "form_id": "12312312312",
                             "ad_id": "12312312312"}  # fmt: skip


def test_metas_test_button_is_skipped_as_a_test() -> None:
    notice = notice_of("meta_lead_ads", fixture("meta_lead_ads_test_webhook.json"))
    assert notice is not None
    assert notice.refs == [] and notice.skipped == [Skipped("444444444444", "test")]


def test_a_meta_lead_itself_is_no_notification_and_a_broken_one_is_refused() -> None:
    assert notice_of("meta_lead_ads", fixture("meta_lead_ads.json")) is None
    broken = {"object": "page", "entry": [{"changes": [{"field": "leadgen", "value": {}}]}]}
    with pytest.raises(PayloadError, match="leadgen_id"):
        notice_of("meta_lead_ads", as_json(broken))
    change = {"field": "leadgen", "value": {"leadgen_id": "../x"}}
    odd = {"object": "page", "entry": [{"changes": [change]}]}
    notice = notice_of("meta_lead_ads", as_json(odd))
    assert notice is not None and notice.refs == [] and notice.skipped[0].record_id is None


def test_hubspot_events_fetch_each_contact_once_and_skip_other_objects() -> None:
    notice = notice_of("hubspot_contact", fixture("hubspot_contact_events.json"))
    assert notice is not None
    assert notice.refs == [
        FetchRef(
            "hubspot",
            "1246965",
            datetime.fromtimestamp(1462216307.950, UTC),  # the latest event of that contact
            {"portal_id": "62515", "subscription_type": "contact.propertyChange"},
        )
    ]
    assert notice.skipped == [Skipped("5612332", "not a contact change")]


def test_hubspot_generic_object_events_merges_pings_and_big_ids() -> None:
    events = [
        {"subscriptionType": "object.creation", "objectTypeId": "0-1", "objectId": 2**60},
        {"subscriptionType": "object.creation", "objectTypeId": "0-2", "objectId": 7},
        {"subscriptionType": "contact.merge", "objectId": 5, "primaryObjectId": 6},
        {"subscriptionType": "contact.deletion", "objectId": 8},
    ]
    notice = notice_of("hubspot_contact", as_json(events))
    assert notice is not None
    assert [r.record_id for r in notice.refs] == [str(2**60), "6"]
    assert [s.record_id for s in notice.skipped] == ["7", "8"]
    ping = notice_of("hubspot_contact", as_json([]))
    assert ping is not None and ping.refs == [] and ping.skipped == []
    assert notice_of("hubspot_contact", fixture("hubspot_contact.json")) is None


def test_a_linkedin_notification_points_at_the_response_and_its_form() -> None:
    notice = notice_of("linkedin", fixture("linkedin_lead_notification.json"))
    assert notice is not None
    (ref,) = notice.refs
    assert ref.record_id == "249592fc-d272-44ba-a7db-c2bdce579507-6"
    assert ref.context["form_id"] == "7234246" and ref.context["lead_type"] == "SPONSORED"
    assert ref.notified_at == datetime.fromtimestamp(1689894599.288, UTC)
    deleted = {**body_of("linkedin_lead_notification.json"), "leadAction": "DELETED"}
    gone = notice_of("linkedin", as_json(deleted))
    assert gone is not None and gone.refs == [] and gone.skipped[0].reason == "leadAction DELETED"
    assert notice_of("linkedin", fixture("linkedin.json")) is None
    assert notice_of("json", fixture("linkedin_lead_notification.json")) is None


def test_a_body_that_is_not_json_is_left_to_the_parser() -> None:
    assert notice_of("linkedin", InboundRequest(body=b"\xff not json")) is None


def test_hubspots_v3_contact_becomes_a_lead() -> None:
    (raw,) = PARSERS["hubspot_contact"](fixture("hubspot_contact_v3.json"))
    lead = clean_lead({**raw, "source": "hubspot"})
    assert (lead.email, lead.first_name, lead.last_name, lead.company, lead.title) == (
        "bh@hubspot.com", "Brian", "Halligan", "HubSpot", "CEO",
    )  # fmt: skip
    assert (lead.phone, lead.country) == ("+16172531000", "US")
    assert raw["attributes"]["contact_id"] == "1246965"
    assert raw["attributes"]["hs_lead_status"] == "NEW"


def test_a_linkedin_response_reads_through_its_forms_definition() -> None:
    response = body_of("linkedin_lead_form_response.json")
    bare = PARSERS["linkedin"](as_json(response))[0]
    assert "email" not in bare  # only question ids without the form
    form = body_of("linkedin_lead_form.json")
    (raw,) = PARSERS["linkedin"](as_json({**response, "form": form}))
    lead = clean_lead({**raw, "source": "linkedin"})
    assert (lead.email, lead.first_name, lead.last_name, lead.company, lead.title) == (
        "kevjohonson@email.com", "Kevin", "Johonson", "Highlander Cranberries LLC",
        "Senior Engineer",
    )  # fmt: skip
    assert lead.country == "MX" and lead.phone == "+525550802000"
    assert raw["utm_campaign"] == "q3_enterprise"
    assert raw["attributes"]["¿Dónde creciste?"] == "Mexico"  # custom question: its text


@pytest.mark.parametrize(
    ("urn", "expected"),
    [
        ("urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)", ("7234246", 1)),
        ("urn:li:versionedLeadGenForm:(urn:li:leadGenForm:1, 12)", ("1", 12)),
        ("urn:li:leadGenForm:818", ("818", None)),
        ("urn:li:sponsoredCampaign:1", (None, None)),
        (None, (None, None)),
    ],
)
def test_linkedin_form_urns(urn: Any, expected: tuple[str | None, int | None]) -> None:
    assert linkedin_form_of(urn) == expected
