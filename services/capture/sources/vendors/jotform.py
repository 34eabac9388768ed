"""Jotform webhook.

Contract: https://www.jotform.com/help/245-how-to-setup-a-webhook-with-jotform/ (a multipart
or urlencoded POST with ``formID``, ``submissionID``, ``formTitle``, ``pretty`` and
``rawRequest``: a JSON string whose answer keys are ``q<order>_<fieldName>``, e.g.
``q3_email``, ``q4_name: {"first", "last"}``, ``q5_phoneNumber: {"full"}`` or
``{"area", "phone"}``, ``q6_address: {"addr_line1", "city", "state", "postal", "country"}``).

Answers are read by the field name after ``q<n>_`` (case and punctuation ignored): names
containing ``email``, ``phone``/``mobile``, ``company``/``organization``, ``country``, ``title``
(job title), ``utm_*``, a ``{first, last}`` name, and an address's ``country``. Everything
else is kept in ``attributes`` by field name. ``pretty`` is a human-readable copy and ignored.
"""

from __future__ import annotations

import re
from typing import Any

from services.capture.domain.lead import UTM_KEYS
from services.capture.sources.base import InboundRequest

from ._common import FULL_NAME, LeadDraft, at, fail, form_fields, obj, parse_json_text, text

_ANSWER = re.compile(r"^q\d+_(.+)$")
_UTM = {k.replace("_", ""): k for k in UTM_KEYS}


def parse(req: InboundRequest) -> list[dict[str, Any]]:
    """One lead per submission."""
    fields = form_fields(req)
    if "rawRequest" not in fields:
        fail("rawRequest", "is required (the submission's answers as JSON)")
    answers = obj(parse_json_text(fields["rawRequest"], "rawRequest"), "rawRequest")
    draft = LeadDraft()
    for key, value in answers.items():
        match = _ANSWER.match(key)
        if match is None:
            continue  # Jotform's own bookkeeping: slug, event_id, timeToSubmit, ...
        _answer(draft, match[1], value, at("rawRequest", key))
    for key, name in (("formID", "form_id"), ("submissionID", "submission_id")):
        draft.keep(name, fields.get(key))
    draft.keep("form_title", fields.get("formTitle"))
    return [draft.build()]


def _answer(draft: LeadDraft, name: str, value: Any, path: str) -> None:
    norm = re.sub(r"[^a-z0-9]", "", name.lower())
    if isinstance(value, dict):
        if "first" in value or "last" in value:
            draft.assign("first_name", text(value.get("first"), at(path, "first")), key=name)
            draft.assign("last_name", text(value.get("last"), at(path, "last")), key=name)
            return
        if "phone" in norm or "mobile" in norm:
            draft.assign("phone", _phone(value, path), key=name)
            return
        if "country" in value:  # an address
            country = text(value.get("country"), at(path, "country"))
            draft.assign("country", country, key=f"{name}.country")
        draft.keep(name, value)
        return
    if isinstance(value, list):
        draft.keep(name, value)
        return
    draft.assign(_target(norm), text(value, path), key=name)


def _target(norm: str) -> str:
    """The lead field a normalised Jotform field name stands for ("" for none)."""
    if norm in _UTM:
        return _UTM[norm]
    for needle, target in (
        ("email", "email"),
        ("company", "company"),
        ("organization", "company"),
        ("phone", "phone"),
        ("mobile", "phone"),
        ("country", "country"),
        ("jobtitle", "title"),
    ):
        if needle in norm:
            return target
    return FULL_NAME if norm in ("name", "fullname", "yourname") else ""


def _phone(value: dict[str, Any], path: str) -> str | None:
    """``{"full": "(555) 555-1234"}`` or ``{"area": "555", "phone": "5551234"}``."""
    full = text(value.get("full"), at(path, "full"))
    if full:
        return full
    parts = [text(value.get(k), at(path, k)) for k in ("country", "area", "phone")]
    return " ".join(p for p in parts if p) or None
