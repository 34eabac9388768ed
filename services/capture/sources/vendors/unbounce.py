"""Unbounce form-submit webhook.

Contract: https://documentation.unbounce.com/hc/en-us/articles/203510044-Using-a-Webhook (a
urlencoded POST with ``page_id``, ``page_name``, ``page_url``, ``variant``, ``data.xml`` and
``data.json``: a JSON string whose keys are the form's field names, lower-cased with
underscores, and whose values are lists, e.g. ``{"email": ["a@b.co"], "ip_address": [...]}``).

Fields named after lead fields (``email``, ``first_name``, ``phone_number``, ``company_name``,
...) become lead fields; ``utm_*`` fields, else the ``utm_*`` of ``page_url``, are attribution.
Every other field, and the page ids, go to ``attributes`` (a one-item list as its item).
``data.xml`` repeats ``data.json`` and is ignored.
"""

from __future__ import annotations

from typing import Any

from services.capture.domain.lead import UTM_KEYS
from services.capture.sources.base import InboundRequest

from ._common import (
    FULL_NAME,
    LeadDraft,
    fail,
    form_fields,
    obj,
    parse_json_text,
    text,
    utm_from_url,
)

FIELDS = {
    "email": "email",
    "email_address": "email",
    "first_name": "first_name",
    "last_name": "last_name",
    "name": FULL_NAME,
    "full_name": FULL_NAME,
    "phone": "phone",
    "phone_number": "phone",
    "company": "company",
    "company_name": "company",
    "job_title": "title",
    "title": "title",
    "country": "country",
    "industry": "industry",
    "company_size": "company_size",
    **{k: k for k in UTM_KEYS},
}


def _texty(value: Any) -> bool:
    return value is None or (isinstance(value, str | int | float) and not isinstance(value, bool))


def parse(req: InboundRequest) -> list[dict[str, Any]]:
    """One lead per form submission."""
    fields = form_fields(req)
    if "data.json" not in fields:
        fail("data.json", "is required (the form's fields as JSON)")
    data = obj(parse_json_text(fields["data.json"], "data.json"), "data.json")
    draft = LeadDraft()
    for name, values in data.items():
        items = values if isinstance(values, list) else [values]
        if not all(_texty(v) for v in items):  # not Unbounce's shape: kept as sent
            draft.keep(name, values)
            continue
        texts = [text(v, name) for v in items]
        value: Any = texts[0] if len(texts) == 1 else texts
        if isinstance(value, str):
            draft.take(name, value, FIELDS)
        else:
            draft.keep(name, value)
    for key, utm in utm_from_url(fields.get("page_url")).items():
        draft.assign(key, utm, key=key)
    for key in ("page_id", "page_name", "page_url", "variant"):
        draft.keep(key, fields.get(key))
    return [draft.build()]
