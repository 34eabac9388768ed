"""Mailchimp audience (list) webhook.

Contract: https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/ (a
urlencoded POST with bracketed names: ``type``, ``fired_at``, ``data[id]``, ``data[list_id]``,
``data[email]``, ``data[email_type]``, ``data[merges][EMAIL|FNAME|LNAME|PHONE|...]``,
``data[merges][ADDRESS][addr1|city|state|zip|country]``, ``data[ip_opt]``, ``data[ip_signup]``).

Only ``subscribe`` and ``profile`` events describe a person who wants to hear from us, so only
they make a lead. Every other type (``unsubscribe``, ``cleaned``, ``upemail``, ``campaign``, and
any type Mailchimp adds later) returns an empty list: the caller answers 200 and creates nothing,
so Mailchimp does not retry or disable the webhook.
"""

from __future__ import annotations

from typing import Any

from services.capture.sources.base import InboundRequest

from ._common import VENDOR_CREATED_AT, LeadDraft, fail, form_fields, obj, text, unflatten

LEAD_TYPES = frozenset({"subscribe", "profile"})
MERGES = {
    "EMAIL": "email",
    "FNAME": "first_name",
    "LNAME": "last_name",
    "PHONE": "phone",
    "COMPANY": "company",
}


def parse(req: InboundRequest) -> list[dict[str, Any]]:
    """A lead for ``subscribe`` and ``profile``; nothing for other event types."""
    body = unflatten(form_fields(req))
    kind = body.get("type")
    if not isinstance(kind, str) or not kind:
        fail("type", "is required (a Mailchimp event type such as 'subscribe')")
    if kind not in LEAD_TYPES:
        return []
    data = obj(body.get("data"), "data")
    merges = obj(data.get("merges", {}), "data[merges]")
    draft = LeadDraft()
    draft.assign("email", text(data.get("email"), "data[email]"), key="email")
    for tag, value in merges.items():
        path = f"data[merges][{tag}]"
        if tag == "ADDRESS" and isinstance(value, dict):
            country = text(value.get("country"), f"{path}[country]")
            draft.assign("country", country, key="address.country")
            for part, line in value.items():
                draft.keep(f"address.{part}", line)
        elif isinstance(value, dict):  # e.g. GROUPINGS[0][name]: kept as sent
            draft.keep(tag, value)
        else:
            draft.take(tag, text(value, path), MERGES)
    for key in ("id", "list_id", "email_type", "ip_opt", "ip_signup", "web_id"):
        draft.keep(key, data.get(key))
    draft.keep("event", kind)
    draft.keep("fired_at", body.get("fired_at"))
    draft.keep(VENDOR_CREATED_AT, body.get("fired_at"))
    return [draft.build()]
