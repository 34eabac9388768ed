"""Google Ads lead form webhook.

Contract: https://developers.google.com/google-ads/webhook/docs/implementation (``WebhookLead``:
``lead_id``, ``user_column_data: [{column_name, string_value, column_id}]``, ``api_version``,
``form_id``, ``campaign_id``, ``google_key``, ``is_test``, ``gcl_id``, ``adgroup_id``,
``creative_id``, ``asset_group_id``, ``lead_stage``, ``lead_submit_time``).

Columns are read by ``column_id`` (``FULL_NAME``, ``EMAIL``, ``PHONE_NUMBER``, ...); other
columns are kept in ``attributes`` by their lower-cased ``column_id`` (``postal_code``), or by
``column_name`` when they have no id. The ids,
``is_test`` and the click id go to ``attributes``; ``google_key`` never does, it is a secret the
auth layer checks with :func:`google_key_of`.
"""

from __future__ import annotations

from typing import Any

from services.capture.sources.base import InboundRequest, PayloadError

from ._common import FULL_NAME, LeadDraft, arr, at, load_json, obj, text

_COLUMNS = {
    "FULL_NAME": FULL_NAME,
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "EMAIL": "email",
    "WORK_EMAIL": "email",
    "PHONE_NUMBER": "phone",
    "WORK_PHONE": "phone",
    "COMPANY_NAME": "company",
    "JOB_TITLE": "title",
    "COUNTRY": "country",
}
_KEPT = (
    "lead_id",
    "api_version",
    "form_id",
    "campaign_id",
    "adgroup_id",
    "creative_id",
    "asset_group_id",
    "gcl_id",
    "is_test",
    "lead_stage",
    "lead_submit_time",
)


def google_key_of(req: InboundRequest) -> str | None:
    """The ``google_key`` the advertiser configured on the form; None when the body has none
    (or is not a Google lead at all), which the auth layer treats as a failed check."""
    try:
        body = load_json(req)
    except PayloadError:
        return None
    key = body.get("google_key") if isinstance(body, dict) else None
    return key if isinstance(key, str) else None


def parse(req: InboundRequest) -> list[dict[str, Any]]:
    """One lead per webhook call."""
    body = obj(load_json(req), "body")
    draft = LeadDraft()
    for i, column in enumerate(arr(body.get("user_column_data"), "user_column_data")):
        path = at("user_column_data", i)
        column = obj(column, path)
        column_id = text(column.get("column_id"), at(path, "column_id"))
        name = text(column.get("column_name"), at(path, "column_name"))
        value = text(column.get("string_value"), at(path, "string_value"))
        if column_id in _COLUMNS:
            draft.assign(_COLUMNS[column_id], value, key=column_id.lower())
        else:
            draft.keep(column_id.lower() if column_id else name or f"column_{i}", value)
    for key in _KEPT:
        draft.keep(key, body.get(key))
    return [draft.build()]
