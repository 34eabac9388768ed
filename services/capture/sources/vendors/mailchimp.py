"""Mailchimp audience (list) webhook.

Contract: https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/ (a
urlencoded POST with bracketed names: ``type``, ``fired_at``, ``data[id]``, ``data[list_id]``,
``data[email]``, ``data[email_type]``, ``data[merges][EMAIL|FNAME|LNAME|PHONE|...]``,
``data[merges][ADDRESS][addr1|city|state|zip|country]``, ``data[ip_opt]``, ``data[ip_signup]``).

Only ``subscribe`` and ``profile`` events describe a person who wants to hear from us, so only
they make a lead. Every other type (``unsubscribe``, ``cleaned``, ``upemail``, ``campaign``, and
any type Mailchimp adds later) returns an empty list: the caller answers 200 and creates nothing,
so Mailchimp does not retry or disable the webhook.

``unsubscribe`` and ``cleaned`` are opt-outs of an address: :func:`opt_out` reads them, and
capture records them as the lead's ``unsubscribed`` / ``bounced`` activity when it knows the
address (nurture then stops the lead's e-mail touches for good). ``cleaned`` with
``data[reason]=abuse`` (a spam complaint) is an unsubscribe; ``hard`` (or none) a bounce.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
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


@dataclass(frozen=True)
class OptOut:
    """An address that opted out (or bounced), as the activity capture records for its lead."""

    email: str
    kind: str  # an ActivityKind value: unsubscribed or bounced
    at: datetime | None  # fired_at (UTC), when Mailchimp gives it
    details: dict[str, str]


def opt_out(req: InboundRequest) -> OptOut | None:
    """``unsubscribe`` → unsubscribed, ``cleaned`` → bounced (abuse: unsubscribed); None for
    every other type or without an address."""
    body = unflatten(form_fields(req))
    kind = body.get("type")
    if kind not in ("unsubscribe", "cleaned"):
        return None
    data = body.get("data")
    email = data.get("email") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(email, str) or not email.strip():
        return None  # no address: nothing to opt out (answered as before, no lead)
    email = email.strip().lower()
    reason = str(data.get("reason") or "").strip().lower()
    activity = "bounced" if kind == "cleaned" and reason != "abuse" else "unsubscribed"
    details = {"vendor": "mailchimp", "event": str(kind)}
    for key in ("reason", "action", "campaign_id", "list_id"):
        if isinstance(data.get(key), str) and data[key]:
            details[key] = data[key]
    return OptOut(email, activity, _fired_at(body.get("fired_at")), details)


def _fired_at(value: Any) -> datetime | None:
    """Mailchimp's ``fired_at`` ("2009-03-26 21:35:57", UTC); None if absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None
