"""The insights dashboard in a real browser: headless Chromium (Debian's package) driven by
Playwright. A generated history goes through the broker into a running insights; then the
login page gates the pages, every page loads with no console error, every figure a page
marks (``data-metric``) equals the API's for the same filters, a filter changes the
figures, and a screenshot of each page (laptop and phone) is saved as a test artefact.

Skipped, saying why, only when the Chromium executable is absent (.ci/run installs it).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from leadflow.embedded import free_port
from services.insights.main import create_app
from services.insights.web.render import raw
from shared.auth.scopes import Scope
from tests.integration.insights.test_kpis_against_oracle import (
    CONFIG,
    applied,
    publish,
    settings,
)
from tests.support.app import running_app
from tests.support.auth import NO_SCOPE_KEY, scope_key
from tests.support.insights_history import generate
from tests.support.kafka import Bus

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.kafka,
    pytest.mark.timeout(150),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is absent (apt-get install -y chromium): no browser to drive",
    ),
]

LEADS = 300
PAGES = ["/", "/funnel", "/channels", "/reps", "/queues", "/feed"]
REPORTS = ("speed", "funnel", "value", "effort", "leaderboard", "fairness", "flow")


def artefacts(tmp_path: Path) -> Path:
    where = Path(os.environ.get("LEADFLOW_TEST_ARTEFACTS") or tmp_path) / "dashboard"
    where.mkdir(parents=True, exist_ok=True)
    print(f"dashboard screenshots: {where}")  # noqa: T201 - the artefacts' address for CI
    return where


async def serving(app: FastAPI, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """The app (its lifespan already running) on a real port for the browser."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.02)
    return server, task


def lookup(reports: dict[str, Any], metric: str) -> Any:
    """The API's figure a ``data-metric`` path names (a list is searched by rep, team or
    lost reason)."""
    node: Any = reports
    for key in metric.split("."):
        if isinstance(node, list):
            node = next(i for i in node if key in (i.get("rep"), i.get("team"), i.get("reason")))
        else:
            node = node[key]
    return node


async def api_reports(client: httpx.AsyncClient, params: dict[str, str]) -> dict[str, Any]:
    out = {}
    for report in REPORTS:
        resp = await client.get(f"/v1/insights/{report}", params=params)
        assert resp.status_code == 200, resp.text
        out[report] = resp.json()
    return out


async def figures(page: Page) -> dict[str, str]:
    pairs: list[list[str]] = await page.eval_on_selector_all(
        "[data-metric][data-value]", "els => els.map(e => [e.dataset.metric, e.dataset.value])"
    )
    return dict((m, v) for m, v in pairs)


def assert_same(shown: dict[str, str], reports: dict[str, Any], where: str) -> None:
    assert shown, f"{where} marks no figure"
    wrong = {m: (v, raw(lookup(reports, m))) for m, v in shown.items()
             if v != raw(lookup(reports, m))}  # fmt: skip
    assert wrong == {}, f"{where}: page vs API {wrong}"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        await chromium.close()


async def test_dashboard_pages_show_the_apis_figures_behind_the_login(
    database_url: str, bus: Bus, tmp_path: Path, pg_conn: asyncpg.Connection, browser: Browser
) -> None:
    shots = artefacts(tmp_path)
    config = tmp_path / "leadflow.yaml"
    config.write_text(CONFIG)
    truths, events = generate(LEADS)
    app = create_app(settings(database_url, bus, config))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with running_app(app) as client:
        await publish(bus, events)
        await applied(pg_conn, len(events))
        server, serve = await serving(app, port)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            errors: list[str] = []

            def on_console(msg: ConsoleMessage) -> None:
                if msg.type == "error":
                    errors.append(f"{page.url}: {msg.text}")

            page.on("console", on_console)
            page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))

            # No cookie: every page sends the browser to the login page, and back after.
            await page.goto(f"{base}/funnel?channel=cpc")
            assert page.url.startswith(f"{base}/login?next=")
            await page.screenshot(path=shots / "login.png")
            await page.fill("textarea[name=credential]", "lfk_not-a-key-of-ours")
            await page.click("button[type=submit]")
            alert = await page.inner_text("[role=alert]")
            assert "not accepted" in alert, alert
            await page.screenshot(path=shots / "login-refused.png")
            await page.fill("textarea[name=credential]", NO_SCOPE_KEY)
            await page.click("button[type=submit]")
            assert "reports:read" in await page.inner_text("[role=alert]")
            await page.fill("textarea[name=credential]", scope_key(Scope.REPORTS_READ))
            await page.click("button[type=submit]")
            assert page.url == f"{base}/funnel?channel=cpc"
            refusals = [e for e in errors if "/login" not in e]
            assert refusals == []  # the refused sign-ins' own 401/403 are the only errors
            errors.clear()
            cookie = next(c for c in await context.cookies() if c["name"] == "leadflow_session")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            # The API stays header-only: the cookie opens pages, not the API.
            api = await page.request.get(f"{base}/v1/insights/funnel")
            assert api.status == 401

            # Every page, unfiltered and filtered: the figures are the API's.
            for params in ({}, {"channel": "cpc", "tz": "Europe/London"}):
                reports = await api_reports(client, params)
                for path in PAGES:
                    query = f"?{urlencode(params)}" if params else ""
                    resp = await page.goto(f"{base}{path}{query}")
                    assert resp is not None and resp.status == 200, f"{path}: {resp}"
                    if path == "/feed":  # decisions, not figures: one row per assignment
                        assigned = reports["speed"]["overall"]["assigned"]  # once each here
                        assert await page.locator("tr[data-lead]").count() == min(50, assigned)
                    else:
                        assert_same(await figures(page), reports, f"{path}{query}")
                    if not params:
                        name = "overview" if path == "/" else path.strip("/")
                        await page.screenshot(path=shots / f"{name}.png", full_page=True)

            # The filter form changes the figures.
            await page.goto(f"{base}/")
            everyone = (await figures(page))["funnel.overall.counts.lead"]
            assert everyone == str(LEADS)
            await page.fill("input[name=rep]", "ana")
            await page.click("form.filters button[type=submit]")
            assert "rep=ana" in page.url
            ana = (await figures(page))["funnel.overall.counts.lead"]
            want = sum(1 for t in truths if t.rep == "ana")
            assert ana == str(want) and ana != everyone

            # A filter the API refuses is refused by the page too, naming the field.
            bad = await client.get("/", params={"tz": "Mars/Olympus"})
            assert bad.status_code == 422 and "tz: unknown time zone" in bad.text

            # A lead's page: its timeline across services; a feed row links to it.
            won = next(t for t in truths if t.won_at is not None and t.lost_at is None)
            await page.goto(f"{base}/leads/{won.lead_id}")
            assert await page.inner_text("[data-metric='lead.stage']") == "won"
            timeline = await page.inner_text("ol.timeline")
            assert "captured" in timeline and "activity: won" in timeline
            assert "Zebedee" not in await page.content()  # no personal data on pages
            await page.screenshot(path=shots / "lead.png", full_page=True)
            lost = next(t for t in truths if t.lost_at is not None and t.reason)
            await page.goto(f"{base}/leads/{lost.lead_id}")  # reports:read only: no free text
            shown = await page.inner_text("ol.timeline")
            assert "reason: (needs leads:read)" in shown and f"reason: {lost.reason}" not in shown
            # With leads:read (the admin key, as a header) free text shows, and is audited.
            full = await client.get(f"/leads/{lost.lead_id}")
            assert f"reason: {lost.reason}" in full.text and "next in rotation" in full.text
            audited = await pg_conn.fetchval(
                "SELECT count(*) FROM insights.audit_log WHERE action = 'lead.insights_read'"
                " AND target = $1", lost.lead_id,
            )  # fmt: skip
            assert audited == 1
            await page.goto(f"{base}/feed")
            why = await page.inner_text("tr[data-lead] td:last-child")
            assert why == "company_size_50_plus +40, visited_pricing +30"
            assert "next in rotation" not in await page.content()  # the sentence: leads:read
            await page.click("tr[data-lead] a")
            assert "/leads/" in page.url

            # A phone: the overview still reads (no sideways scrolling of the page).
            phone = await browser.new_context(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
            )
            await phone.add_cookies(
                [{"name": cookie["name"], "value": cookie["value"], "url": base,
                  "httpOnly": True, "sameSite": "Strict"}]
            )  # fmt: skip
            small = await phone.new_page()
            small.on("console", on_console)
            await small.goto(f"{base}/")
            width = await small.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the overview is {width}px wide on a 390px phone"
            await small.screenshot(path=shots / "overview-phone.png", full_page=True)

            await page.goto(f"{base}/logout")
            assert page.url.startswith(f"{base}/login")
            await page.goto(f"{base}/reps")
            assert page.url.startswith(f"{base}/login?next=")
            assert errors == []
        finally:
            server.should_exit = True
            await serve
