"""HubSpot: a Forms API submission, and a contact (from a workflow webhook or the CRM API).

Contracts:
https://developers.hubspot.com/docs/api-reference/legacy/marketing/forms/v3-legacy/submit-data-unauthenticated
(``{"fields": [{"objectTypeId", "name", "value"}], "context": {"hutk", "pageUri", "pageName",
...}, "submittedAt", "legalConsentOptions"}``),
https://legacydocs.hubspot.com/docs/methods/contacts/get_contact (legacy contact:
``{"vid", "properties": {"email": {"value": ...}}}``) and
https://developers.hubspot.com/docs/api/crm/contacts (v3 contact: ``{"id", "properties":
{"email": "..."}}``).

Both read HubSpot contact property names (``firstname``, ``lastname``, ``email``, ``phone``,
``mobilephone``, ``company``, ``jobtitle``, ``country``, ``industry``, ``numberofemployees``,
``utm_*``). ``hs_analytics_source`` (ORGANIC_SEARCH, PAID_SEARCH, ...) is HubSpot's channel
classification, so it becomes ``channel``. Other properties go to ``attributes``. A form
submission's ``legalConsentOptions`` (GDPR consent to process and to communicate, with the
subscription types ticked) is kept as sent in ``attributes.consent``, its ``submittedAt`` also
as ``vendor_created_at``.
"""

from __future__ import annotations

from typing import Any

from services.capture.domain.lead import UTM_KEYS
from services.capture.sources.base import InboundRequest

from ._common import (
    CONSENT,
    VENDOR_CREATED_AT,
    LeadDraft,
    arr,
    at,
    each_lead,
    fail,
    load_json,
    obj,
    one_or_many,
    text,
    utm_from_url,
)

PROPERTIES = {
    "email": "email",
    "firstname": "first_name",
    "lastname": "last_name",
    "phone": "phone",
    "mobilephone": "phone",
    "company": "company",
    "jobtitle": "title",
    "country": "country",
    "industry": "industry",
    "numberofemployees": "company_size",
    "hs_analytics_source": "channel",
    **{k: k for k in UTM_KEYS},
}
_CONTACT = "0-1"
_COMPANY = "0-2"


def parse_form(req: InboundRequest) -> list[dict[str, Any]]:
    """One lead per submission; ``utm_*`` come from the fields, else from ``context.pageUri``."""
    body = obj(load_json(req), "body")
    draft = LeadDraft()
    for i, field in enumerate(arr(body.get("fields"), "fields")):
        path = at("fields", i)
        field = obj(field, path)
        name = text(field.get("name"), at(path, "name"))
        if not name:
            fail(at(path, "name"), "is required")
        value = text(field.get("value"), at(path, "value"))
        kind = text(field.get("objectTypeId"), at(path, "objectTypeId")) or _CONTACT
        if kind == _COMPANY and name == "name":
            draft.assign("company", value, key="company.name")
        elif kind == _CONTACT:
            draft.take(name, value, PROPERTIES)
        else:
            draft.keep(f"{kind}.{name}", value)
    context = obj(body.get("context") or {}, "context")
    page_uri = text(context.get("pageUri"), "context.pageUri")
    for key, value in utm_from_url(page_uri).items():
        draft.assign(key, value, key=key)
    for key, value in context.items():
        draft.keep(key, value)
    draft.keep("submittedAt", body.get("submittedAt"))
    draft.keep(VENDOR_CREATED_AT, body.get("submittedAt"))
    draft.keep(CONSENT, body.get("legalConsentOptions"))
    return [draft.build()]


def parse_contact(req: InboundRequest) -> list[dict[str, Any]]:
    """Contacts: one object, a list, or ``{"results": [...]}`` (v3 batch/search)."""
    body = load_json(req)
    items = one_or_many(body, "", "results")
    return each_lead(items, lambda item, path: _contact(obj(item, path), path))


def _contact(contact: dict[str, Any], path: str) -> dict[str, Any]:
    if "subscriptionType" in contact:
        fail(path, "is a webhook event without contact properties; fetch the contact by objectId")
    props_path = at(path, "properties")
    draft = LeadDraft()
    for name, raw in obj(contact.get("properties"), props_path).items():
        prop_path = at(props_path, name)
        if isinstance(raw, dict):  # legacy: {"value": ..., "versions": [...]}
            raw, prop_path = raw.get("value"), at(prop_path, "value")
        draft.take(name, text(raw, prop_path), PROPERTIES)
    for key in ("vid", "id", "portal-id", "createdAt", "updatedAt"):
        draft.keep("contact_id" if key in ("vid", "id") else key, contact.get(key))
    return draft.build()
