"""Calendly webhook (API v2).

Contract: https://developer.calendly.com/api-docs/calendly-api/webhooks/get-sample-webhook-data
(``{"event": "invitee.created", "created_at", "created_by", "payload": <Invitee>}``; the Invitee
has ``email``, ``name``, ``first_name``, ``last_name``, ``text_reminder_number``, ``timezone``,
``questions_and_answers[{question, answer, position}]``, ``tracking{utm_*, salesforce_uuid}``,
``scheduled_event{name, start_time, ...}``, ``uri``, ``rescheduled``, ``old_invitee``).

Only ``invitee.created`` (a booking, also sent for the new slot of a reschedule) makes a lead;
every other event returns an empty list. Booking-form answers whose question reads like a lead
field ("Company", "Phone number", "Country", "Job title") fill it; the others are kept in
``attributes`` under the question text.
"""

from __future__ import annotations

import re
from typing import Any

from services.capture.domain.lead import UTM_KEYS
from services.capture.sources.base import InboundRequest

from ._common import FULL_NAME, VENDOR_CREATED_AT, LeadDraft, arr, at, fail, load_json, obj, text

_QUESTIONS = {
    "company": "company",
    "company name": "company",
    "organization": "company",
    "organisation": "company",
    "phone": "phone",
    "phone number": "phone",
    "mobile": "phone",
    "country": "country",
    "job title": "title",
    "title": "title",
    "role": "title",
    "industry": "industry",
}
_INVITEE = {
    "email": "email",
    "first_name": "first_name",
    "last_name": "last_name",
    "name": FULL_NAME,
    "text_reminder_number": "phone",
}


def parse(req: InboundRequest) -> list[dict[str, Any]]:
    """A lead for ``invitee.created``; nothing for other events."""
    body = obj(load_json(req), "body")
    event = text(body.get("event"), "event")
    if not event:
        fail("event", "is required (a Calendly event such as 'invitee.created')")
    if event != "invitee.created":
        return []
    invitee = obj(body.get("payload"), "payload")
    draft = LeadDraft()
    for key, target in _INVITEE.items():
        draft.assign(target, text(invitee.get(key), at("payload", key)), key=key)
    qa_path = "payload.questions_and_answers"
    for i, item in enumerate(arr(invitee.get("questions_and_answers", []), qa_path)):
        path = at(qa_path, i)
        item = obj(item, path)
        question = item.get("question")
        question = question if isinstance(question, str) and question else f"question_{i}"
        answer = item.get("answer")
        if not isinstance(answer, str):  # not text (Calendly sends text): kept as sent
            draft.keep(question, answer)
            continue
        normalised = re.sub(r"[^a-z ]", "", question.lower()).strip()
        draft.assign(_QUESTIONS.get(normalised, ""), answer, key=question)
    tracking = obj(invitee.get("tracking") or {}, "payload.tracking")
    for key, value in tracking.items():
        value = text(value, at("payload.tracking", key))
        draft.assign(key if key in UTM_KEYS else "", value, key=key)
    scheduled = obj(invitee.get("scheduled_event") or {}, "payload.scheduled_event")
    for key in ("name", "start_time", "end_time", "uri"):
        draft.keep(f"scheduled_event.{key}", scheduled.get(key))
    for key in ("uri", "timezone", "rescheduled", "old_invitee", "created_at"):
        draft.keep(f"invitee.{key}" if key == "uri" else key, invitee.get(key))
    draft.keep(VENDOR_CREATED_AT, invitee.get("created_at") or body.get("created_at"))
    return [draft.build()]
