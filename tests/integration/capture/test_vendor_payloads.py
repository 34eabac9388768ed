"""Issue 10, against the real app (real PostgreSQL and broker): vendors' own payloads, posted
byte for byte with the vendor's content type and signature. Every payload that carries a
person becomes a lead with its contact and metadata (a value that does not clean is kept raw
and flagged); every test, ping or verification delivery gets a 2xx and stores nothing; one bad
lead of several never sinks the others; a browser's Web-to-Lead post is sent on to retURL.

The fixtures are in ``tests/fixtures/vendors`` (each names the vendor document it follows).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import yaml

from services.capture.config import Settings
from services.capture.main import create_app
from services.capture.sources.auth import hash_api_key
from shared.contracts.topics import LEAD_CAPTURED
from tests.support.app import running_app
from tests.support.kafka import Bus
from tests.support.vendors import Payload, fixture, hex_hmac

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

KEY = "lf_test_key_for_vendor_payloads"
SECRETS = {
    "LEADFLOW_VP_META_APP": "meta-app-secret",
    "LEADFLOW_VP_META_VERIFY": "verify-me",
    "LEADFLOW_VP_META_TOKEN": "page-token",
    "LEADFLOW_VP_GOOGLE": "8c088ebe8437458c20795dbe4a07ee73",  # the fixtures' google_key
    "LEADFLOW_VP_HUBSPOT": "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy",  # HubSpot's documented one
    "LEADFLOW_VP_INTERCOM": "intercom-client-secret",
    "LEADFLOW_VP_TYPEFORM": "typeform-secret",
}
PUBLIC = "https://leads.example.com"


def config() -> dict[str, Any]:
    keyed = {"type": "api_key", "api_keys": [{"id": "k", "hash": hash_api_key(KEY)}]}
    by_query = {**keyed, "allow_query_key": True}
    return {
        "capture": {
            "sources": [
                {"name": "website", "kind": "json", "auth": keyed},
                {"name": "sf-form", "kind": "salesforce_web_to_lead", "auth": {"type": "none"}},
                {"name": "meta", "kind": "meta_lead_ads", "channel": "paid-social",
                 "auth": {"type": "meta", "secret_env": "LEADFLOW_VP_META_APP",
                          "verify_token_env": "LEADFLOW_VP_META_VERIFY"},
                 "graph": {"access_token_env": "LEADFLOW_VP_META_TOKEN",
                           "api_url": "http://127.0.0.1:9", "timeout_s": 1}},
                {"name": "google-ads", "kind": "google_ads",
                 "auth": {"type": "google_ads", "secret_env": "LEADFLOW_VP_GOOGLE"}},
                {"name": "hubspot-forms", "kind": "hubspot_forms",
                 "auth": {"type": "hubspot", "secret_env": "LEADFLOW_VP_HUBSPOT",
                          "public_url": PUBLIC}},
                {"name": "intercom", "kind": "intercom",
                 "auth": {"type": "intercom", "secret_env": "LEADFLOW_VP_INTERCOM"}},
                {"name": "typeform", "kind": "typeform",
                 "auth": {"type": "typeform", "secret_env": "LEADFLOW_VP_TYPEFORM"}},
                {"name": "unbounce", "kind": "unbounce", "auth": by_query},
                {"name": "mailchimp", "kind": "mailchimp", "auth": by_query},
            ]
        }
    }  # fmt: skip


@pytest.fixture
async def client(
    tmp_path: Path, database_url: str, bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "leadflow.yaml"
    path.write_text(yaml.safe_dump(config()))
    settings = Settings(database_url=database_url, **bus.settings, config_file=path)
    async with running_app(create_app(settings)) as http:
        yield http


def typeform_signature(body: bytes) -> str:
    digest = hmac.new(SECRETS["LEADFLOW_VP_TYPEFORM"].encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def sent_as(source: str, payload: Payload) -> tuple[str, dict[str, str]]:
    """The URL and headers the vendor sends ``payload`` with (signed as it signs)."""
    url, plain = f"/v1/sources/{source}/leads", {"content-type": payload.content_type}
    match source:
        case "meta":
            sig = "sha256=" + hex_hmac(SECRETS["LEADFLOW_VP_META_APP"], payload.body)
            return url, {**plain, "X-Hub-Signature-256": sig}
        case "hubspot-forms":  # a v1 signature, as HubSpot's webhooks API sends
            digest = hashlib.sha256(SECRETS["LEADFLOW_VP_HUBSPOT"].encode() + payload.body)
            return url, {**plain, "X-HubSpot-Signature": digest.hexdigest(),
                         "X-HubSpot-Signature-Version": "v1"}  # fmt: skip
        case "intercom":
            sig = "sha1=" + hex_hmac(SECRETS["LEADFLOW_VP_INTERCOM"], payload.body, hashlib.sha1)
            return url, {**plain, "X-Hub-Signature": sig}
        case "typeform":
            return url, {**plain, "Typeform-Signature": typeform_signature(payload.body)}
        case "unbounce" | "mailchimp":
            return f"{url}?api_key={KEY}", plain
    return url, plain


async def post(client: httpx.AsyncClient, source: str, name: str) -> httpx.Response:
    payload = fixture(name)
    url, headers = sent_as(source, payload)
    return await client.post(url, content=payload.body, headers=headers)


async def profile(client: httpx.AsyncClient, lead_id: str) -> dict[str, Any]:
    resp = await client.get(f"/v1/leads/{lead_id}")
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()["profile"]
    return found


async def is_new(client: httpx.AsyncClient, email: str) -> bool:
    """Nothing was stored for ``email``: posting the person now makes a new lead."""
    resp = await client.post(
        "/v1/sources/website/leads", json={"email": email}, headers={"X-Api-Key": KEY}
    )
    assert resp.status_code in (200, 202), resp.text
    return resp.status_code == 202


# source, fixture, then what the stored profile must hold (contact and metadata)
PEOPLE: list[tuple[str, str, dict[str, Any]]] = [
    ("intercom", "intercom_contact_lead_created.json", {
        "email": "priya.nair@example.in", "phone": "+919876543210", "first_name": "Priya",
        "last_name": "Nair", "country": "IN", "utm": {"source": "google", "medium": "cpc",
        "campaign": "diwali-promo"}, "attributes.contact_id": "6762f0dd1bb69f9f2193bb83",
        "attributes.vendor_created_at": 1734537437, "attributes.seats": 250,
    }),
    ("typeform", "typeform_generated_refs.json", {
        "email": "mckenzie.vdberg@example.nl", "phone": "+31201234567",
        "first_name": "McKenzie", "last_name": "van der Berg", "company": "API Gateway BV",
        "title": "Head of IT", "attributes.phone_extension": "89",
        "attributes.vendor_created_at": "2026-11-25T09:30:02Z",
    }),
    ("google-ads", "google_ads_lead.json", {
        "email": "mary.delacruz@example.com", "phone": "+16505550123", "first_name": "Mary",
        "last_name": "de la Cruz", "company": "ACME API Tools",
        "attributes.campaign_id": "9007199254740993", "attributes.adgroup_id": "9007199254740995",
        "attributes.creative_id": "123456789012345678",
        "attributes.vendor_created_at": "2026-11-25 09:30:00+00:00",
    }),
    ("hubspot-forms", "hubspot_forms.json", {
        "email": "jeff@example.com", "first_name": "Jeff", "last_name": "Jones",
        "attributes.consent.consent.consentToProcess": True,
        "attributes.vendor_created_at": "1517927174000",
    }),
    ("unbounce", "unbounce_local_phone.txt", {
        "email": "jo.oneil@example.ie", "phone": None, "phone_raw": "(01) 555 0199 ext 4",
        "first_name": "jo", "last_name": "O'Neil", "country": None,
        "attributes.consent": {"gdpr_consent": "yes"},
    }),
    ("sf-form", "salesforce_web_to_lead.txt", {
        "email": "ana.silva@example.co.uk", "attributes.oid": "00D5e000000IZ3B",
        "attributes.retURL": "https://www.example.co.uk/thank-you",
    }),
]  # fmt: skip


def dig(data: dict[str, Any], path: str) -> Any:
    for step in path.split("."):
        data = data.get(step) if isinstance(data, dict) else None  # type: ignore[assignment]
    return data


async def test_every_payload_that_carries_a_person_becomes_a_lead_with_its_metadata(
    client: httpx.AsyncClient, bus: Bus
) -> None:
    ids = {}
    for source, name, expected in PEOPLE:
        resp = await post(client, source, name)
        if resp.status_code == 303:  # the browser's form post goes on to retURL
            assert resp.headers["location"] == "https://www.example.co.uk/thank-you"
            lead_id = resp.headers["leadflow-lead-id"]
        else:
            assert resp.status_code == 202, (name, resp.text)
            lead_id = resp.json()["lead_id"]
        ids[name] = lead_id
        stored = await profile(client, lead_id)
        assert stored["source"] == source
        for path, value in expected.items():
            assert dig(stored, path) == value, (name, path, dig(stored, path))
    flagged = await profile(client, ids["unbounce_local_phone.txt"])
    assert {q["field"] for q in flagged["data_quality"]} == {"phone", "country"}
    # the event carries the flags and the exact ids too (no reader rounds a big id)
    async with bus.reader(LEAD_CAPTURED) as out:
        wanted = set(ids.values())
        await out.wait_for(lambda r: wanted <= {x["subject"] for x in r}, what="vendor leads")
    events = {r["subject"]: r["data"]["lead"] for r in out.records}
    assert events[ids["unbounce_local_phone.txt"]]["phone_raw"] == "(01) 555 0199 ext 4"
    google = events[ids["google_ads_lead.json"]]
    assert google["attributes"]["creative_id"] == "123456789012345678"


async def test_tests_pings_and_url_checks_get_a_2xx_and_store_nothing(
    client: httpx.AsyncClient,
) -> None:
    google = await post(client, "google-ads", "google_ads.json")  # is_test: true
    assert google.status_code == 200, google.text
    assert google.json()["status"] == "test" and "nothing stored" in google.json()["message"]
    ping = await post(client, "intercom", "intercom_ping.json")
    assert ping.status_code == 200 and ping.json()["status"] == "test", ping.text
    check = await client.get(f"/v1/sources/mailchimp/leads?api_key={KEY}")
    assert check.status_code == 200 and check.json()["status"] == "test", check.text
    wrong = await client.get("/v1/sources/mailchimp/leads?api_key=lf_wrong")
    assert wrong.status_code == 401
    partial = fixture("typeform.json").body.replace(
        b'"event_type": "form_response"', b'"event_type": "form_response_partial"'
    )
    unfinished = await client.post(
        "/v1/sources/typeform/leads",
        content=partial,
        headers={
            "content-type": "application/json",
            "typeform-signature": typeform_signature(partial),
        },
    )
    assert unfinished.status_code == 200 and unfinished.json()["results"] == []
    assert await is_new(client, "test@example.com")  # the Google test lead's person


async def test_each_lead_of_a_multi_lead_payload_is_answered_on_its_own(
    client: httpx.AsyncClient,
) -> None:
    resp = await post(client, "meta", "meta_lead_ads_leads_edge.json")
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert [r["status"] for r in out["results"]] == ["accepted", "rejected", "accepted"]
    assert out["results"][1]["problems"][0]["field"] == "data[1].field_data"
    maria = await profile(client, out["results"][0]["lead_id"])
    assert (maria["first_name"], maria["last_name"], maria["channel"]) == (
        "María", "López", "paid-social",
    )  # fmt: skip
    assert maria["attributes"]["adset_id"] == "120210000000000002"
    assert maria["attributes"]["consent"][0]["checkbox_key"] == "marketing_opt_in"
    tom = await profile(client, out["results"][2]["lead_id"])
    assert (tom["phone"], tom["phone_raw"]) == (None, "07700 900123")  # no country to read it in


async def test_signatures_are_checked_whichever_scheme_the_vendor_uses(
    client: httpx.AsyncClient,
) -> None:
    payload = fixture("hubspot_forms.json")
    url, headers = sent_as("hubspot-forms", payload)
    forged = {**headers, "X-HubSpot-Signature": "0" * 64}
    assert (await client.post(url, content=payload.body, headers=forged)).status_code == 401
    # v2 signs method + the URL HubSpot called (the public one) + body
    v2 = hashlib.sha256(
        SECRETS["LEADFLOW_VP_HUBSPOT"].encode() + b"POST" + f"{PUBLIC}{url}".encode() + payload.body
    ).hexdigest()
    signed = {**headers, "X-HubSpot-Signature": v2, "X-HubSpot-Signature-Version": "v2"}
    resp = await client.post(url, content=payload.body, headers=signed)
    assert resp.status_code in (200, 202), resp.text
    ping = fixture("intercom_ping.json")
    url, headers = sent_as("intercom", ping)
    bad = {**headers, "x-hub-signature": "sha1=" + "0" * 40}
    assert (await client.post(url, content=ping.body, headers=bad)).status_code == 401


async def test_a_browser_post_goes_on_to_an_http_return_url_only(
    client: httpx.AsyncClient,
) -> None:
    form = "first_name=Ana&email=ana.redirect%40example.com&oid=00D5e000000IZ3B&retURL="
    unsafe = await client.post(
        "/v1/sources/sf-form/leads",
        content=(form + quote("javascript:alert(1)")).encode(),
        headers={"content-type": "application/x-www-form-urlencoded", "accept": "text/html"},
    )
    assert unsafe.status_code == 202, unsafe.text  # never redirected to a script URL
    stored = await profile(client, unsafe.json()["lead_id"])
    assert stored["attributes"]["retURL"] == "javascript:alert(1)"  # kept as data, not followed
    nobody = await client.post(
        "/v1/sources/sf-form/leads",
        content=b"first_name=Ana&retURL=https%3A%2F%2Fexample.com%2Fthanks",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert nobody.status_code == 422  # no way to contact: refused, not redirected


async def test_flags_and_vendor_tests_are_counted_in_metrics(client: httpx.AsyncClient) -> None:
    async def counted(metric: str, label: str) -> float:
        text = (await client.get("/metrics")).text
        for line in text.splitlines():
            if line.startswith(f"{metric}{{") and label in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    phones = await counted("leadflow_flagged_values_total", 'field="phone"')
    tests = await counted("leadflow_vendor_tests_total", 'source="intercom"')
    resp = await client.post(
        "/v1/sources/website/leads",
        json={"email": "counted@example.com", "phone": "12"},
        headers={"X-Api-Key": KEY},
    )
    assert resp.status_code == 202, resp.text
    assert (await post(client, "intercom", "intercom_ping.json")).status_code == 200
    assert await counted("leadflow_flagged_values_total", 'field="phone"') == phones + 1
    assert await counted("leadflow_vendor_tests_total", 'source="intercom"') == tests + 1


async def test_a_csv_row_with_a_bad_phone_or_country_is_imported_flagged(
    client: httpx.AsyncClient,
) -> None:
    csv = (
        "email,phone,country,first_name\r\n"
        "row.two@example.com,+1 555 0100,Atlantis,ANNE-MARIE\r\n"
        "not-an-email,12,GB,Nobody\r\n"
    )
    resp = await client.post(
        "/v1/sources/website/csv",
        content=csv.encode(),
        headers={"content-type": "text/csv", "x-api-key": KEY},
    )
    assert resp.status_code == 200, resp.text
    rows = resp.json()["rows"]
    assert [(r["row"], r["status"]) for r in rows] == [(2, "accepted"), (3, "rejected")]
    assert {p["field"] for p in rows[1]["problems"]} == {"email", "phone"}
    stored = await profile(client, rows[0]["lead_id"])
    assert (stored["phone_raw"], stored["first_name"]) == ("+1 555 0100", "ANNE-MARIE")
    assert {q["field"] for q in stored["data_quality"]} == {"phone", "country"}
