"""Fetching the leads a Meta ``leadgen`` notification only names, from the Graph API.

``GET {api_url}/{version}/{leadgen_id}?access_token=...`` answers the Lead (``id``,
``created_time``, ``field_data``), which the ``meta_lead_ads`` parser reads
(https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving).
A failed fetch is a :class:`GraphUnavailable`: the endpoint answers 502/503 so that Meta
retries the notification later (it retries non-2xx deliveries), and nothing is stored.
"""

from __future__ import annotations

import httpx

from services.capture.sources.model import GraphApi


class GraphUnavailable(Exception):
    """The lead could not be fetched: ``status`` 503 when the Graph API was unreachable or
    overloaded (retry), 502 when it refused the request (token, permission, unknown id)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def fetch_lead(client: httpx.AsyncClient, graph: GraphApi, leadgen_id: str) -> bytes:
    """The Lead's JSON body exactly as the Graph API sent it."""
    if not leadgen_id.isdigit():  # ids are numeric; anything else must not reach the URL path
        raise GraphUnavailable(502, f"leadgen_id {leadgen_id!r} is not a Graph API id")
    url = f"{graph.url}/{graph.version}/{leadgen_id}"
    try:
        resp = await client.get(
            url, params={"access_token": graph.access_token or ""}, timeout=graph.timeout_s
        )
    except httpx.HTTPError as exc:
        raise GraphUnavailable(
            503, f"Graph API unreachable fetching lead {leadgen_id}: {type(exc).__name__}"
        ) from None
    if resp.status_code == 200:
        return resp.content
    status = 503 if resp.status_code == 429 or resp.status_code >= 500 else 502
    raise GraphUnavailable(
        status,
        f"Graph API answered {resp.status_code} for lead {leadgen_id}: {_error_text(resp)}",
    )


def _error_text(resp: httpx.Response) -> str:
    """Meta's ``{"error": {"message", "code"}}``, without echoing anything else."""
    try:
        error = resp.json().get("error", {})
        return f"{error.get('message', 'no message')} (code {error.get('code', '?')})"
    except (ValueError, AttributeError):
        return "no error details"
