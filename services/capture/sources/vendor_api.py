"""Fetching the records notifications only point at, from the vendors' APIs. I/O only: what a
failure means (retry, final, unknown record) is :func:`fetch_rules.verdict`'s to say.

- Meta Graph API: ``GET {url}/{version}/{leadgen_id}?access_token=<Page token>`` answers the Lead
  (``id``, ``created_time``, ``field_data``),
  https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving
- HubSpot CRM API: ``GET {url}/crm/v3/objects/contacts/{id}?properties=...`` with
  ``Authorization: Bearer <private app token>`` answers ``{"id", "properties": {...},
  "createdAt", "updatedAt", "archived"}``, https://developers.hubspot.com/docs/api/crm/contacts
- LinkedIn Marketing API: ``GET {url}/rest/leadFormResponses/{id}`` and
  ``GET {url}/rest/leadForms/{form id}`` with ``Authorization: Bearer``, ``LinkedIn-Version``
  and ``X-Restli-Protocol-Version: 2.0.0``,
  https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from services.capture.sources.fetch_rules import ApiAnswer, meta_error
from services.capture.sources.model import VendorApi

MAX_RECORD_BYTES = 1_048_576


class FetchFailed(Exception):
    """The vendor's API did not give the record; ``answer`` says what it did instead."""

    def __init__(self, answer: ApiAnswer, message: str) -> None:
        super().__init__(message)
        self.answer = answer
        self.message = message


async def meta_lead(client: httpx.AsyncClient, api: VendorApi, leadgen_id: str) -> bytes:
    """The Lead's JSON body exactly as the Graph API sent it."""
    url = f"{api.url}/{api.version}/{leadgen_id}"
    params = {"access_token": api.access_token or ""}
    resp = await _get(client, api, url, "Graph API", params=params)
    return _ok(resp, "Graph API", f"lead {leadgen_id}", meta=True)


async def hubspot_contact(client: httpx.AsyncClient, api: VendorApi, contact_id: str) -> bytes:
    """The contact (v3 object) with the configured properties."""
    url = f"{api.url}/crm/v3/objects/contacts/{contact_id}"
    params = {"properties": ",".join(api.properties), "archived": "false"}
    resp = await _get(client, api, url, "HubSpot API", params=params, headers=_bearer(api))
    return _ok(resp, "HubSpot API", f"contact {contact_id}")


async def linkedin_response(client: httpx.AsyncClient, api: VendorApi, response_id: str) -> Any:
    """A lead form response (``id``, ``formResponse.answers``, ``versionedLeadGenFormUrn``...)."""
    url = f"{api.url}/rest/leadFormResponses/{response_id}"
    resp = await _get(client, api, url, "LinkedIn API", headers=_linkedin_headers(api))
    return _json(_ok(resp, "LinkedIn API", f"lead form response {response_id}"), "LinkedIn API")


async def linkedin_form(client: httpx.AsyncClient, api: VendorApi, form_id: str) -> Any:
    """A lead form's definition: ``content.questions`` (``predefinedField``), ``hiddenFields``."""
    url = f"{api.url}/rest/leadForms/{form_id}"
    resp = await _get(client, api, url, "LinkedIn API", headers=_linkedin_headers(api))
    return _json(_ok(resp, "LinkedIn API", f"lead form {form_id}"), "LinkedIn API")


def _bearer(api: VendorApi) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.access_token or ''}"}


def _linkedin_headers(api: VendorApi) -> dict[str, str]:
    return {
        **_bearer(api),
        "LinkedIn-Version": api.version,
        "X-Restli-Protocol-Version": "2.0.0",
        "Accept": "application/json",
    }


async def _get(
    client: httpx.AsyncClient,
    api: VendorApi,
    url: str,
    name: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    if not api.access_token:
        raise FetchFailed(ApiAnswer(None), f"{name}: the source's access token is not set")
    try:
        return await client.get(url, params=params, headers=headers, timeout=api.timeout_s)
    except httpx.HTTPError as exc:  # refused, reset, timed out: no answer at all
        raise FetchFailed(ApiAnswer(None), f"{name} unreachable: {type(exc).__name__}") from None


def _ok(resp: httpx.Response, name: str, what: str, *, meta: bool = False) -> bytes:
    if resp.status_code == 200 and len(resp.content) <= MAX_RECORD_BYTES:
        return resp.content
    body = _error_body(resp)
    code, transient = meta_error(body) if meta else (None, False)
    answer = ApiAnswer(resp.status_code, code, transient)
    raise FetchFailed(answer, f"{name} answered {resp.status_code} for {what}: {_message(body)}")


def _json(content: bytes, name: str) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        message = f"{name} answered 200 with a body that is not JSON"
        raise FetchFailed(ApiAnswer(502), message) from None


def _error_body(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _message(body: Any) -> str:
    """The vendor's own error text (Meta ``error.message`` + code, HubSpot / LinkedIn
    ``message``), cut short; never anything else from the body."""
    if not isinstance(body, dict):
        return "no error details"
    error = body.get("error")
    if isinstance(error, dict):
        return f"{str(error.get('message', 'no message'))[:300]} (code {error.get('code', '?')})"
    message = body.get("message")
    return str(message)[:300] if message else "no error details"
