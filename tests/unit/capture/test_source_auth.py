"""Source authentication, checked against vectors computed per each vendor's document.

The expected signatures below were computed outside this code (``openssl dgst -sha256 -hmac``
over the exact signed content each vendor documents), except Standard Webhooks, whose vector is
the specification's own test vector.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from services.capture.sources import auth
from services.capture.sources.auth import AuthFailure
from services.capture.sources.base import InboundRequest
from services.capture.sources.model import ApiKey, Auth
from services.capture.sources.vendors import google_key_of


def at(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


def request(body: str | bytes, headers: dict[str, str] | None = None, **query: str):
    raw = body.encode() if isinstance(body, str) else body
    return InboundRequest(body=raw, headers=headers or {}, query=query)


def reason(call) -> str:
    with pytest.raises(AuthFailure) as caught:
        call()
    return caught.value.reason


# -- Standard Webhooks --------------------------------------------------------------------

SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1614265330
SW_BODY = '{"test": 2432232314}'
SW_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def sw_headers(sig: str = SW_SIG, ts: int | str = SW_TS, msg_id: str = SW_ID) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig}


def test_standard_webhooks_specification_vector_passes_and_names_the_message() -> None:
    verified = auth.verify_standard_webhooks(
        request(SW_BODY, sw_headers()), SW_SECRET, at(SW_TS + 10), 300
    )
    assert verified.replay_id == SW_ID and verified.signed_at == at(SW_TS)


def test_standard_webhooks_accepts_any_matching_signature_during_secret_rotation() -> None:
    header = f"v1,{base64.b64encode(b'x' * 32).decode()} v2,abc {SW_SIG}"
    req = request(SW_BODY, sw_headers(header))
    assert auth.verify_standard_webhooks(req, SW_SECRET, at(SW_TS), 300).principal


def test_standard_webhooks_agrees_with_the_reference_signer() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    body = '{"email": "ana.silva@example.co.uk"}'
    sig = Webhook(secret).sign("msg_1", now, body)
    req = request(body, sw_headers(sig, int(now.timestamp()), "msg_1"))
    assert auth.verify_standard_webhooks(req, secret, now, 300).replay_id == "msg_1"


@pytest.mark.parametrize(
    ("body", "headers", "now", "expected"),
    [
        (SW_BODY + " ", sw_headers(), SW_TS, "invalid_signature"),  # tampered body
        (SW_BODY, sw_headers(ts=SW_TS + 1), SW_TS, "invalid_signature"),  # tampered timestamp
        (SW_BODY, sw_headers(msg_id="msg_other"), SW_TS, "invalid_signature"),
        (SW_BODY, sw_headers(sig="v1,not-base64!"), SW_TS, "invalid_signature"),
        (SW_BODY, sw_headers(ts="soon"), SW_TS, "invalid_signature"),
        (SW_BODY, {"webhook-id": SW_ID}, SW_TS, "missing_credentials"),
        (SW_BODY, sw_headers(), SW_TS + 301, "stale_timestamp"),
        (SW_BODY, sw_headers(), SW_TS - 301, "stale_timestamp"),  # signed in the future
    ],
)
def test_standard_webhooks_refusals(body, headers, now, expected) -> None:
    req = request(body, headers)
    assert reason(lambda: auth.verify_standard_webhooks(req, SW_SECRET, at(now), 300)) == expected


def test_standard_webhooks_wrong_secret_is_an_invalid_signature() -> None:
    other = "whsec_" + base64.b64encode(b"other-secret-other-secret").decode()
    req = request(SW_BODY, sw_headers())
    assert reason(lambda: auth.verify_standard_webhooks(req, other, at(SW_TS), 300)) == (
        "invalid_signature"
    )


# -- Meta -----------------------------------------------------------------------------------

META_BODY = '{"object":"page","entry":[{"id":"153125381133","time":1438292065}]}'
META_SIG = "sha256=221a9892c8798cdefdeea46d786af116999ec8b569106d63c3cf8f530a77b7b4"


def test_meta_signature_is_the_hex_hmac_of_the_raw_body() -> None:
    req = request(META_BODY, {"x-hub-signature-256": META_SIG})
    assert auth.verify_meta(req, "meta-app-secret").principal == "meta"
    upper = request(META_BODY, {"x-hub-signature-256": "sha256=" + META_SIG[7:].upper()})
    assert auth.verify_meta(upper, "meta-app-secret").principal == "meta"


@pytest.mark.parametrize(
    ("body", "headers", "secret", "expected"),
    [
        (META_BODY, {}, "meta-app-secret", "missing_credentials"),
        (META_BODY, {"x-hub-signature-256": META_SIG}, "another-secret", "invalid_signature"),
        (META_BODY.replace("1438292065", "1438292066"), {"x-hub-signature-256": META_SIG},
         "meta-app-secret", "invalid_signature"),
        (META_BODY, {"x-hub-signature-256": META_SIG[7:]}, "meta-app-secret", "invalid_signature"),
    ],
)  # fmt: skip
def test_meta_refusals(body, headers, secret, expected) -> None:
    assert reason(lambda: auth.verify_meta(request(body, headers), secret)) == expected


def test_meta_handshake_echoes_the_challenge_only_for_the_right_token() -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "meaty"}
    assert auth.meta_challenge(query, "meaty") == "1158201444"
    wrong = {**query, "hub.verify_token": "hamhock"}
    assert reason(lambda: auth.meta_challenge(wrong, "meaty")) == "invalid_verify_token"
    unsubscribe = {**query, "hub.mode": "unsubscribe"}
    assert reason(lambda: auth.meta_challenge(unsubscribe, "meaty")) == "missing_credentials"


# -- Typeform -------------------------------------------------------------------------------

TF_BODY = '{"event_id":"LtWXD3crgy","event_type":"form_response"}'
TF_SIG = "sha256=hckPUzTwds7gwzKBgtaPJAYpEDA8H5c7ryUdr+HH+yU="


def test_typeform_signature_is_sha256_prefix_and_base64_hmac() -> None:
    req = request(TF_BODY, {"typeform-signature": TF_SIG})
    assert auth.verify_typeform(req, "typeform-secret").principal == "typeform"


@pytest.mark.parametrize(
    ("headers", "secret", "expected"),
    [
        ({}, "typeform-secret", "missing_credentials"),
        ({"typeform-signature": TF_SIG}, "wrong", "invalid_signature"),
        ({"typeform-signature": TF_SIG[7:]}, "typeform-secret", "invalid_signature"),
    ],
)
def test_typeform_refusals(headers, secret, expected) -> None:
    assert reason(lambda: auth.verify_typeform(request(TF_BODY, headers), secret)) == expected


# -- HubSpot v3 -----------------------------------------------------------------------------

HS_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
HS_BODY = (
    '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
    '"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,'
    '"changeSource":"CRM","changeFlag":"NEW","appId":54321}]'
)
HS_TS = "1564113600000"  # milliseconds
HS_SIG = "DxmVAjFNa2xfF3YgQjdZP6TNcok9k1oaH7UXombPtvw="
HS_URI = "https://www.example.com/webhook_uri"


def hs(sig: str = HS_SIG, ts: str = HS_TS) -> dict[str, str]:
    return {"x-hubspot-signature-v3": sig, "x-hubspot-request-timestamp": ts}


def test_hubspot_v3_signs_method_uri_body_and_millisecond_timestamp() -> None:
    now = at(1564113600 + 60)
    verified = auth.verify_hubspot_v3(request(HS_BODY, hs()), "POST", HS_URI, HS_SECRET, now, 300)
    assert verified.signed_at == at(1564113600) and verified.replay_id == f"sig:{HS_SIG}"


def test_hubspot_v3_decodes_the_listed_escapes_in_the_uri_it_signs() -> None:
    sig = "1k2ev1ljr1QYd9LSnXlOU+LMnI2OP1Li6il5omw/474="  # over ...?who=a:b@c
    uri = f"{HS_URI}?who=a%3Ab%40c"
    assert auth.hubspot_uri(uri) == f"{HS_URI}?who=a:b@c"
    req = request(HS_BODY, hs(sig))
    assert auth.verify_hubspot_v3(req, "POST", uri, HS_SECRET, at(1564113600), 300)


@pytest.mark.parametrize(
    ("headers", "method", "uri", "now_s", "expected"),
    [
        (hs(), "POST", HS_URI + "/", 1564113600, "invalid_signature"),
        (hs(), "PUT", HS_URI, 1564113600, "invalid_signature"),
        (hs(ts="1564113600001"), "POST", HS_URI, 1564113600, "invalid_signature"),
        (hs(ts="1564113600"), "POST", HS_URI, 1564113600, "invalid_signature"),  # seconds
        ({"x-hubspot-signature-v3": HS_SIG}, "POST", HS_URI, 1564113600, "missing_credentials"),
        (hs(), "POST", HS_URI, 1564113600 + 301, "stale_timestamp"),
    ],
)
def test_hubspot_v3_refusals(headers, method, uri, now_s, expected) -> None:
    req = request(HS_BODY, headers)
    check = lambda: auth.verify_hubspot_v3(req, method, uri, HS_SECRET, at(now_s), 300)  # noqa: E731
    assert reason(check) == expected


# -- HubSpot v1 / v2 (legacy signatures) ---------------------------------------------------

HS_V1 = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"  # HubSpot's v1 doc
HS_V2_GET = "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"  # its v2 doc
HS_V2_POST = "276a2548f0a0181a076d456de09c0e7477ae101ccc16a11600488a77714e9b8d"  # sha256sum


def legacy(sig: str, version: str | None) -> dict[str, str]:
    headers = {"X-HubSpot-Signature": sig}
    if version:
        headers["X-HubSpot-Signature-Version"] = version
    return headers


@pytest.mark.parametrize(
    ("body", "headers", "method", "principal"),
    [
        (HS_BODY, legacy(HS_V1, "v1"), "POST", "hubspot_v1"),
        (HS_BODY, legacy(HS_V1.upper(), None), "POST", "hubspot_v1"),  # v1 when unversioned
        ("", legacy(HS_V2_GET, "v2"), "GET", "hubspot_v2"),
        (HS_BODY, legacy(HS_V2_POST, "V2"), "POST", "hubspot_v2"),
    ],
)
def test_hubspot_v1_and_v2_are_the_documented_sha256_of_secret_and_request(
    body, headers, method, principal
) -> None:
    hubspot = Auth(type="hubspot", secret=HS_SECRET)
    req = request(body, headers)  # mixed-case names, as a proxy may pass them
    verified = auth.verify_request(hubspot, req, method=method, uri=HS_URI, now=at(0))
    assert verified.principal == principal


@pytest.mark.parametrize(
    ("body", "headers", "method", "uri", "expected"),
    [
        (HS_BODY + " ", legacy(HS_V1, "v1"), "POST", HS_URI, "invalid_signature"),
        (HS_BODY, legacy(HS_V2_POST, "v2"), "POST", HS_URI + "/", "invalid_signature"),
        (HS_BODY, legacy(HS_V2_POST, "v2"), "PUT", HS_URI, "invalid_signature"),
        (HS_BODY, legacy(HS_V1, "v9"), "POST", HS_URI, "invalid_signature"),
        (HS_BODY, {}, "POST", HS_URI, "missing_credentials"),
    ],
)
def test_hubspot_legacy_refusals(body, headers, method, uri, expected) -> None:
    hubspot = Auth(type="hubspot", secret=HS_SECRET)
    req = request(body, headers)
    check = lambda: auth.verify_request(hubspot, req, method=method, uri=uri, now=at(0))  # noqa: E731
    assert reason(check) == expected
    wrong = Auth(type="hubspot", secret="another-secret")
    check = lambda: auth.verify_request(wrong, request(HS_BODY, legacy(HS_V1, "v1")),  # noqa: E731
                                        method="POST", uri=HS_URI, now=at(0))  # fmt: skip
    assert reason(check) == "invalid_signature"


def test_hubspot_prefers_v3_when_sent_and_keeps_its_timestamp_check() -> None:
    hubspot = Auth(type="hubspot", secret=HS_SECRET)
    both = request(HS_BODY, {**hs(), **legacy(HS_V1, "v1")})
    now = at(1564113600 + 60)
    assert auth.verify_request(hubspot, both, method="POST", uri=HS_URI, now=now).principal == (
        "hubspot_v3"
    )
    late = at(1564113600 + 3600)
    check = lambda: auth.verify_request(hubspot, both, method="POST", uri=HS_URI, now=late)  # noqa: E731
    assert reason(check) == "stale_timestamp"  # v3 present: no downgrade to the untimed v1


# -- Intercom -------------------------------------------------------------------------------

IC_SECRET = "intercom-client-secret"
IC_BODY = '{"type":"notification_event","topic":"ping"}'
IC_SIG = "sha1=9e8917a4fdd555230bacda28c913e3e456660272"  # openssl dgst -sha1 -hmac


@pytest.mark.parametrize(
    ("body", "headers", "secret", "expected"),
    [
        (IC_BODY, {"X-Hub-Signature": IC_SIG}, IC_SECRET, None),
        (IC_BODY, {"x-hub-signature": IC_SIG.upper().replace("SHA1=", "sha1=")}, IC_SECRET, None),
        (IC_BODY + " ", {"X-Hub-Signature": IC_SIG}, IC_SECRET, "invalid_signature"),
        (IC_BODY, {"X-Hub-Signature": IC_SIG}, "other", "invalid_signature"),
        (IC_BODY, {"X-Hub-Signature": IC_SIG.replace("sha1=", "sha256=")}, IC_SECRET,
         "invalid_signature"),
        (IC_BODY, {}, IC_SECRET, "missing_credentials"),
    ],
)  # fmt: skip
def test_intercom_signature_is_the_hex_hmac_sha1_of_the_body(
    body, headers, secret, expected
) -> None:
    intercom = Auth(type="intercom", secret=secret)
    req = request(body, headers)

    def check() -> auth.Verified:
        return auth.verify_request(intercom, req, method="POST", uri="/", now=at(0))

    if expected is None:
        assert check().principal == "intercom"
    else:
        assert reason(check) == expected


def test_every_scheme_reads_header_names_case_insensitively() -> None:
    typeform = Auth(type="typeform", secret="typeform-secret")
    shouted = request(TF_BODY, {"TYPEFORM-SIGNATURE": TF_SIG})
    assert auth.verify_request(typeform, shouted, method="POST", uri="/", now=NOW).principal
    keyed = Auth(type="api_key", api_keys=(ApiKey("web", DEMO_SHA),))
    mixed = request("{}", {"X-Api-Key": DEMO_KEY})
    assert auth.verify_request(keyed, mixed, method="POST", uri="/", now=NOW).principal


# -- Calendly -------------------------------------------------------------------------------

CAL_BODY = '{"event":"invitee.created","payload":{"email":"test@example.com"}}'
CAL_SIG = "t=1492774577,v1=abea40d8f0e049de90502f76e28841e2259a2e7ffa8334894c4aec20bcaea4a8"


def test_calendly_signs_timestamp_dot_body_in_hex() -> None:
    req = request(CAL_BODY, {"calendly-webhook-signature": CAL_SIG})
    verified = auth.verify_calendly(req, "calendly-signing-key", at(1492774577 + 5), 180)
    assert verified.signed_at == at(1492774577) and verified.replay_id


@pytest.mark.parametrize(
    ("header", "now_s", "expected"),
    [
        (CAL_SIG.replace("t=1492774577", "t=1492774578"), 1492774577, "invalid_signature"),
        ("t=1492774577", 1492774577, "missing_credentials"),
        ("", 1492774577, "missing_credentials"),
        (CAL_SIG, 1492774577 + 181, "stale_timestamp"),
    ],
)
def test_calendly_refusals(header, now_s, expected) -> None:
    req = request(CAL_BODY, {"calendly-webhook-signature": header})
    assert reason(lambda: auth.verify_calendly(req, "calendly-signing-key", at(now_s), 180)) == (
        expected
    )


# -- LinkedIn -------------------------------------------------------------------------------

LI_BODY = '{"leadGenFormResponse":"urn:li:leadGenFormResponse:(urn:li:sponsoredAccount:1,abc)"}'
LI_PREFIXED = "bf12b68784fa002f0e6b8f3b93d4c1540e021b36b08542775e923e49ec436330"
LI_BODY_ONLY = "7b7f67d926f9e688a149ca298102f08db393becab1a1ee091d4162b9a749e960"


@pytest.mark.parametrize(
    "header", [LI_PREFIXED, f"hmacsha256={LI_PREFIXED}", f"hmacsha256={LI_BODY_ONLY}"]
)
def test_linkedin_signature_readings_all_need_the_client_secret(header) -> None:
    req = request(LI_BODY, {"x-li-signature": header})
    assert auth.verify_linkedin(req, "linkedin-client-secret").principal == "linkedin"
    assert reason(lambda: auth.verify_linkedin(req, "other-secret")) == "invalid_signature"


def test_linkedin_challenge_is_the_hex_hmac_of_the_code() -> None:
    code = "890e4665-4dfe-4ab1-b689-ed553bceeed0"
    answer = auth.linkedin_challenge({"challengeCode": code}, "linkedin-client-secret")
    assert answer == {
        "challengeCode": code,
        "challengeResponse": "e9567c49fee6d803311de224f2be5dc1b7f61cae1810ae05866223f4caa1724f",
    }
    assert reason(lambda: auth.linkedin_challenge({}, "s")) == "missing_credentials"


# -- Google Ads -----------------------------------------------------------------------------


def test_google_ads_key_in_the_body_must_match() -> None:
    assert auth.verify_google_key("8c088ebe", "8c088ebe").principal == "google_ads"
    assert reason(lambda: auth.verify_google_key("8c088ebf", "8c088ebe")) == "invalid_api_key"
    assert reason(lambda: auth.verify_google_key(None, "8c088ebe")) == "missing_credentials"


@pytest.mark.parametrize("name", ["google_key", "Google_Key", "GOOGLE_KEY"])
def test_google_ads_key_name_is_matched_case_insensitively(name: str) -> None:
    body = f'{{"{name}": "8c088ebe", "lead_id": "x"}}'
    assert google_key_of(request(body)) == "8c088ebe"


# -- API keys -------------------------------------------------------------------------------

DEMO_KEY = "lf_demo_website_Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV4"
DEMO_SHA = "f23567779515b8ab888f842d4c7ce2b0ee38d8c2416c64659710243762c6e70a"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_a_key_is_stored_as_the_sha256_of_its_text() -> None:
    assert auth.hash_api_key(DEMO_KEY) == f"sha256:{DEMO_SHA}"


def test_new_keys_are_long_random_and_distinct() -> None:
    keys = {auth.new_api_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(k.startswith("lf_") and len(k) >= 40 for k in keys)


@pytest.mark.parametrize(
    ("headers", "query", "allow_query", "expected"),
    [
        ({"authorization": f"Bearer {DEMO_KEY}"}, {}, False, DEMO_KEY),
        ({"authorization": f"bearer  {DEMO_KEY} "}, {}, False, DEMO_KEY),
        ({"x-api-key": DEMO_KEY}, {}, False, DEMO_KEY),
        ({}, {"api_key": DEMO_KEY}, False, None),
        ({}, {"api_key": DEMO_KEY}, True, DEMO_KEY),
        ({"authorization": f"Basic {DEMO_KEY}"}, {}, False, None),
    ],
)
def test_where_a_key_may_be_presented(headers, query, allow_query, expected) -> None:
    assert auth.presented_api_key(headers, query, allow_query=allow_query) == expected


def test_several_keys_at_once_let_a_key_be_rotated() -> None:
    old = ApiKey("web-2026-05", DEMO_SHA)
    new_key = auth.new_api_key()
    new = ApiKey("web-2026-11", auth.hash_api_key(new_key)[7:])
    assert auth.verify_api_key(DEMO_KEY, [old, new], NOW).principal == "api_key:web-2026-05"
    assert auth.verify_api_key(new_key, [old, new], NOW).principal == "api_key:web-2026-11"
    assert reason(lambda: auth.verify_api_key(DEMO_KEY, [new], NOW)) == "invalid_api_key"


def test_an_expired_key_is_refused_from_its_expiry_instant() -> None:
    key = ApiKey("web", DEMO_SHA, expires=NOW)
    assert reason(lambda: auth.verify_api_key(DEMO_KEY, [key], NOW)) == "expired_api_key"
    before = NOW - timedelta(seconds=1)
    assert auth.verify_api_key(DEMO_KEY, [key], before).principal == "api_key:web"
    assert reason(lambda: auth.verify_api_key(None, [key], before)) == "missing_credentials"


def test_verify_request_uses_the_sources_scheme() -> None:
    keyed = Auth(type="api_key", api_keys=(ApiKey("web", DEMO_SHA),))
    ok = request("{}", {"x-api-key": DEMO_KEY})
    assert auth.verify_request(keyed, ok, method="POST", uri="/", now=NOW).principal == (
        "api_key:web"
    )
    bare = request("{}")
    assert reason(lambda: auth.verify_request(keyed, bare, method="POST", uri="/", now=NOW)) == (
        "missing_credentials"
    )
    public = Auth(type="none")
    assert auth.verify_request(public, bare, method="POST", uri="/", now=NOW).principal == "none"
    typeform = Auth(type="typeform", secret="typeform-secret")
    signed = request(TF_BODY, {"typeform-signature": TF_SIG})
    assert auth.verify_request(typeform, signed, method="POST", uri="/", now=NOW).principal == (
        "typeform"
    )
