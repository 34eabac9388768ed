"""Intercom webhook notifications about contacts (leads and users).

Contract: https://developers.intercom.com/docs/references/webhooks/webhook-models (every
notification: ``{"type": "notification_event", "topic", "app_id", "id", "created_at",
"data": {"item": <object>}}``; contact topics such as ``contact.lead.created`` and
``contact.user.created`` carry the Contact: ``id``, ``role``, ``email``, ``phone``, ``name``,
``location{country, region, city}``, ``custom_attributes``, ``created_at``, ``utm_*``) and
https://developers.intercom.com/docs/webhooks/setting-up-webhooks (Intercom sends a ``ping``
notification to check the endpoint when the subscription is saved; signature
``X-Hub-Signature``, auth type ``intercom``).

A contact with an e-mail or a phone becomes a lead; ``ping`` is a test (answered, nothing
stored); other topics (conversations, admins, deletions) carry no one to contact: no lead.
"""

from __future__ import annotations

from typing import Any

from services.capture.domain.lead import UTM_KEYS
from services.capture.sources.base import InboundRequest, VendorPing

from ._common import FULL_NAME, VENDOR_CREATED_AT, LeadDraft, at, fail, load_json, obj, text

_CONTACT = {
    "email": "email",
    "phone": "phone",
    "name": FULL_NAME,
    **{k: k for k in UTM_KEYS},
}
_KEPT = ("id", "external_id", "role", "owner_id", "signed_up_at", "unsubscribed_from_emails")


def parse(req: InboundRequest) -> list[dict[str, Any]]:
    """A lead for a contact notification with a way to reach the person; none otherwise."""
    body = obj(load_json(req), "body")
    topic = text(body.get("topic"), "topic")
    if not topic:
        fail("topic", "is required (an Intercom webhook topic such as 'contact.lead.created')")
    if topic == "ping":
        raise VendorPing("Intercom's ping (the subscription's endpoint check); nothing stored")
    data = obj(body.get("data") or {}, "data")
    item = data.get("item")
    if not topic.startswith(("contact.", "user.")) or topic.endswith(".deleted"):
        return []
    item = obj(item, "data.item")
    if not (item.get("email") or item.get("phone")):
        return []  # e.g. an anonymous visitor's tag change: no one to contact
    path = "data.item"
    draft = LeadDraft()
    for key, target in _CONTACT.items():
        draft.assign(target, text(item.get(key), at(path, key)), key=key)
    location = item.get("location")
    if isinstance(location, dict):
        country = location.get("country_code") or location.get("country")
        draft.assign("country", text(country, at(path, "location.country")), key="country")
        for key in ("region", "city"):
            draft.keep(f"location.{key}", location.get(key))
    custom = item.get("custom_attributes")
    if isinstance(custom, dict):
        for key, value in custom.items():
            draft.keep(key, value)
    for key in _KEPT:
        draft.keep("contact_id" if key == "id" else key, item.get(key))
    draft.keep("topic", topic)
    draft.keep(VENDOR_CREATED_AT, item.get("created_at"))
    return [draft.build()]
