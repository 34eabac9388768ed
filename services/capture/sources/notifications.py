"""Notifications that only point at a record: which records to fetch, which to skip. Pure.

- Meta ``leadgen`` webhook (``{"object": "page", "entry": [{"changes": [{"field": "leadgen",
  "value": {"leadgen_id", "page_id", "form_id", "ad_id", "adgroup_id", "created_time"}}]}]}``),
  https://developers.facebook.com/docs/graph-api/webhooks/reference/page/#leadgen: one fetch per
  leadgen id; the dashboard "Test" button's id (444444444444) is skipped as a test.
- HubSpot webhook events (a JSON array of ``{"eventId", "subscriptionId", "portalId", "appId",
  "occurredAt", "subscriptionType", "attemptNumber", "objectId", ...}``),
  https://developers.hubspot.com/docs/api/webhooks: one fetch per distinct contact ``objectId``
  of ``contact.creation`` / ``contact.propertyChange`` / ``contact.restore`` / ``contact.merge``
  (or ``object.*`` with ``objectTypeId`` ``0-1``); other events (deletions, companies, deals)
  carry no person to capture and are skipped; an empty array is a ping.
- LinkedIn Lead Sync notification (``{"type": "LEAD_ACTION", "leadGenFormResponse": "urn:li:
  leadGenFormResponse:<id>", "leadGenForm": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:
  <form id>,<version>)", "owner", "associatedEntity", "leadType", "leadAction", "occurredAt"}``),
  https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync: one fetch for a
  ``CREATED`` lead; ``DELETED`` is skipped.

:func:`notice_of` answers ``None`` when the body is not such a notification (a full record,
read by the source's parser as before).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.capture.sources.base import InboundRequest
from services.capture.sources.fetch_rules import Vendor, is_test_record
from services.capture.sources.vendors import leadgen_ids

# HubSpot contact events whose objectId (or primaryObjectId, for a merge) is a contact to fetch.
_HUBSPOT_CONTACT_EVENTS = frozenset(
    {"contact.creation", "contact.propertyChange", "contact.restore", "contact.merge"}
)
_HUBSPOT_OBJECT_EVENTS = frozenset(
    {"object.creation", "object.propertyChange", "object.restore", "object.merge"}
)
_HUBSPOT_CONTACT_TYPE = "0-1"
_LI_RESPONSE = re.compile(r"^urn:li:leadGenFormResponse:([A-Za-z0-9._~-]{1,200})$")
_LI_FORM = re.compile(r"urn:li:leadGenForm:(\d{1,20})\s*(?:,\s*(\d{1,9})\s*\))?")
_RECORD_ID = re.compile(r"^[A-Za-z0-9._~-]{1,200}$")  # safe as one URL path segment


@dataclass(frozen=True)
class FetchRef:
    """One record to fetch: the vendor's id, when the change happened, and the notification's
    other ids (page, form, ad, portal...), kept with the lead as attributes."""

    vendor: Vendor
    record_id: str
    notified_at: datetime | None = None
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Skipped:
    record_id: str | None
    reason: str


@dataclass(frozen=True)
class Notice:
    refs: list[FetchRef]
    skipped: list[Skipped]


FETCH_KINDS = {"meta_lead_ads": "meta", "hubspot_contact": "hubspot", "linkedin": "linkedin"}


def notice_of(kind: str, req: InboundRequest) -> Notice | None:
    """The records a notification points at, or ``None`` if the body is a full record."""
    try:
        body = json.loads(req.body)
    except (ValueError, UnicodeDecodeError):
        return None
    if kind == "meta_lead_ads" and isinstance(body, dict) and "entry" in body:
        return _meta(req)
    if kind == "hubspot_contact" and _is_hubspot_events(body):
        return _hubspot(body)
    if kind == "linkedin" and isinstance(body, dict) and "leadGenFormResponse" in body:
        return _linkedin(body)
    return None


def _meta(req: InboundRequest) -> Notice:
    refs: list[FetchRef] = []
    skipped: list[Skipped] = []
    for ref in leadgen_ids(req):  # PayloadError (422) when the notification is malformed
        if is_test_record("meta", ref.leadgen_id):
            skipped.append(Skipped(ref.leadgen_id, "test"))
            continue
        if not ref.leadgen_id.isdigit() or len(ref.leadgen_id) > 30:
            skipped.append(Skipped(None, "leadgen_id is not a Graph API id"))
            continue
        context = {"page_id": ref.page_id, "form_id": ref.form_id, "ad_id": ref.ad_id}
        refs.append(
            FetchRef(
                "meta",
                ref.leadgen_id,
                _from_seconds(ref.created_time),
                {k: v for k, v in context.items() if v is not None},
            )
        )
    return Notice(refs, skipped)


def _is_hubspot_events(body: Any) -> bool:
    return isinstance(body, list) and all(
        isinstance(e, dict) and "subscriptionType" in e for e in body
    )


def _hubspot(events: list[dict[str, Any]]) -> Notice:
    latest: dict[str, FetchRef] = {}
    skipped: list[Skipped] = []
    for event in events:
        kind = str(event.get("subscriptionType"))
        contact = kind in _HUBSPOT_CONTACT_EVENTS or (
            kind in _HUBSPOT_OBJECT_EVENTS
            and str(event.get("objectTypeId")) == _HUBSPOT_CONTACT_TYPE
        )
        key = "primaryObjectId" if kind.endswith(".merge") else "objectId"
        object_id = _id_text(event.get(key))
        if not contact or object_id is None:
            why = "not a contact change" if not contact else f"no {key}"
            skipped.append(Skipped(object_id or _id_text(event.get("objectId")), why))
            continue
        ref = FetchRef(
            "hubspot",
            object_id,
            _from_millis(event.get("occurredAt")),
            {"portal_id": _id_text(event.get("portalId")), "subscription_type": kind},
        )
        known = latest.get(object_id)
        if known is None or _later(ref.notified_at, known.notified_at):
            latest[object_id] = ref
    return Notice(list(latest.values()), skipped)


def _linkedin(body: dict[str, Any]) -> Notice:
    urn = body.get("leadGenFormResponse")
    found = _LI_RESPONSE.match(urn) if isinstance(urn, str) else None
    if found is None:
        return Notice([], [Skipped(None, "leadGenFormResponse is not a lead form response URN")])
    record_id = found.group(1)
    if str(body.get("leadAction", "CREATED")) != "CREATED":
        return Notice([], [Skipped(record_id, f"leadAction {body.get('leadAction')}")])
    form_id, _ = linkedin_form_of(body.get("leadGenForm"))
    context = {
        "form_id": form_id,
        "form_urn": body.get("leadGenForm"),
        "lead_type": body.get("leadType"),
    }
    ref = FetchRef(
        "linkedin",
        record_id,
        _from_millis(body.get("occurredAt")),
        {k: v for k, v in context.items() if isinstance(v, str)},
    )
    return Notice([ref], [])


def linkedin_form_of(urn: Any) -> tuple[str | None, int | None]:
    """Form id and version of ``urn:li:versionedLeadGenForm:(urn:li:leadGenForm:<id>,<v>)``
    (or of a plain ``urn:li:leadGenForm:<id>``, version unknown)."""
    found = _LI_FORM.search(urn) if isinstance(urn, str) else None
    if found is None:
        return None, None
    return found.group(1), int(found.group(2)) if found.group(2) else None


def _id_text(value: Any) -> str | None:
    """Vendor ids (numbers beyond 2**53 included) as text, only when URL-path safe."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value)
    return text if _RECORD_ID.match(text) else None


def _from_seconds(value: int | None) -> datetime | None:
    return None if value is None else _from_millis(value * 1000)


def _from_millis(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _later(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and (b is None or a > b)
