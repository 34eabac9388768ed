"""The gate's deny-by-default check: a route must require a scope or say a vendor signs it."""

from __future__ import annotations

import pytest
from fastapi import APIRouter

from shared.auth.guard import VENDOR_AUTH, LeadsRead, guard_routes


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
