"""Vendor webhook parsers: each vendor's documented payload becomes the right clean lead, and a
body that is not the vendor's shape is a PayloadError naming the path, never a crash."""

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from services.capture.domain.cleaning import clean_lead
from services.capture.domain.lead import LEAD_FIELDS, CleanLead, InvalidLead
from services.capture.sources.base import (
    InboundRequest,
    PayloadError,
    UnreadableLead,
    VendorPing,
)
from services.capture.sources.vendors import (
    PARSERS,
    LeadgenRef,
    google_key_of,
    leadgen_ids,
    mailchimp,
    make_generic_parser,
    make_linkedin_parser,
    make_mapped,
    typeform,
)
from services.capture.sources.vendors.generic import parse_path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vendors"
FORM = "application/x-www-form-urlencoded"


def fixture(name: str) -> InboundRequest:
    """A fixture file: ``# ...`` header lines (source URL, ``content-type:``), then the body."""
    raw = (FIXTURES / name).read_bytes()
    content_type = "application/json"
    while raw.startswith(b"#"):
        line, _, raw = raw.partition(b"\n")
        key, _, value = line.lstrip(b"# ").decode().partition(":")
        if key == "content-type":
            content_type = value.strip()
    if content_type.startswith("multipart/"):
        raw = raw.replace(b"\n", b"\r\n")  # as on the wire
    else:
        raw = raw.rstrip(b"\n")
    return InboundRequest(body=raw, content_type=content_type)


def as_json(body: Any) -> InboundRequest:
    return InboundRequest(body=json.dumps(body).encode())


def as_form(body: str) -> InboundRequest:
    return InboundRequest(body=body.encode(), content_type=FORM)


def fields_of(lead: CleanLead, names: dict[str, Any]) -> dict[str, Any]:
    return {name: getattr(lead, name) for name in names}


DOCUMENTED: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    # kind, fixture, expected clean fields, expected attributes (a subset)
    (
        "salesforce_web_to_lead",
        "salesforce_web_to_lead.txt",
        {
            "email": "ana.silva@example.co.uk",
            "phone": "+442071838750",
            "first_name": "Ana",
            "last_name": "Silva",
            "company": "Acme Shoes Ltd",
            "country": "GB",
            "title": "Head of Retail",
            "company_size": 250,
            "campaign": "7015e000000XYZ1",
        },
        {"lead_source": "Web", "mobile": "07700 900123", "00N5e00000AbC13": "Trail;Road"},
    ),
    (
        "meta_lead_ads",
        "meta_lead_ads.json",
        {
            "email": "joe@example.com",
            "phone": "+16505550123",
            "first_name": "Joe",
            "last_name": "Example",
            "company": "Example Motors",
            "country": "US",
            "title": "Fleet Manager",
        },
        {"car_make": "Honda", "selected_dealer": "99213450", "lead_id": "444444444444"},
    ),
    (
        "google_ads",
        "google_ads_lead.json",  # issue 10: google_ads.json (is_test) is a test, not a lead
        {
            "email": "mary.delacruz@example.com",
            "phone": "+16505550123",
            "first_name": "Mary",
            "last_name": "de la Cruz",
            "company": "ACME API Tools",
            "country": "US",
        },
        {
            "is_test": False,
            "campaign_id": "9007199254740993",  # beyond 2^53: kept exactly, as text
            "adgroup_id": "9007199254740995",
            "creative_id": "123456789012345678",
            "form_id": 40000000000,
            "vendor_created_at": "2026-11-25 09:30:00+00:00",
        },
    ),
    (
        "linkedin",
        "linkedin.json",
        {
            "email": "kevjohonson@email.com",
            "phone": "+525550802000",
            "first_name": "Kevin",
            "last_name": "Johonson",
            "company": "Highlander Cranberries LLC",
            "country": "MX",
            "title": "Senior Engineer",
            "utm": {"source": "linkedin", "campaign": "q3_enterprise"},
            "campaign": "q3_enterprise",
        },
        {
            "Cuál es tu color favorito": "Rojo",
            "Correo electrónico del trabajo": "kjohonson@email.com",
            "consents": [{"accepted": True, "consentId": 0}],
            "test_lead": True,
            "hidden_field": "abc678",
        },
    ),
    (
        "hubspot_forms",
        "hubspot_forms.json",
        {
            "email": "jeff@example.com",
            "phone": "+16175550142",
            "first_name": "Jeff",
            "last_name": "Jones",
            "company": "Jones Outfitters",
            "country": "US",
            "company_size": 120,
            "channel": "email",
            "campaign": "spring_launch",
        },
        {"how_did_you_hear": "Podcast", "pageName": "Example page"},
    ),
    (
        "hubspot_contact",
        "hubspot_contact.json",
        {
            "email": "adrian.mott@example.com",
            "phone": "+16175550142",
            "first_name": "Adrian",
            "last_name": "Mott",
            "company": "HubSpot",
            "country": "US",
            "industry": "computer_software",
            "company_size": 5000,
            "channel": "paid_search",
            "campaign": "brand_q2",
        },
        {"contact_id": 61574, "mobilephone": "617-555-0199", "city": "Cambridge"},
    ),
    (
        "typeform",
        "typeform.json",
        {
            "email": "laura@example.com",
            "phone": "+61291234567",
            "first_name": "Laura",
            "last_name": "Diaz",
            "company": "Harbour Analytics",
            "country": "AU",
            "utm": {
                "source": "facebook",
                "medium": "paid_social",
                "campaign": "city_survey",
            },
            "channel": "paid_social",
        },
        {
            "Which pictures do you like? You can choose as many as you like.": [
                "London",
                "Sydney",
            ],
            "readable_ref_number1": 5,
            "user_id": "abc123456",
            "token": "a3a12ec67a1365927098a606107fac15",
        },
    ),
    (
        "unbounce",
        "unbounce.txt",
        {
            "email": "ana.silva@example.co.uk",
            "phone": "+442071838750",
            "first_name": "Ana",
            "last_name": "Silva",
            "company": "Acme Shoes Ltd",
            "country": "GB",
            "utm": {"source": "google", "medium": "cpc", "campaign": "spring_sale"},
        },
        {"interests": ["Running", "Trail"], "ip_address": "200.121.220.179", "variant": "a"},
    ),
    (
        "mailchimp",
        "mailchimp.txt",
        {
            "email": "api@mailchimp.com",
            "phone": "+14048065214",
            "first_name": "Mailchimp",
            "last_name": "API",  # as typed (issue 10)
            "country": "US",
        },
        {"id": "8a25ff1d98", "list_id": "a6b5da1054", "INTERESTS": "Group1,Group2"},
    ),
    (
        "jotform",
        "jotform.txt",
        {
            "email": "ana.silva@example.co.uk",
            "phone": "+442071838750",
            "first_name": "Ana",
            "last_name": "Silva",
            "company": "Acme Shoes Ltd",
            "country": "GB",
            "utm": {"source": "newsletter"},
        },
        {"howDid": "A friend", "form_id": "241234567890123", "form_title": "Wholesale enquiry"},
    ),
    (
        "calendly",
        "calendly.json",
        {
            "email": "test@example.com",
            "phone": "+4930901820",
            "first_name": "John",
            "last_name": "Doe",
            "company": "Doe Logistics",
            "country": "DE",
            "utm": {"source": "linkedin", "medium": "social", "campaign": "demo_q2"},
        },
        {
            "What topics would you like to discuss?": "Project planning and timelines",
            "timezone": "Europe/Berlin",
            "scheduled_event.name": "15 Minute Meeting",
        },
    ),
    (
        "json",
        "json.json",
        {
            "email": "ana.silva@example.co.uk",
            "phone": "+442071838750",
            "first_name": "Ana",
            "last_name": "Silva",
            "company": "Acme Shoes Ltd",
            "country": "GB",
            "interest": "shoes",
        },
        {"shoe_size": 38},
    ),
]


@pytest.mark.parametrize(
    ("kind", "name", "expected", "attributes"), DOCUMENTED, ids=[c[0] for c in DOCUMENTED]
)
def test_documented_payload_becomes_the_right_clean_lead(
    kind: str, name: str, expected: dict[str, Any], attributes: dict[str, Any]
) -> None:
    raw = PARSERS[kind](fixture(name))[0]
    assert set(raw) <= LEAD_FIELDS | {"attributes"}, "shaped like a POST /v1/leads body"
    lead = clean_lead(raw)
    assert fields_of(lead, expected) == expected
    assert {k: lead.attributes.get(k) for k in attributes} == attributes


def test_vendor_plumbing_and_secrets_stay_out_of_attributes() -> None:
    salesforce = PARSERS["salesforce_web_to_lead"](fixture("salesforce_web_to_lead.txt"))[0]
    assert not {"debug", "debugEmail", "captcha_settings"} & set(salesforce["attributes"])
    google = PARSERS["google_ads"](fixture("google_ads_lead.json"))[0]
    assert "google_key" not in google["attributes"]


def test_salesforce_keeps_the_org_id_and_return_url_a_crm_wants() -> None:
    """Issue 10: oid names the Salesforce org the form posts for; retURL where it returns."""
    salesforce = PARSERS["salesforce_web_to_lead"](fixture("salesforce_web_to_lead.txt"))[0]
    assert salesforce["attributes"]["oid"] == "00D5e000000IZ3B"
    assert salesforce["attributes"]["retURL"] == "https://www.example.co.uk/thank-you"


def test_a_google_test_lead_is_read_then_answered_as_a_test() -> None:
    with pytest.raises(VendorPing) as test:
        PARSERS["google_ads"](fixture("google_ads.json"))
    assert "is_test" in test.value.message and "email" in test.value.message


def test_a_value_repeated_by_the_vendor_is_not_kept_twice() -> None:
    mailchimp = PARSERS["mailchimp"](fixture("mailchimp.txt"))[0]
    assert "EMAIL" not in mailchimp["attributes"]  # data[email] and merges[EMAIL] agree
    calendly = PARSERS["calendly"](fixture("calendly.json"))[0]
    assert "full_name" not in calendly["attributes"]  # name == first_name + last_name
    [other] = PARSERS["json"](as_json({"email": "a@b.co"}))
    assert other == {"email": "a@b.co"}


def test_json_passthrough_keeps_each_lead_and_reads_numeric_phones() -> None:
    leads = PARSERS["json"](fixture("json.json"))
    assert [clean_lead(raw).phone for raw in leads] == ["+442071838750", "+16505550123"]
    assert leads[1]["attributes"] == {"note": "called twice"}


def test_meta_webhook_names_the_leads_to_fetch_and_is_not_a_lead() -> None:
    request = fixture("meta_lead_ads_webhook.json")
    assert leadgen_ids(request) == [
        LeadgenRef("123123123123", "12312312312", "12312312312", "123123123", 1440120384),
        LeadgenRef("123123123124", "12312312312", "12312312312", "123123123", 1440120384),
    ]
    with pytest.raises(PayloadError) as err:
        PARSERS["meta_lead_ads"](request)
    assert err.value.problems[0].field == "entry"


def test_meta_reads_the_forms_leads_edge() -> None:
    lead = json.loads(fixture("meta_lead_ads.json").body)
    leads = PARSERS["meta_lead_ads"](as_json({"data": [lead, lead], "paging": {}}))
    assert [raw["email"] for raw in leads] == ["joe@example.com"] * 2


def test_meta_webhook_skips_other_page_fields_and_needs_a_leadgen_id() -> None:
    other = {"object": "page", "entry": [{"changes": [{"field": "feed", "value": {}}]}]}
    assert leadgen_ids(as_json(other)) == []
    broken = {"object": "page", "entry": [{"changes": [{"field": "leadgen", "value": {}}]}]}
    with pytest.raises(PayloadError, match=r"entry\[0\]\.changes\[0\]\.value\.leadgen_id"):
        leadgen_ids(as_json(broken))


def test_google_key_is_read_for_the_auth_layer_and_none_when_absent() -> None:
    assert google_key_of(fixture("google_ads.json")) == "8c088ebe8437458c20795dbe4a07ee73"
    for junk in (b"", b"not json", b"[]", b'{"google_key": 5}'):
        assert google_key_of(InboundRequest(body=junk)) is None


def test_linkedin_answers_are_read_through_a_configured_mapping_without_the_form() -> None:
    response = json.loads(fixture("linkedin.json").body)
    del response["form"]
    parse = make_linkedin_parser({307234246: "EMAIL", "107234246": "first_name"})
    [raw] = parse(as_json({"elements": [response]}))
    assert (raw["email"], raw["first_name"]) == ("kevjohonson@email.com", "Kevin")
    assert raw["attributes"]["question_207234246"] == "Johonson"
    with pytest.raises(ValueError, match="no predefined field"):
        make_linkedin_parser({1: "FAVOURITE_COLOUR"})


def test_hubspot_contact_reads_v3_properties_and_lists() -> None:
    contact = {"id": "512", "properties": {"email": "bh@hubspot.com", "firstname": "Brian"}}
    leads = PARSERS["hubspot_contact"](as_json({"results": [contact, contact]}))
    assert leads[0] == {
        "email": "bh@hubspot.com",
        "first_name": "Brian",
        "attributes": {"contact_id": "512"},
    }
    assert len(leads) == 2


def test_hubspot_webhook_event_is_refused_as_carrying_no_contact() -> None:
    event = [{"objectId": 1246965, "subscriptionType": "contact.creation", "portalId": 33}]
    with pytest.raises(PayloadError, match=r"\[0\]: is a webhook event"):
        PARSERS["hubspot_contact"](as_json(event))


@pytest.mark.parametrize("event", ["unsubscribe", "cleaned", "upemail", "campaign", "future"])
def test_mailchimp_events_other_than_subscribe_and_profile_make_no_lead(event: str) -> None:
    assert PARSERS["mailchimp"](as_form(f"type={event}&data[email]=a@b.co")) == []


@pytest.mark.parametrize(
    ("body", "kind", "reason"),
    [
        ("type=unsubscribe&data[email]=A%40B.co&data[action]=unsub", "unsubscribed", None),
        ("type=cleaned&data[email]=a%40b.co&data[reason]=hard", "bounced", "hard"),
        ("type=cleaned&data[email]=a%40b.co", "bounced", None),
        ("type=cleaned&data[email]=a%40b.co&data[reason]=abuse", "unsubscribed", "abuse"),
    ],
)
def test_mailchimp_opt_outs_are_read_as_the_leads_activity(
    body: str, kind: str, reason: str | None
) -> None:
    found = mailchimp.opt_out(as_form(body + "&fired_at=2009-03-26+21%3A35%3A57"))
    assert found is not None
    assert (found.email, found.kind, found.details.get("reason")) == ("a@b.co", kind, reason)
    assert found.at is not None and found.at.isoformat() == "2009-03-26T21:35:57+00:00"


@pytest.mark.parametrize(
    "body", ["type=subscribe&data[email]=a%40b.co", "type=unsubscribe", "type=upemail"]
)
def test_mailchimp_events_that_are_no_opt_out_of_an_address(body: str) -> None:
    assert mailchimp.opt_out(as_form(body)) is None


def test_mailchimp_profile_update_is_a_lead() -> None:
    [raw] = PARSERS["mailchimp"](as_form("type=profile&data[merges][EMAIL]=a%40b.co"))
    assert raw["email"] == "a@b.co"


@pytest.mark.parametrize("event", ["invitee.canceled", "invitee_no_show.created"])
def test_calendly_events_other_than_invitee_created_make_no_lead(event: str) -> None:
    assert PARSERS["calendly"](as_json({"event": event, "payload": {}})) == []


def test_typeform_partial_responses_make_no_lead() -> None:
    assert PARSERS["typeform"](as_json({"event_type": "form_response_partial"})) == []


def test_jotform_urlencoded_with_area_and_number_phone() -> None:
    raw = {"q3_fullName": "Maria Rossi", "q4_phone": {"area": "312", "phone": "3456789"}}
    body = "formID=1&rawRequest=" + json.dumps(raw).replace("&", "%26")
    [lead] = PARSERS["jotform"](as_form(body))
    assert clean_lead({**lead, "country": "IT"}).phone == "+393123456789"
    assert (lead["first_name"], lead["last_name"]) == ("Maria", "Rossi")


def test_form_fields_repeated_names_are_joined() -> None:
    [raw] = PARSERS["salesforce_web_to_lead"](as_form("last_name=X&00N1=Trail&00N1=Road"))
    assert raw["attributes"] == {"00N1": "Trail;Road"}


GENERIC_MAPPING = {
    "email": "contact.emails[0].value",
    "phone": "contact.phones[0].value",
    "first_name": "contact.name.given",
    "last_name": "contact.name.family",
    "company": "organisation.name",
    "country": "organisation.country",
    "company_size": "organisation.employees",
    "utm_source": "tracking.utm.source",
    "utm_medium": "tracking.utm.medium",
    "utm_campaign": "tracking.utm.campaign",
}


def test_generic_parser_follows_the_configured_paths() -> None:
    [raw] = make_generic_parser(GENERIC_MAPPING)(fixture("generic.json"))
    lead = clean_lead(raw)
    assert fields_of(lead, {"email": 0, "phone": 0, "company": 0, "company_size": 0}) == {
        "email": "maria.rossi@example.it",
        "phone": "+393123456789",
        "company": "Rossi Calzature",
        "company_size": 45,
    }
    assert (lead.first_name, lead.last_name, lead.country) == ("Maria", "Rossi", "IT")
    assert lead.utm == {"source": "google", "medium": "cpc", "campaign": "scarpe_2024"}
    assert lead.attributes == {"submitted": "2024-05-02T10:00:00Z"}


def test_generic_parser_reads_bracketed_form_bodies_and_can_drop_the_rest() -> None:
    mapping = {"email": "lead.email", "attributes.ref": "ref"}
    parse = make_generic_parser(mapping, keep_unmapped=False)
    assert parse(as_form("lead[email]=a%40b.co&ref=x&other=y")) == [
        {"email": "a@b.co", "attributes": {"ref": "x"}}
    ]


def test_default_generic_parser_takes_same_named_fields() -> None:
    body = {"email": "a@b.co", "attributes": {"x": 1}, "y": 2}
    expected = {"email": "a@b.co", "attributes": {"x": 1, "y": 2}}
    assert PARSERS["generic"](as_json(body)) == [expected]
    assert make_generic_parser({})(as_json(body)) == [expected]


def test_mapped_parser_overrides_fields_from_vendor_extras() -> None:
    parse = make_mapped(PARSERS["typeform"], {"interest": "attributes.readable_ref_long_text"})
    [raw] = parse(fixture("typeform.json"))
    assert raw["interest"].startswith("It's cold right now!")
    assert raw["email"] == "laura@example.com"


@pytest.mark.parametrize("path", ["", "a..b", "a[x]", "a.[0]", ".a", "a[0]b", "a["])
def test_bad_paths_are_configuration_errors(path: str) -> None:
    with pytest.raises(ValueError):
        parse_path(path)


def test_paths_and_targets_are_checked_when_configured() -> None:
    assert parse_path("form_response.answers[2].email") == ("form_response", "answers", 2, "email")
    with pytest.raises(ValueError, match="not a lead field"):
        make_generic_parser({"shoe_size": "size"})


MALFORMED: list[tuple[str, Any, str, str]] = [
    # kind, body (str = form-encoded), field named, problem
    ("meta_lead_ads", {"field_data": "email"}, "field_data", "must be a list"),
    (
        "linkedin",
        {"elements": [{"formResponse": {"answers": [{"questionId": 1, "answerDetails": 2}]}}]},
        "elements[0].formResponse.answers[0].answerDetails",
        "must be an object",
    ),
    ("linkedin", {"formResponse": {}}, "formResponse.answers", "must be a list"),
    ("hubspot_forms", {"fields": {"email": "a@b.co"}}, "fields", "must be a list"),
    (
        "hubspot_contact",
        {"properties": {"email": {"value": ["a@b.co"]}}},
        "properties.email.value",
        "must be a string",
    ),
    ("typeform", {"event_type": "form_delete"}, "event_type", "must be 'form_response'"),
    ("calendly", {"event": "invitee.created"}, "payload", "must be an object"),
    ("unbounce", "page_id=1&data.json=%7Bnot", "data.json", "is not valid JSON"),
    ("jotform", "formID=1&rawRequest=%5B1%5D", "rawRequest", "must be an object"),
    ("jotform", "formID=1", "rawRequest", "is required"),
    ("mailchimp", "type=subscribe", "data", "must be an object"),
    ("mailchimp", "type=subscribe&data=x&data[email]=y", "data[email]", "conflicts"),
    ("salesforce_web_to_lead", "foo=bar", "body", "no Web-to-Lead fields"),
]


@pytest.mark.parametrize(("kind", "body", "field", "problem"), MALFORMED)
def test_malformed_body_is_refused_naming_the_path(
    kind: str, body: Any, field: str, problem: str
) -> None:
    request = as_form(body) if isinstance(body, str) else as_json(body)
    with pytest.raises(PayloadError) as err:
        PARSERS[kind](request)
    [found] = err.value.problems
    assert found.field == field
    assert problem in found.problem


JUNK = [b"", b"[]", b"{}", b"not json", b"42", b"\xff\xfe", b'{"email": NaN}', b"[" * 100_000]


@pytest.mark.parametrize("kind", sorted(PARSERS))
@pytest.mark.parametrize("content_type", ["application/json", FORM])
def test_junk_bodies_are_a_payload_error_never_a_crash(kind: str, content_type: str) -> None:
    for body in JUNK:
        with pytest.raises(PayloadError):
            PARSERS[kind](InboundRequest(body=body, content_type=content_type))


def test_junk_webhook_bodies_are_a_payload_error() -> None:
    for body in JUNK:
        with pytest.raises(PayloadError):
            leadgen_ids(InboundRequest(body=body))


def test_broken_multipart_is_a_payload_error() -> None:
    request = InboundRequest(body=b"--x\r\nnot a part", content_type="multipart/form-data")
    with pytest.raises(PayloadError):
        PARSERS["jotform"](request)


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("json", [{"email": "a@b.co"}, 3, {"email": "c@d.co"}]),
        ("meta_lead_ads", {"data": [
            {"id": "1", "field_data": [{"name": "email", "values": ["a@b.co"]}]},
            {"id": "2", "field_data": "oops"},
            {"id": "3", "field_data": [{"name": "email", "values": ["c@d.co"]}]},
        ]}),
        ("hubspot_contact", {"results": [
            {"id": "1", "properties": {"email": "a@b.co"}},
            [],
            {"id": "3", "properties": {"email": "c@d.co"}},
        ]}),
    ],
)  # fmt: skip
def test_one_unreadable_lead_of_several_stands_alone(kind: str, body: Any) -> None:
    """Issue 10: each lead of a multi-lead payload is answered on its own."""
    leads = PARSERS[kind](InboundRequest(body=json.dumps(body).encode()))
    assert [isinstance(lead, UnreadableLead) for lead in leads] == [False, True, False]
    assert leads[1].problems[0].field.startswith(("[1]", "data[1]", "results[1]"))  # type: ignore[attr-defined]
    assert [lead.get("email") for lead in (leads[0], leads[2])] == ["a@b.co", "c@d.co"]


def test_meta_skips_blank_and_unreadable_answers() -> None:
    """Issue 10: an optional question left blank never costs the lead."""
    lead = {
        "id": "1",
        "created_time": "2026-11-25T09:30:00+0000",
        "field_data": [
            {"name": "email", "values": ["joe@example.com"]},
            {"name": "phone_number"},  # no values at all
            {"name": "company_name", "values": []},
            {"name": "job_title", "values": [None, ""]},
            {"name": "budget", "values": [{"v": 1}]},  # not an answer Meta sends: skipped
            {"values": ["nameless"]},
            "junk",
            {"name": "seats", "values": [12]},
        ],
        "custom_disclaimer_responses": [{"checkbox_key": "gdpr", "is_checked": "1"}],
    }
    (raw,) = PARSERS["meta_lead_ads"](as_json(lead))
    assert raw["email"] == "joe@example.com"
    assert not {"phone", "company", "title"} & set(raw)
    assert raw["attributes"]["seats"] == "12" and "budget" not in raw["attributes"]
    assert raw["attributes"]["vendor_created_at"] == "2026-11-25T09:30:00+0000"
    assert raw["attributes"]["consent"] == [{"checkbox_key": "gdpr", "is_checked": "1"}]


def test_typeform_reads_answers_by_type_and_by_title_when_refs_are_generated() -> None:
    (raw,) = PARSERS["typeform"](fixture("typeform_generated_refs.json"))
    lead = clean_lead(raw)
    assert (lead.first_name, lead.last_name, lead.company, lead.title) == (
        "McKenzie", "van der Berg", "API Gateway BV", "Head of IT",
    )  # fmt: skip
    assert (lead.email, lead.phone) == ("mckenzie.vdberg@example.nl", "+31201234567")
    assert lead.attributes["phone_extension"] == "89"
    assert lead.attributes["How big is your team?"] == "51-200"
    assert lead.attributes["consent"] == {"I agree to be contacted about my request (GDPR)": True}
    assert lead.attributes["vendor_created_at"] == "2026-11-25T09:30:02Z"


@pytest.mark.parametrize(
    ("title", "target"),
    [
        ("What's your first name?", "first_name"),
        ("Surname", "last_name"),
        ("Company size", "company_size"),
        ("Company / organisation", "company"),
        ("Your e-mail", "email"),
        ("Mobile number", "phone"),
        ("Full name", "full_name"),
        ("Thanks, {{field:abc}}! What's it like where you live?", None),
    ],
)
def test_typeform_titles_name_lead_fields(title: str, target: str | None) -> None:
    assert typeform.by_title(title) == target


def test_hubspot_form_keeps_legal_consent_and_the_submission_time() -> None:
    (raw,) = PARSERS["hubspot_forms"](fixture("hubspot_forms.json"))
    consent = raw["attributes"]["consent"]["consent"]
    assert consent["consentToProcess"] is True
    assert consent["communications"][0]["subscriptionTypeId"] == 999
    assert raw["attributes"]["vendor_created_at"] == "1517927174000"


def test_our_own_shape_with_wrong_types_is_left_to_cleaning_to_flag() -> None:
    """Issue 10: a value of the wrong type is kept raw and flagged, not refused; only a lead
    with no valid contact is (by cleaning, naming the field)."""
    (raw,) = PARSERS["json"](as_json({"email": "a@b.co", "company": ["Acme"], "attributes": []}))
    lead = clean_lead(raw)
    assert lead.email == "a@b.co" and lead.company is None
    assert {(f.field, str(f.raw)) for f in lead.data_quality} == {
        ("company", "['Acme']"), ("attributes", "[]"),
    }  # fmt: skip
    (nobody,) = PARSERS["json"](as_json({"email": ["a@b.co"]}))
    with pytest.raises(InvalidLead) as refused:
        clean_lead(nobody)
    assert [p.field for p in refused.value.problems] == ["email"]


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        ("typeform", {"form_response": {"answers": [
            {}, {"type": "email"}, {"type": "email", "email": {"x": 1}},
            {"type": "email", "email": "a@b.co"},
        ]}}, {"email": "a@b.co"}),
        ("google_ads", {"user_column_data": [
            {"column_id": "EMAIL", "string_value": "a@b.co"},
            {"column_id": "PHONE_NUMBER", "string_value": ["+1"]},
        ]}, {"email": "a@b.co", "attributes": {"phone_number": ["+1"]}}),
        ("unbounce", "data.json=" + quote('{"email": ["a@b.co"], "consent": [{}], "n": [2]}'),
         {"email": "a@b.co", "attributes": {"consent": [{}], "n": "2"}}),
        ("calendly", {"event": "invitee.created", "payload": {
            "email": "a@b.co", "questions_and_answers": [{"question": "Budget", "answer": {}}],
        }}, {"email": "a@b.co"}),
    ],
)  # fmt: skip
def test_a_blank_or_unknown_answer_is_skipped_not_refused(
    kind: str, body: Any, expected: dict[str, Any]
) -> None:
    """Issue 10: one field the parser cannot read never sinks the lead."""
    request = (
        InboundRequest(body=body.encode(), content_type="application/x-www-form-urlencoded")
        if isinstance(body, str)
        else as_json(body)
    )
    (raw,) = PARSERS[kind](request)
    assert {k: raw[k] for k in expected} == expected
