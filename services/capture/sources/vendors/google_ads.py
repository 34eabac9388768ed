"""Google Ads lead form webhook.

Contract: https://developers.google.com/google-ads/webhook/docs/implementation (``WebhookLead``:
``lead_id``, ``user_column_data: [{column_name, string_value, column_id}]``, ``api_version``,
``form_id``, ``campaign_id``, ``google_key``, ``is_test``, ``gcl_id``, ``adgroup_id``,
``creative_id``, ``asset_group_id``, ``lead_stage``, ``lead_submit_time``).

Columns are read by ``column_id`` (``FULL_NAME``, ``EMAIL``, ``PHONE_NUMBER``, ...); other
columns are kept in ``attributes`` by their lower-cased ``column_id`` (``postal_code``), or by
``column_name`` when they have no id. The ids,
``is_test`` and the click id go to ``attributes`` (``lead_submit_time`` also as
``vendor_created_at``); ``google_key`` never does, it is a secret the auth layer checks with
:func:`google_key_of` (its name matched case-insensitively). A test lead (``is_test: true``, what
the "Send test data" button sends, https://developers.google.com/google-ads/webhook/docs/testing)
raises :class:`VendorPing`: answered 200 as a test, nothing stored.
"""

from __future__ import annotations

from typing import Any

from services.capture.sources.base import InboundRequest, PayloadError, VendorPing

from ._common import FULL_NAME, VENDOR_CREATED_AT, LeadDraft, arr, at, load_json, obj, text

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
    if not isinstance(body, dict):
        return None
    key = next((v for k, v in body.items() if k.lower() == "google_key"), None)
    return key if isinstance(key, str) else None


def parse(req: InboundRequest) -> list[dict[str, Any]]:
    """One lead per webhook call; the test lead the form's webhook settings send
    (``is_test: true``) is read, to prove it parses, but answered as a test, not stored."""
    body = obj(load_json(req), "body")
    draft = LeadDraft()
    for i, column in enumerate(arr(body.get("user_column_data"), "user_column_data")):
        path = at("user_column_data", i)
        column = obj(column, path)
        column_id = text(column.get("column_id"), at(path, "column_id"))
        name = text(column.get("column_name"), at(path, "column_name"))
        raw = column.get("string_value")
        if raw is not None and not isinstance(raw, str):  # not Google's shape: kept as sent
            draft.keep(column_id.lower() if column_id else name or f"column_{i}", raw)
            continue
        value = raw
        if column_id in _COLUMNS:
            draft.assign(_COLUMNS[column_id], value, key=column_id.lower())
        else:
            draft.keep(column_id.lower() if column_id else name or f"column_{i}", value)
    for key in _KEPT:
        draft.keep(key, body.get(key))
    draft.keep(VENDOR_CREATED_AT, body.get("lead_submit_time"))
    lead = draft.build()
    if body.get("is_test") is True:
        fields = ", ".join(sorted(k for k in lead if k != "attributes")) or "no fields"
        raise VendorPing(
            f"Google Ads test lead (is_test: true) read as a lead with {fields}; nothing stored"
        )
    return [lead]
