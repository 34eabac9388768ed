"""Meta (Facebook/Instagram) Lead Ads.

Contract: https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving

Two shapes, because Meta's webhook carries no contact data:

- the ``leadgen`` webhook (``{"object": "page", "entry": [{"changes": [{"field": "leadgen",
  "value": {"leadgen_id", ...}}]}]}``): :func:`leadgen_ids` lists the leads to fetch from the
  Graph API (``GET /{leadgen_id}``); the parser refuses it, saying so.
- the Lead as the Graph API returns it (``{"id", "created_time", "ad_id", "form_id",
  "field_data": [{"name", "values"}]}``), one object or the form's leads edge
  (``{"data": [lead, ...]}``): :func:`parse` turns each into a raw lead. Standard question names
  (``email``, ``full_name``, ``phone_number``, ...) become lead fields; custom question keys and
  the ad/form ids go to ``attributes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.capture.sources.base import InboundRequest

from ._common import (
    CONSENT,
    FULL_NAME,
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
)

_FIELDS = {
    "email": "email",
    "work_email": "email",
    "full_name": FULL_NAME,
    "first_name": "first_name",
    "last_name": "last_name",
    "phone_number": "phone",
    "work_phone_number": "phone",
    "company_name": "company",
    "job_title": "title",
    "country": "country",
}
_LEAD_META = (
    "created_time",
    "ad_id",
    "ad_name",
    "adset_id",
    "adset_name",
    "form_id",
    "campaign_id",
    "platform",
    "is_organic",
    "partner_name",
)
_NOTIFICATION = (
    "is a leadgen notification without contact data; fetch each lead from the Graph API "
    "(see leadgen_ids)"
)


@dataclass(frozen=True)
class LeadgenRef:
    """One lead announced by the ``leadgen`` webhook; fetch it with ``GET /{leadgen_id}``."""

    leadgen_id: str
    form_id: str | None
    ad_id: str | None
    page_id: str | None
    created_time: int | None


def leadgen_ids(req: InboundRequest) -> list[LeadgenRef]:
    """The leads a ``leadgen`` webhook announces; changes to other Page fields are skipped."""
    body = obj(load_json(req), "body")
    if body.get("object", "page") != "page":
        fail("object", "must be 'page' (a Page webhook)")
    refs: list[LeadgenRef] = []
    for i, entry in enumerate(arr(body.get("entry"), "entry")):
        entry_path = at("entry", i)
        changes_path = at(entry_path, "changes")
        for j, change in enumerate(arr(obj(entry, entry_path).get("changes"), changes_path)):
            path = at(changes_path, j)
            if obj(change, path).get("field") != "leadgen":
                continue
            value = obj(change.get("value"), at(path, "value"))
            refs.append(_ref(value, at(path, "value")))
    return refs


def _ref(value: dict[str, Any], path: str) -> LeadgenRef:
    def ident(key: str) -> str | None:
        return text(value.get(key), at(path, key))

    leadgen_id = ident("leadgen_id")
    if not leadgen_id:
        fail(at(path, "leadgen_id"), "is required")
    created = value.get("created_time")
    if created is not None and (not isinstance(created, int) or isinstance(created, bool)):
        fail(at(path, "created_time"), "must be a Unix time in seconds")
    return LeadgenRef(leadgen_id, ident("form_id"), ident("ad_id"), ident("page_id"), created)


def parse(req: InboundRequest) -> list[dict[str, Any]]:
    """Leads as the Graph API returns them: one Lead, or ``{"data": [Lead, ...]}``."""
    body = load_json(req)
    if isinstance(body, dict) and "entry" in body:
        fail("entry", _NOTIFICATION)
    return each_lead(one_or_many(body, "", "data"), lambda item, path: _lead(obj(item, path), path))


def _lead(lead: dict[str, Any], path: str) -> dict[str, Any]:
    """One Graph Lead. A question left blank (no ``values``, an empty list, nulls) or an
    entry without a name is skipped: an optional question never costs the lead."""
    data_path = at(path, "field_data")
    draft = LeadDraft()
    for item in arr(lead.get("field_data"), data_path):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str | int):
            continue
        name = str(item["name"])
        present = _present(item.get("values"))
        if not name or not present:
            continue
        if name in _FIELDS:
            draft.assign(_FIELDS[name], present[0], key=name)
        else:
            draft.keep(name, present[0] if len(present) == 1 else present)
    campaign = text(lead.get("campaign_name"), at(path, "campaign_name"))
    draft.assign("campaign", campaign, key="campaign_name")
    draft.keep("lead_id", lead.get("id"))
    for key in _LEAD_META:
        draft.keep(key, lead.get(key))
    draft.keep(VENDOR_CREATED_AT, lead.get("created_time"))
    draft.keep(CONSENT, lead.get("custom_disclaimer_responses"))
    return draft.build()


def _present(values: Any) -> list[str]:
    """The answers given: Meta sends a list of strings; a lone value, numbers and booleans
    are read as text, blanks and nulls dropped."""
    if values is None:
        return []
    items = values if isinstance(values, list) else [values]
    out: list[str] = []
    for value in items:
        if isinstance(value, bool):
            out.append("true" if value else "false")
        elif isinstance(value, int | float | str) and str(value).strip():
            out.append(str(value))
    return out
