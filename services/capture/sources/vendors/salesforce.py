"""Salesforce Web-to-Lead: the urlencoded POST the generated HTML form sends.

Contract: https://help.salesforce.com/s/articleView?id=sf.setting_up_web-to-lead.htm (fields are
Lead API names as the Web-to-Lead generator writes them: ``first_name``, ``last_name``, ``email``,
``company``, ``phone``, ``mobile``, ``city``, ``state``, ``country``, ``country_code``,
``lead_source``, ``title``, ``industry``, ``employees``, ``description``, ``URL``, ``Campaign_ID``
and custom fields by their 15-character ids ``00N...``).

- ``lead_source`` (a picklist such as "Web" or "Partner Referral") says what kind of origin the
  lead had, not which marketing campaign: it is kept in ``attributes``; the configured source
  name stays the lead's ``source``. ``Campaign_ID`` (a Salesforce campaign id) is the campaign.
- ``country_code`` (ISO, from state/country picklists) wins over the free-text ``country``.
- ``oid`` (the Salesforce org the form posts for) and ``retURL`` (where the browser returns) are
  kept in ``attributes`` under those names, so a CRM sync can route the lead to the right org;
  the endpoint answers a browser's post with a 303 to ``retURL``, as Salesforce does.
- ``debug``, ``debugEmail`` and the reCAPTCHA fields are dropped: they steer Salesforce, not the
  lead. Custom ``00N...`` fields and the rest go to ``attributes``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from services.capture.domain.lead import UTM_KEYS
from services.capture.sources.base import InboundRequest, PayloadError

from ._common import FULL_NAME, LeadDraft, fail, form_fields

_DROPPED = frozenset({"debug", "debugEmail", "encoding", "captcha_settings"})
_FIELDS = {
    "email": "email",
    "phone": "phone",
    "mobile": "phone",
    "first_name": "first_name",
    "last_name": "last_name",
    "name": FULL_NAME,
    "company": "company",
    "title": "title",
    "industry": "industry",
    "employees": "company_size",
    "country_code": "country",
    "country": "country",
    "Campaign_ID": "campaign",
    **{k: k for k in UTM_KEYS},
}
_KNOWN = frozenset({*_FIELDS, "oid", "city", "state", "state_code", "zip", "street", "lead_source"})


def parse(req: InboundRequest) -> list[dict[str, Any]]:
    """One lead per post; refuses a body with no Web-to-Lead field at all."""
    fields = form_fields(req)
    if not any(name in _KNOWN or name.startswith("00N") for name in fields):
        fail("body", "has no Web-to-Lead fields (expected first_name, last_name, email, ...)")
    draft = LeadDraft()
    # country_code first, so the ISO code wins over the free-text country
    ordered = sorted(fields.items(), key=lambda kv: kv[0] != "country_code")
    for name, value in ordered:
        if name in _DROPPED or name.startswith("g-recaptcha"):
            continue
        draft.take(name, value.strip(), _FIELDS)
    return [draft.build()]


def return_url(req: InboundRequest) -> str | None:
    """Where Salesforce would send the browser after the post: ``retURL`` when it is an
    absolute http(s) URL (anything else, e.g. ``javascript:``, is never redirected to)."""
    if not req.content_type.lower().startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        return None
    try:
        url = form_fields(req).get("retURL", "").strip()
    except PayloadError:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url
