"""Who sent this request? Pure verifiers for each source's authentication scheme.

Every function takes the raw request (body bytes exactly as received, lower-case header
names), the source's secret and the time, and either returns :class:`Verified` or raises
:class:`AuthFailure` with a reason the API answers as ``401 {"error": reason}``::

    AuthFailure.reason
      missing_credentials   no key / signature / timestamp header where one is required
      invalid_api_key       no configured key matches (also a wrong Google Ads google_key)
      expired_api_key       the key matched but is past its ``expires``
      invalid_signature     the HMAC does not match the body (wrong secret or tampering)
      invalid_verify_token  Meta's GET handshake named the wrong verify token
      stale_timestamp       authentic, but signed longer ago (or further ahead) than allowed
      replayed_request      raised by the endpoint when a signed message id comes back

Secrets are compared with :func:`hmac.compare_digest` (constant time). Header names are
matched case-insensitively: :func:`verify_request` lower-cases them whatever the caller
passed, as HTTP says header names are. The schemes follow
the vendors' documents:

- Standard Webhooks: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
- Meta: https://developers.facebook.com/docs/graph-api/webhooks/getting-started
- Typeform: https://www.typeform.com/developers/webhooks/secure-your-webhooks/
- HubSpot v3: https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation
- HubSpot v1/v2: https://developers.hubspot.com/docs/faq/v1-request-validation and
  https://developers.hubspot.com/docs/faq/v2-request-validation (hex SHA-256, no HMAC, of
  client secret + body, or client secret + method + URI + body; no timestamp)
- Intercom: https://developers.intercom.com/docs/webhooks/setting-up-webhooks
  (``X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body with the app's client secret>``)
- Calendly: https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures
- LinkedIn: https://learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation
- Google Ads lead forms: https://developers.google.com/google-ads/webhook/docs/implementation
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from services.capture.sources.base import InboundRequest
from services.capture.sources.model import ApiKey, Auth

Reason = Literal[
    "missing_credentials",
    "invalid_api_key",
    "expired_api_key",
    "invalid_signature",
    "invalid_verify_token",
    "stale_timestamp",
    "replayed_request",
]
KEY_PREFIX = "lf_"
HASH_PREFIX = "sha256:"
WHSEC_PREFIX = "whsec_"
# HubSpot decodes these percent-escapes in the URI it signs (its v3 validation guide).
_HUBSPOT_DECODED = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip
_HUBSPOT_ESCAPE = re.compile("|".join(_HUBSPOT_DECODED), re.IGNORECASE)


class AuthFailure(Exception):
    """The request is not from the source it claims; answered with 401."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.message = message


@dataclass(frozen=True)
class Verified:
    """Who it was (a key id or the scheme), and for timestamped signatures the message id
    to remember for the tolerance window, so an exact replay is refused."""

    principal: str
    replay_id: str | None = None
    signed_at: datetime | None = None


def new_api_key() -> str:
    """A fresh key: 256 random bits, so a fast unsalted SHA-256 of it is safe to store."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """The form the config stores: ``sha256:<hex>`` of the UTF-8 key."""
    return HASH_PREFIX + hashlib.sha256(key.encode()).hexdigest()


def presented_api_key(
    headers: Mapping[str, str], query: Mapping[str, str], *, allow_query: bool
) -> str | None:
    """The key from ``Authorization: Bearer``, ``X-Api-Key`` or (if allowed) ``?api_key=``."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if headers.get("x-api-key", "").strip():
        return headers["x-api-key"].strip()
    if allow_query and query.get("api_key", "").strip():
        return query["api_key"].strip()
    return None


def verify_api_key(presented: str | None, keys: Sequence[ApiKey], now: datetime) -> Verified:
    """Any configured key matches (several at once = rotation), unless it has expired."""
    if presented is None:
        raise AuthFailure(
            "missing_credentials", "send the key as 'Authorization: Bearer <key>' or X-Api-Key"
        )
    digest = hash_api_key(presented)[len(HASH_PREFIX) :].encode()
    match: ApiKey | None = None
    for key in keys:  # compare against every key: the time taken does not say which one
        if hmac.compare_digest(digest, key.sha256.encode()):
            match = key
    if match is None:
        raise AuthFailure("invalid_api_key", "the API key is not one of this source's keys")
    if match.expires is not None and now >= match.expires:
        raise AuthFailure(
            "expired_api_key", f"API key {match.id!r} expired at {match.expires.isoformat()}"
        )
    return Verified(principal=f"api_key:{match.id}")


def decode_whsec(secret: str) -> bytes:
    """A Standard Webhooks secret is ``whsec_`` + base64 of the key bytes."""
    encoded = secret.removeprefix(WHSEC_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValueError("not whsec_ followed by base64") from None
    if not key:
        raise ValueError("empty key")
    return key


def verify_standard_webhooks(
    req: InboundRequest, secret: str, now: datetime, tolerance_s: int
) -> Verified:
    """HMAC-SHA256 over ``id.timestamp.body`` (base64, ``v1,`` entries, space-separated)."""
    msg_id = req.headers.get("webhook-id", "")
    stamp = req.headers.get("webhook-timestamp", "")
    header = req.headers.get("webhook-signature", "")
    if not (msg_id and stamp and header):
        raise AuthFailure(
            "missing_credentials", "needs webhook-id, webhook-timestamp and webhook-signature"
        )
    signed_at = _unix_time(stamp, 1, "webhook-timestamp")
    content = f"{msg_id}.{stamp}.".encode() + req.body
    expected = hmac.new(decode_whsec(secret), content, hashlib.sha256).digest()
    given = [
        _b64(sig)
        for version, _, sig in (e.partition(",") for e in header.split())
        if version == "v1"
    ]
    if not any(g is not None and hmac.compare_digest(g, expected) for g in given):
        raise AuthFailure("invalid_signature", "no v1 signature in webhook-signature matches")
    _fresh(signed_at, now, tolerance_s, "webhook-timestamp")
    return Verified("standard_webhooks", replay_id=msg_id, signed_at=signed_at)


def verify_meta(req: InboundRequest, app_secret: str) -> Verified:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>``."""
    header = req.headers.get("x-hub-signature-256", "")
    if not header:
        raise AuthFailure("missing_credentials", "needs the X-Hub-Signature-256 header")
    expected = "sha256=" + hmac.new(app_secret.encode(), req.body, hashlib.sha256).hexdigest()
    _same(header.strip().lower(), expected, "X-Hub-Signature-256")
    return Verified("meta")


def meta_challenge(query: Mapping[str, str], verify_token: str) -> str:
    """Meta's subscription handshake: echo ``hub.challenge`` when the verify token matches."""
    if query.get("hub.mode") != "subscribe" or "hub.challenge" not in query:
        raise AuthFailure("missing_credentials", "needs hub.mode=subscribe and hub.challenge")
    token = query.get("hub.verify_token", "")
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        raise AuthFailure("invalid_verify_token", "hub.verify_token does not match")
    return query["hub.challenge"]


def verify_typeform(req: InboundRequest, secret: str) -> Verified:
    """``Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw body with the secret>``."""
    header = req.headers.get("typeform-signature", "")
    if not header:
        raise AuthFailure("missing_credentials", "needs the Typeform-Signature header")
    digest = hmac.new(secret.encode(), req.body, hashlib.sha256).digest()
    _same(header.strip(), "sha256=" + base64.b64encode(digest).decode(), "Typeform-Signature")
    return Verified("typeform")


def hubspot_uri(uri: str) -> str:
    """The URI as HubSpot signs it: without a fragment, the listed escapes decoded."""
    uri = uri.split("#", 1)[0]
    return _HUBSPOT_ESCAPE.sub(lambda m: _HUBSPOT_DECODED[m.group(0).upper()], uri)


def verify_hubspot_v3(
    req: InboundRequest, method: str, uri: str, secret: str, now: datetime, tolerance_s: int
) -> Verified:
    """Base64 HMAC-SHA256 (client secret) of method + URI + body + timestamp (ms)."""
    header = req.headers.get("x-hubspot-signature-v3", "")
    stamp = req.headers.get("x-hubspot-request-timestamp", "")
    if not (header and stamp):
        raise AuthFailure(
            "missing_credentials", "needs X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp"
        )
    signed_at = _unix_time(stamp, 1000, "X-HubSpot-Request-Timestamp")
    content = method.upper().encode() + hubspot_uri(uri).encode() + req.body + stamp.encode()
    digest = hmac.new(secret.encode(), content, hashlib.sha256).digest()
    _same(header.strip(), base64.b64encode(digest).decode(), "X-HubSpot-Signature-v3")
    _fresh(signed_at, now, tolerance_s, "X-HubSpot-Request-Timestamp")
    return Verified("hubspot_v3", replay_id=f"sig:{header.strip()}", signed_at=signed_at)


def verify_hubspot_legacy(req: InboundRequest, method: str, uri: str, secret: str) -> Verified:
    """``X-HubSpot-Signature``, by ``X-HubSpot-Signature-Version``: v1 is hex SHA-256 of
    client secret + body, v2 of client secret + method + URI + body (a plain hash, no HMAC,
    and no timestamp: prefer v3 where HubSpot sends it)."""
    header = req.headers.get("x-hubspot-signature", "").strip().lower()
    version = req.headers.get("x-hubspot-signature-version", "v1").strip().lower()
    if not header:
        raise AuthFailure("missing_credentials", "needs X-HubSpot-Signature (or -v3)")
    if version == "v1":
        content = secret.encode() + req.body
    elif version == "v2":
        content = secret.encode() + method.upper().encode() + uri.encode() + req.body
    else:
        raise AuthFailure("invalid_signature", f"X-HubSpot-Signature-Version {version!r} unknown")
    _same(header, hashlib.sha256(content).hexdigest(), f"X-HubSpot-Signature ({version})")
    return Verified(f"hubspot_{version}")


def verify_hubspot(
    req: InboundRequest, method: str, uri: str, secret: str, now: datetime, tolerance_s: int
) -> Verified:
    """Whichever signature HubSpot sent, newest first: v3 when the request carries it (it
    is timestamped, so replays are refused), else v2 or v1 as the version header says."""
    if req.headers.get("x-hubspot-signature-v3"):
        return verify_hubspot_v3(req, method, uri, secret, now, tolerance_s)
    return verify_hubspot_legacy(req, method, uri, secret)


def verify_intercom(req: InboundRequest, client_secret: str) -> Verified:
    """``X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body with the client secret>``."""
    header = req.headers.get("x-hub-signature", "").strip().lower()
    if not header:
        raise AuthFailure("missing_credentials", "needs the X-Hub-Signature header")
    expected = "sha1=" + hmac.new(client_secret.encode(), req.body, hashlib.sha1).hexdigest()
    _same(header, expected, "X-Hub-Signature")
    return Verified("intercom")


def verify_calendly(
    req: InboundRequest, signing_key: str, now: datetime, tolerance_s: int
) -> Verified:
    """``Calendly-Webhook-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">``."""
    parts = dict(
        p.strip().partition("=")[::2]
        for p in req.headers.get("calendly-webhook-signature", "").split(",")
    )
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not (stamp and given):
        raise AuthFailure("missing_credentials", "needs Calendly-Webhook-Signature: t=...,v1=...")
    signed_at = _unix_time(stamp, 1, "Calendly-Webhook-Signature t")
    content = stamp.encode() + b"." + req.body
    expected = hmac.new(signing_key.encode(), content, hashlib.sha256).hexdigest()
    _same(given.lower(), expected, "Calendly-Webhook-Signature v1")
    _fresh(signed_at, now, tolerance_s, "Calendly-Webhook-Signature t")
    return Verified("calendly", replay_id=f"sig:{given.lower()}", signed_at=signed_at)


def verify_linkedin(req: InboundRequest, client_secret: str) -> Verified:
    """``X-LI-Signature``: hex HMAC-SHA256 with the client secret of the body prefixed by
    ``hmacsha256=``. LinkedIn's wording also reads as a prefixed hex HMAC of the body alone,
    so both readings are accepted (each needs the secret)."""
    header = req.headers.get("x-li-signature", "").strip().lower()
    if not header:
        raise AuthFailure("missing_credentials", "needs the X-LI-Signature header")
    given = header.removeprefix("hmacsha256=").encode()
    key = client_secret.encode()
    readings = (b"hmacsha256=" + req.body, req.body)
    expected = [hmac.new(key, text, hashlib.sha256).hexdigest().encode() for text in readings]
    if not any(hmac.compare_digest(given, e) for e in expected):
        raise AuthFailure("invalid_signature", "X-LI-Signature does not match the body")
    return Verified("linkedin")


def linkedin_challenge(query: Mapping[str, str], client_secret: str) -> dict[str, str]:
    """LinkedIn's endpoint validation: hex HMAC-SHA256 of ``challengeCode``."""
    code = query.get("challengeCode", "")
    if not code:
        raise AuthFailure("missing_credentials", "needs the challengeCode query parameter")
    response = hmac.new(client_secret.encode(), code.encode(), hashlib.sha256).hexdigest()
    return {"challengeCode": code, "challengeResponse": response}


def verify_google_key(presented: str | None, expected: str) -> Verified:
    """Google Ads lead forms put the advertiser's ``google_key`` in the body."""
    if not presented:
        raise AuthFailure("missing_credentials", "the body has no google_key")
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise AuthFailure("invalid_api_key", "google_key does not match this source's key")
    return Verified("google_ads")


def verify_request(
    auth: Auth,
    req: InboundRequest,
    *,
    method: str,
    uri: str,
    now: datetime,
    google_key: str | None = None,
) -> Verified:
    """Check a vendor's POST with the source's scheme (the source must be ready)."""
    secret = auth.secret or ""
    req = replace(req, headers={k.lower(): v for k, v in req.headers.items()})
    match auth.type:
        case "none":
            return Verified("none")
        case "api_key":
            query_ok = auth.allow_query_key
            key = presented_api_key(req.headers, req.query, allow_query=query_ok)
            return verify_api_key(key, auth.api_keys, now)
        case "standard_webhooks":
            return verify_standard_webhooks(req, secret, now, auth.tolerance_s)
        case "meta":
            return verify_meta(req, secret)
        case "typeform":
            return verify_typeform(req, secret)
        case "hubspot_v3":
            return verify_hubspot_v3(req, method, uri, secret, now, auth.tolerance_s)
        case "hubspot":
            return verify_hubspot(req, method, uri, secret, now, auth.tolerance_s)
        case "intercom":
            return verify_intercom(req, secret)
        case "calendly":
            return verify_calendly(req, secret, now, auth.tolerance_s)
        case "linkedin":
            return verify_linkedin(req, secret)
        case "google_ads":
            return verify_google_key(google_key, secret)
    raise AssertionError(f"unhandled auth type {auth.type!r}")


def _unix_time(stamp: str, per_second: int, what: str) -> datetime:
    if not stamp.isdigit():
        raise AuthFailure("invalid_signature", f"{what} is not a Unix time")
    return datetime.fromtimestamp(int(stamp) / per_second, UTC)


def _fresh(signed_at: datetime, now: datetime, tolerance_s: int, what: str) -> None:
    skew = (now - signed_at).total_seconds()
    if abs(skew) > tolerance_s:
        when = f"{int(skew)} s ago" if skew > 0 else f"{int(-skew)} s ahead"
        raise AuthFailure(
            "stale_timestamp", f"{what} is {when}; allowed: {tolerance_s} s either way"
        )


def _same(given: str, expected: str, what: str) -> None:
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise AuthFailure("invalid_signature", f"{what} does not match the body")


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return None
