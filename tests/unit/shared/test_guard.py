"""The gate's deny-by-default check: a route must require a scope or say a vendor signs it
(or that it is the dashboard's login form)."""

from __future__ import annotations

import pytest
from fastapi import APIRouter

from shared.auth.guard import (
    LOGIN_FORM,
    VENDOR_AUTH,
    LeadsRead,
    ReportsPage,
    guard_routes,
    required_scope,
)
from shared.auth.scopes import Scope


def test_a_route_without_a_scope_stops_the_service_from_starting() -> None:
    router = APIRouter()

    @router.get("/v1/open")
    async def open_route() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="/v1/open requires no scope"):
        guard_routes(router)


def test_a_guarded_route_is_documented_with_its_scope_and_refusals() -> None:
    router = APIRouter()

    @router.get("/v1/leads/{lead_id}")
    async def read(lead_id: str, caller: LeadsRead) -> dict[str, str]:
        return {}

    @router.post("/v1/sources/{source}/leads", openapi_extra=VENDOR_AUTH)
    async def vendor(source: str) -> dict[str, str]:
        return {}

    guard_routes(router)
    guarded = router.routes[0]
    assert guarded.openapi_extra == {"x-required-scope": "leads:read"}  # type: ignore[attr-defined]
    assert {"401", "403", "429"} <= set(guarded.responses)  # type: ignore[attr-defined]


def test_a_page_needs_its_scope_and_only_the_login_form_needs_none() -> None:
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def page(caller: ReportsPage) -> dict[str, str]:
        return {}

    @router.get("/login", include_in_schema=False, openapi_extra=LOGIN_FORM)
    async def login() -> dict[str, str]:
        return {}

    guard_routes(router)
    assert [required_scope(r) for r in router.routes] == [Scope.REPORTS_READ, None]  # type: ignore[arg-type]
