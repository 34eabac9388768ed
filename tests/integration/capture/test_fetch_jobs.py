"""Fetch jobs against the real app (real PostgreSQL, a real broker) and a real local HTTP server
standing in for Meta's Graph API, HubSpot's CRM API and LinkedIn's Marketing API, on their real
paths with their auth headers and JSON shapes (fixtures from the vendors' docs, URL in each).

The vendor posts a notification that only points at a record; capture answers 200 once a fetch
job is committed, fetches the record in the background and stores it once — through outages,
repeats and restarts.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.capture.config import Settings
from services.capture.main import create_app
from services.capture.sources import fetch_jobs
from services.capture.sources.notifications import FetchRef
from services.capture.store import fetch_jobs as fetch_store
from tests.support.app import running_app
from tests.support.http import LocalServer
from tests.support.kafka import Bus
from tests.support.metrics import read_metric
from tests.support.vendors import b64_hmac, body_of, fixture, graph_api_lead
from tests.support.waits import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

SECRETS = {
    "LEADFLOW_FT_META_APP": "meta-app-secret",
    "LEADFLOW_FT_META_VERIFY": "verify-me",
    "LEADFLOW_FT_META_TOKEN": "EAAB-page-token",
    "LEADFLOW_FT_HUBSPOT_APP": "hubspot-client-secret",
    "LEADFLOW_FT_HUBSPOT_TOKEN": "pat-na1-11111111-2222-3333-4444-555555555555",
    "LEADFLOW_FT_LINKEDIN_SECRET": "linkedin-client-secret",
    "LEADFLOW_FT_LINKEDIN_TOKEN": "AQV-linkedin-oauth-token",
}
LINKEDIN_VERSION = "202511"
PUBLIC = "https://leads.example.com"
FAST = {"fetch_tick_s": 0.05, "fetch_metrics_s": 0.1, "fetch_backoff_base_s": 0.05,
        "fetch_backoff_cap_s": 0.2}  # fmt: skip


# -- the vendors' APIs ------------------------------------------------------------------------


@dataclass
class VendorApis:
    """Graph API ``GET /v23.0/{lead id}?access_token=``, HubSpot ``GET /crm/v3/objects/contacts/
    {id}?properties=`` and LinkedIn ``GET /rest/leadFormResponses/{id}``, ``GET /rest/leadForms/
    {id}`` (Bearer, LinkedIn-Version, X-Restli-Protocol-Version: 2.0.0)."""

    port: int = 0
    fail_next: list[int] = field(default_factory=list)  # statuses to answer first, in order
    calls: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    queries: list[dict[str, str]] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)  # record ids the vendor does not know
    server: LocalServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _failure(self, request: Request) -> Response | None:
        self.calls.append(request.url.path)
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        self.queries.append(dict(request.query_params))
        if self.fail_next:
            status = self.fail_next.pop(0)
            error = {"message": "An unexpected error has occurred.", "code": 2}
            return JSONResponse({"error": error}, status_code=status)
        return None

    async def meta(self, request: Request) -> Response:
        if (failed := self._failure(request)) is not None:
            return failed
        lead_id = request.path_params["lead_id"]
        if request.query_params.get("access_token") != SECRETS["LEADFLOW_FT_META_TOKEN"]:
            error = {"message": "Invalid OAuth access token.", "type": "OAuthException",
                     "code": 190}  # fmt: skip
            return JSONResponse({"error": error}, status_code=400)
        if lead_id in self.unknown or lead_id == "444444444444":
            error = {
                "message": f"Unsupported get request. Object with ID '{lead_id}' does not exist,"
                " cannot be loaded due to missing permissions, or does not support this"
                " operation.",
                "type": "GraphMethodException", "code": 100, "error_subcode": 33,
            }  # fmt: skip
            return JSONResponse({"error": error}, status_code=400)
        return JSONResponse(graph_api_lead(lead_id))

    async def hubspot(self, request: Request) -> Response:
        if (failed := self._failure(request)) is not None:
            return failed
        if request.headers.get("authorization") != f"Bearer {SECRETS['LEADFLOW_FT_HUBSPOT_TOKEN']}":
            return JSONResponse(
                {"status": "error", "message": "Authentication credentials not found.",
                 "category": "INVALID_AUTHENTICATION"}, status_code=401,
            )  # fmt: skip
        contact_id = request.path_params["contact_id"]
        if contact_id in self.unknown:
            return JSONResponse(
                {"status": "error", "message": "resource not found",
                 "category": "OBJECT_NOT_FOUND"}, status_code=404,
            )  # fmt: skip
        contact = body_of("hubspot_contact_v3.json")
        asked = request.query_params.get("properties", "").split(",")
        contact["id"] = contact_id
        contact["properties"] = {k: v for k, v in contact["properties"].items() if k in asked}
        return JSONResponse(contact)

    def _linkedin_refused(self, request: Request) -> Response | None:
        token = SECRETS["LEADFLOW_FT_LINKEDIN_TOKEN"]
        good = (
            request.headers.get("authorization") == f"Bearer {token}"
            and request.headers.get("linkedin-version") == LINKEDIN_VERSION
            and request.headers.get("x-restli-protocol-version") == "2.0.0"
        )
        if good:
            return None
        error = {"status": 401, "serviceErrorCode": 65600, "code": "INVALID_ACCESS_TOKEN",
                 "message": "Invalid access token"}  # fmt: skip
        return JSONResponse(error, status_code=401)

    async def linkedin_response(self, request: Request) -> Response:
        if (failed := self._failure(request) or self._linkedin_refused(request)) is not None:
            return failed
        response_id = request.path_params["response_id"]
        response = body_of("linkedin_lead_form_response.json")
        response["id"] = response_id
        for answer in response["formResponse"]["answers"]:
            if answer["questionId"] == 307234246:  # the EMAIL question
                given = answer["answerDetails"]["textQuestionAnswer"]
                given["answer"] = f"{response_id}@example.com"
        return JSONResponse(response)

    async def linkedin_form(self, request: Request) -> Response:
        if (failed := self._failure(request) or self._linkedin_refused(request)) is not None:
            return failed
        return JSONResponse(body_of("linkedin_lead_form.json"))

    async def start(self) -> None:
        app = Starlette(
            routes=[
                Route("/v23.0/{lead_id}", self.meta),
                Route("/crm/v3/objects/contacts/{contact_id}", self.hubspot),
                Route("/rest/leadFormResponses/{response_id}", self.linkedin_response),
                Route("/rest/leadForms/{form_id}", self.linkedin_form),
            ]
        )
        self.server = LocalServer(app, self.port)
        await self.server.start()
        self.port = self.server.port

    async def stop(self) -> None:
        """Down: the port refuses connections until :meth:`start` again."""
        assert self.server is not None
        await self.server.stop()


@pytest.fixture
async def vendor() -> AsyncIterator[VendorApis]:
    api = VendorApis()
    await api.start()
    try:
        yield api
    finally:
        if api.server is not None and api.server.running:
            await api.stop()


def config(vendor_url: str) -> dict[str, Any]:
    return {"capture": {"sources": [
        {"name": "meta", "kind": "meta_lead_ads", "channel": "paid-social",
         "auth": {"type": "meta", "secret_env": "LEADFLOW_FT_META_APP",
                  "verify_token_env": "LEADFLOW_FT_META_VERIFY"},
         "graph": {"access_token_env": "LEADFLOW_FT_META_TOKEN", "api_url": vendor_url,
                   "api_version": "v23.0", "timeout_s": 2}},
        {"name": "hubspot", "kind": "hubspot_contact",
         "auth": {"type": "hubspot_v3", "secret_env": "LEADFLOW_FT_HUBSPOT_APP",
                  "public_url": PUBLIC},
         "api": {"access_token_env": "LEADFLOW_FT_HUBSPOT_TOKEN", "api_url": vendor_url,
                 "timeout_s": 2}},
        {"name": "hubspot-bad-token", "kind": "hubspot_contact",
         "auth": {"type": "hubspot_v3", "secret_env": "LEADFLOW_FT_HUBSPOT_APP",
                  "public_url": PUBLIC},
         "api": {"access_token_env": "LEADFLOW_FT_META_TOKEN", "api_url": vendor_url}},
        {"name": "linkedin", "kind": "linkedin",
         "auth": {"type": "linkedin", "secret_env": "LEADFLOW_FT_LINKEDIN_SECRET"},
         "api": {"access_token_env": "LEADFLOW_FT_LINKEDIN_TOKEN", "api_url": vendor_url,
                 "api_version": LINKEDIN_VERSION, "timeout_s": 2}},
    ]}}  # fmt: skip


@dataclass
class Capture:
    http: httpx.AsyncClient
    app: Any
    database_url: str

    async def count(self, sql: str, *args: Any) -> int:
        conn = await asyncpg.connect(self.database_url)
        try:
            return int(await conn.fetchval(sql.replace("FROM ", "FROM capture."), *args))
        finally:
            await conn.close()

    async def leads_with(self, email: str) -> int:
        return await self.count("SELECT count(*) FROM leads WHERE email = $1", email)

    async def jobs(self, source: str, status: str | None = None) -> list[dict[str, Any]]:
        params = {"status": status} if status else {}
        resp = await self.http.get(f"/v1/sources/{source}/fetches", params=params)
        assert resp.status_code == 200, resp.text
        jobs: list[dict[str, Any]] = resp.json()["jobs"]
        return jobs

    async def metric(self, name: str, **labels: str) -> float:
        return await read_metric(self.http, name, **labels)


@pytest.fixture
def app_factory(
    tmp_path: Path, database_url: str, bus: Bus, vendor: VendorApis,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Any]:  # fmt: skip
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "leadflow.yaml"
    path.write_text(yaml.safe_dump(config(vendor.url)))

    def make(**overrides: Any) -> Any:
        settings = Settings(
            database_url=database_url,
            **bus.settings,
            config_file=path,
            **{**FAST, **overrides},
        )
        return create_app(settings)

    return make


@pytest.fixture
async def capture(app_factory: Callable[..., Any], database_url: str) -> AsyncIterator[Capture]:
    app = app_factory()
    async with running_app(app) as http:
        yield Capture(http, app, database_url)


async def all_done(capture: Capture, source: str, count: int) -> bool:
    return len(await capture.jobs(source, "done")) == count


def meta_post(body: bytes) -> dict[str, Any]:
    sig = "sha256=" + hmac.new(SECRETS["LEADFLOW_FT_META_APP"].encode(), body,
                               hashlib.sha256).hexdigest()  # fmt: skip
    return {"content": body, "headers": {"content-type": "application/json",
                                         "x-hub-signature-256": sig}}  # fmt: skip


def hubspot_post(body: bytes, when: datetime | None = None) -> dict[str, Any]:
    stamp = str(int((when or datetime.now(UTC)).timestamp() * 1000))
    uri = f"{PUBLIC}/v1/sources/hubspot/leads"
    signature = b64_hmac(SECRETS["LEADFLOW_FT_HUBSPOT_APP"], b"POST" + uri.encode() + body
                         + stamp.encode())  # fmt: skip
    headers = {"content-type": "application/json", "x-hubspot-signature-v3": signature,
               "x-hubspot-request-timestamp": stamp}  # fmt: skip
    return {"content": body, "headers": headers}


def linkedin_post(body: bytes) -> dict[str, Any]:
    key = SECRETS["LEADFLOW_FT_LINKEDIN_SECRET"].encode()
    sig = hmac.new(key, b"hmacsha256=" + body, hashlib.sha256).hexdigest()
    return {"content": body, "headers": {"content-type": "application/json", "x-li-signature": sig}}


def meta_notification(*leadgen_ids: str) -> bytes:
    body = body_of("meta_lead_ads_webhook.json")
    change = body["entry"][0]["changes"][0]
    body["entry"][0]["changes"] = [
        {**change, "value": {**change["value"], "leadgen_id": int(i)}} for i in leadgen_ids
    ]
    return json.dumps(body).encode()


# -- Meta -------------------------------------------------------------------------------------


async def test_a_vendor_api_that_fails_for_a_while_delivers_the_lead_exactly_once(
    capture: Capture, vendor: VendorApis
) -> None:
    """503s, then connection refused, then OK: the lead arrives once when the API recovers."""
    vendor.fail_next = [503, 503, 503]
    retried_before = await capture.metric("leadflow_capture_fetch_retries_total", source="meta")
    notification = meta_post(meta_notification("900001"))
    resp = await capture.http.post("/v1/sources/meta/leads", **notification)
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["status"] == "fetch_scheduled"
    assert [(j["record_id"], j["scheduled"]) for j in answer["jobs"]] == [("900001", True)]

    await eventually(lambda: _no_more_failures(vendor))
    await vendor.stop()  # now the port refuses connections
    calls = len(vendor.calls)
    await eventually(lambda: _attempts_above(capture, "900001", calls + 1))
    (job,) = await capture.jobs("meta", "pending")
    assert "unreachable" in job["last_error"]
    assert await capture.leads_with("lead900001@example.com") == 0
    await eventually(lambda: _gauge_at_least(capture, "leadflow_capture_fetch_jobs_pending", 1))

    await vendor.start()  # back, on the same port
    await eventually(lambda: all_done(capture, "meta", 1))
    (job,) = await capture.jobs("meta")
    assert job["status"] == "done" and job["attempts"] >= 5 and job["lead_id"]
    await asyncio.sleep(0.3)  # a few more ticks: nothing is fetched or stored again
    assert await capture.leads_with("lead900001@example.com") == 1
    lead = (await capture.http.get(f"/v1/leads/{job['lead_id']}")).json()["profile"]
    assert (lead["source"], lead["channel"], lead["first_name"]) == ("meta", "paid-social", "Joe")
    assert lead["attributes"]["page_id"] == "123123123"
    assert lead["attributes"]["lead_id"] == "900001"
    retried = await capture.metric("leadflow_capture_fetch_retries_total", source="meta")
    assert retried >= retried_before + 4
    assert await capture.metric("leadflow_capture_fetches_total", source="meta") >= 1
    await eventually(lambda: _gauge_is(capture, "leadflow_capture_fetch_jobs_pending", 0))


async def _no_more_failures(vendor: VendorApis) -> bool:
    return not vendor.fail_next


async def _attempts_above(capture: Capture, record_id: str, attempts: int) -> bool:
    jobs = [j for j in await capture.jobs("meta") if j["record_id"] == record_id]
    return bool(jobs) and jobs[0]["attempts"] >= attempts


async def _gauge_at_least(capture: Capture, name: str, value: float) -> bool:
    return await capture.metric(name, source="meta", vendor="meta") >= value


async def _gauge_is(capture: Capture, name: str, value: float) -> bool:
    return await capture.metric(name, source="meta", vendor="meta") == value


async def test_each_lead_of_a_meta_notification_is_fetched_and_a_repeat_makes_no_second(
    capture: Capture, vendor: VendorApis
) -> None:
    body = fixture("meta_lead_ads_webhook.json").body  # Meta's documented example, byte for byte
    first = await capture.http.post("/v1/sources/meta/leads", **meta_post(body))
    assert first.status_code == 200, first.text
    assert [j["record_id"] for j in first.json()["jobs"]] == ["123123123123", "123123123124"]
    await eventually(lambda: all_done(capture, "meta", 2))
    again = await capture.http.post("/v1/sources/meta/leads", **meta_post(body))
    assert again.status_code == 200 and again.json()["status"] == "fetch_scheduled"
    assert [j["scheduled"] for j in again.json()["jobs"]] == [False, False]
    assert [j["status"] for j in again.json()["jobs"]] == ["done", "done"]
    await asyncio.sleep(0.3)
    assert sorted(vendor.calls) == ["/v23.0/123123123123", "/v23.0/123123123124"]
    assert await capture.leads_with("lead123123123123@example.com") == 1
    assert await capture.leads_with("lead123123123124@example.com") == 1


async def test_an_erased_fetched_lead_is_not_brought_back_by_meta_redelivering(
    capture: Capture, vendor: VendorApis
) -> None:
    notification = meta_post(meta_notification("900500"))
    await capture.http.post("/v1/sources/meta/leads", **notification)
    await eventually(lambda: all_done(capture, "meta", 1))
    (job,) = await capture.jobs("meta")
    erased = await capture.http.delete(f"/v1/leads/{job['lead_id']}", params={"reason": "gdpr"})
    assert erased.status_code == 202, erased.text
    (job,) = await capture.jobs("meta")
    assert job["status"] == "done" and job["lead_id"] is None  # the job forgets whose lead
    again = await capture.http.post("/v1/sources/meta/leads", **notification)
    assert again.json()["jobs"][0]["scheduled"] is False
    await asyncio.sleep(0.3)
    assert vendor.calls == ["/v23.0/900500"]
    assert await capture.leads_with("lead900500@example.com") == 0


async def test_metas_test_webhook_is_answered_2xx_with_no_job_and_no_lead(
    capture: Capture, vendor: VendorApis
) -> None:
    body = fixture("meta_lead_ads_test_webhook.json").body
    resp = await capture.http.post("/v1/sources/meta/leads", **meta_post(body))
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "test" and "test" in resp.json()["message"]
    assert resp.json()["jobs"] == []
    assert resp.json()["skipped"] == [{"record_id": "444444444444", "reason": "test"}]
    await asyncio.sleep(0.2)
    assert await capture.jobs("meta") == [] and vendor.calls == []
    assert await capture.count("SELECT count(*) FROM leads") == 0


async def test_a_lead_the_graph_api_does_not_know_ends_as_not_found_without_retrying(
    capture: Capture, vendor: VendorApis
) -> None:
    vendor.unknown.add("900404")
    notification = meta_post(meta_notification("900404"))
    resp = await capture.http.post("/v1/sources/meta/leads", **notification)
    assert resp.status_code == 200
    await eventually(lambda: _has_status(capture, "meta", "not_found"))
    (job,) = await capture.jobs("meta", "not_found")
    assert job["attempts"] == 1 and "code 100" in job["last_error"]
    assert await capture.count("SELECT count(*) FROM leads") == 0
    assert (
        await capture.metric(
            "leadflow_capture_fetch_failures_total", source="meta", status="not_found"
        )
        >= 1
    )


async def _has_status(capture: Capture, source: str, status: str) -> bool:
    return bool(await capture.jobs(source, status))


# -- HubSpot ----------------------------------------------------------------------------------


async def test_hubspot_contact_events_fetch_each_contact_once_with_the_private_app_token(
    capture: Capture, vendor: VendorApis
) -> None:
    body = fixture("hubspot_contact_events.json").body
    resp = await capture.http.post("/v1/sources/hubspot/leads", **hubspot_post(body))
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert [j["record_id"] for j in answer["jobs"]] == ["1246965"]  # two events, one contact
    assert answer["skipped"] == [{"record_id": "5612332", "reason": "not a contact change"}]
    await eventually(lambda: all_done(capture, "hubspot", 1))
    assert vendor.calls == ["/crm/v3/objects/contacts/1246965"]
    (job,) = await capture.jobs("hubspot")
    lead = (await capture.http.get(f"/v1/leads/{job['lead_id']}")).json()["profile"]
    assert (lead["email"], lead["first_name"], lead["last_name"], lead["company"]) == (
        "bh@hubspot.com", "Brian", "Halligan", "HubSpot",
    )  # fmt: skip
    assert (lead["phone"], lead["country"], lead["title"]) == ("+16172531000", "US", "CEO")
    assert lead["attributes"]["hs_lead_status"] == "NEW"
    assert lead["attributes"]["portal_id"] == "62515"
    # HubSpot re-sends the same events (new signature and timestamp): nothing new.
    later = datetime.now(UTC) + timedelta(seconds=1)
    again = await capture.http.post("/v1/sources/hubspot/leads", **hubspot_post(body, later))
    assert again.status_code == 200 and again.json()["jobs"][0]["scheduled"] is False
    # A later change of the contact fetches it again; it merges into the same lead.
    events = json.loads(body)
    events[1]["occurredAt"] += 60_000
    changed = await capture.http.post(
        "/v1/sources/hubspot/leads", **hubspot_post(json.dumps(events).encode())
    )
    assert changed.json()["jobs"][0]["scheduled"] is True
    await eventually(lambda: _calls(vendor, 2))
    await eventually(lambda: all_done(capture, "hubspot", 1))
    assert await capture.leads_with("bh@hubspot.com") == 1


async def _calls(vendor: VendorApis, count: int) -> bool:
    return len(vendor.calls) >= count


async def test_hubspot_sends_the_token_and_asks_for_the_crm_properties(
    capture: Capture, vendor: VendorApis
) -> None:
    body = json.dumps([{"eventId": 1, "subscriptionId": 2, "portalId": 62515, "appId": 3,
                        "occurredAt": 1462216307945, "subscriptionType": "contact.creation",
                        "attemptNumber": 0, "objectId": 777}]).encode()  # fmt: skip
    await capture.http.post("/v1/sources/hubspot/leads", **hubspot_post(body))
    await eventually(lambda: all_done(capture, "hubspot", 1))
    headers = vendor.headers[0]
    assert headers["authorization"] == f"Bearer {SECRETS['LEADFLOW_FT_HUBSPOT_TOKEN']}"
    assert vendor.calls == ["/crm/v3/objects/contacts/777"]
    asked = vendor.queries[0]["properties"].split(",")
    assert {"email", "firstname", "lastname", "phone", "mobilephone", "company", "jobtitle",
            "country", "city", "hs_lead_status"} <= set(asked)  # fmt: skip
    ping = await capture.http.post("/v1/sources/hubspot/leads", **hubspot_post(b"[]"))
    assert ping.status_code == 200 and ping.json()["status"] == "nothing_to_fetch"
    assert len(await capture.jobs("hubspot")) == 1


async def test_hubspot_refusals_end_the_job_with_the_reason(
    capture: Capture, vendor: VendorApis
) -> None:
    vendor.unknown.add("404404")
    unknown = json.dumps([{"subscriptionType": "contact.creation", "objectId": 404404,
                           "portalId": 1, "occurredAt": 1462216307945}]).encode()  # fmt: skip
    await capture.http.post("/v1/sources/hubspot/leads", **hubspot_post(unknown))
    await eventually(lambda: _has_status(capture, "hubspot", "not_found"))
    known = json.dumps([{"subscriptionType": "contact.creation", "objectId": 1246965,
                         "portalId": 1, "occurredAt": 1462216307945}]).encode()  # fmt: skip
    uri_body = hubspot_post(known)
    resp = await capture.http.post(
        "/v1/sources/hubspot-bad-token/leads",
        content=known,
        headers={**uri_body["headers"], **_resign(known, "hubspot-bad-token")},
    )
    assert resp.status_code == 200, resp.text
    await eventually(lambda: _has_status(capture, "hubspot-bad-token", "failed"))
    (job,) = await capture.jobs("hubspot-bad-token", "failed")
    assert job["attempts"] == 1 and "401" in job["last_error"]
    assert "Authentication credentials not found" in job["last_error"]
    assert await capture.count("SELECT count(*) FROM leads") == 0
    # The operator fixes nothing but asks again: the job runs once more and fails again.
    retry = await capture.http.post("/v1/sources/hubspot-bad-token/fetches:retry")
    assert retry.status_code == 200 and retry.json() == {"retried": 1}
    await eventually(lambda: _failed_after(capture, "hubspot-bad-token", 2))
    nothing = await capture.http.post("/v1/sources/hubspot/fetches:retry")  # not_found stays
    assert nothing.json() == {"retried": 0}
    assert (await capture.http.post("/v1/sources/nope/fetches:retry")).status_code == 404


async def _failed_after(capture: Capture, source: str, attempts: int) -> bool:
    jobs = await capture.jobs(source, "failed")
    return bool(jobs) and jobs[0]["attempts"] >= attempts


def _resign(body: bytes, source: str) -> dict[str, str]:
    stamp = str(int(datetime.now(UTC).timestamp() * 1000))
    uri = f"{PUBLIC}/v1/sources/{source}/leads"
    content = b"POST" + uri.encode() + body + stamp.encode()
    return {"x-hubspot-signature-v3": b64_hmac(SECRETS["LEADFLOW_FT_HUBSPOT_APP"], content),
            "x-hubspot-request-timestamp": stamp}  # fmt: skip


# -- LinkedIn ---------------------------------------------------------------------------------


def linkedin_notification(response_id: str) -> bytes:
    body = body_of("linkedin_lead_notification.json")
    body["leadGenFormResponse"] = f"urn:li:leadGenFormResponse:{response_id}"
    return json.dumps(body).encode()


async def test_linkedin_answers_land_in_their_fields_through_the_form_cached_across_restarts(
    app_factory: Callable[..., Any], database_url: str, vendor: VendorApis
) -> None:
    async with running_app(app_factory()) as http:
        capture = Capture(http, None, database_url)
        for response_id in ("li-resp-1", "li-resp-2"):
            resp = await http.post(
                "/v1/sources/linkedin/leads", **linkedin_post(linkedin_notification(response_id))
            )
            assert resp.status_code == 200, resp.text
            assert resp.json()["jobs"][0]["record_id"] == response_id
        await eventually(lambda: all_done(capture, "linkedin", 2))
        (job, _) = await capture.jobs("linkedin", "done")
        lead = (await http.get(f"/v1/leads/{job['lead_id']}")).json()["profile"]
    assert lead["email"] in ("li-resp-1@example.com", "li-resp-2@example.com")
    assert (lead["first_name"], lead["last_name"], lead["company"], lead["country"]) == (
        "Kevin", "Johonson", "Highlander Cranberries LLC", "MX",
    )  # fmt: skip
    assert lead["title"] == "Senior Engineer" and lead["phone"] == "+525550802000"
    assert lead["utm"]["campaign"] == "q3_enterprise" and lead["campaign"] == "q3_enterprise"
    assert lead["attributes"]["¿Dónde creciste?"] == "Mexico"
    assert lead["attributes"]["form_id"] == "7234246"
    assert vendor.calls.count("/rest/leadForms/7234246") == 1  # fetched once, then cached
    for headers in vendor.headers:
        assert headers["linkedin-version"] == LINKEDIN_VERSION
        assert headers["x-restli-protocol-version"] == "2.0.0"

    async with running_app(app_factory()) as http:  # a restart: the form comes from the DB
        capture = Capture(http, None, database_url)
        await http.post(
            "/v1/sources/linkedin/leads", **linkedin_post(linkedin_notification("li-resp-3"))
        )
        await eventually(lambda: all_done(capture, "linkedin", 3))
    assert vendor.calls.count("/rest/leadForms/7234246") == 1
    assert await capture.leads_with("li-resp-3@example.com") == 1


# -- the job itself ---------------------------------------------------------------------------


async def test_a_job_that_runs_twice_never_makes_two_leads(
    app_factory: Callable[..., Any], database_url: str, vendor: VendorApis
) -> None:
    """A worker whose lease ran out (another claimed the job since) stores nothing; a job run
    again after it finished stores nothing either."""
    app = app_factory(fetch_tick_s=3600)  # the background worker stays idle: we run the job
    async with running_app(app) as http:
        runtime = app.state.runtime
        now = datetime.now(UTC)
        async with runtime.engine.begin() as conn:
            await fetch_store.schedule(
                conn, "meta", [FetchRef("meta", "900777", None, {})], now, refetch=False
            )
        async with runtime.engine.begin() as conn:
            (stale,) = await fetch_store.claim_due(conn, now, now, 10)  # lease ends at once
        async with runtime.engine.begin() as conn:
            (current,) = await fetch_store.claim_due(conn, now, now + timedelta(hours=1), 10)
        assert (stale.attempts, current.attempts) == (1, 2)
        policy = runtime.deps.fetcher.policy
        await fetch_jobs._run(runtime, stale, policy)
        assert await Capture(http, app, database_url).leads_with("lead900777@example.com") == 0
        await fetch_jobs._run(runtime, current, policy)
        await fetch_jobs._run(runtime, current, policy)
        capture = Capture(http, app, database_url)
        assert await capture.leads_with("lead900777@example.com") == 1
        (job,) = await capture.jobs("meta")
        assert job["status"] == "done" and job["attempts"] == 2


async def test_the_fetches_api_filters_by_status_and_knows_its_sources(
    capture: Capture, vendor: VendorApis
) -> None:
    vendor.unknown.add("900405")
    await capture.http.post(
        "/v1/sources/meta/leads", **meta_post(meta_notification("900405", "900406"))
    )
    await eventually(lambda: _has_status(capture, "meta", "not_found"))
    await eventually(lambda: all_done(capture, "meta", 1))
    assert [j["record_id"] for j in await capture.jobs("meta", "done")] == ["900406"]
    (gone,) = await capture.jobs("meta", "not_found")
    assert gone["vendor"] == "meta" and gone["due_at"] is None and gone["finished_at"]
    assert len(await capture.jobs("meta")) == 2
    unknown = await capture.http.get("/v1/sources/nope/fetches")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_source")
    bad = await capture.http.get("/v1/sources/meta/fetches", params={"status": "lost"})
    assert bad.status_code == 422
    assert re.search(r"status", bad.text)
