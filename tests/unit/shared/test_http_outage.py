"""A connection broken by a PostgreSQL kill answers 503 (retry), never a bare 500."""

from __future__ import annotations

import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy.exc import InternalError

from shared.http import broken_connection, install_error_handlers


class AdaptedInternalClientError(Exception):
    """Stands in for SQLAlchemy's asyncpg adapter class of the same name."""


def _broken() -> InternalError:
    orig = AdaptedInternalClientError(
        "cannot switch to state 15; another operation (2) is in progress"
    )
    orig.__cause__ = asyncpg.InternalClientError("cannot switch to state 15")
    return InternalError("SELECT 1", {}, orig)


def test_a_broken_pooled_connection_is_an_outage_and_other_internal_errors_are_not() -> None:
    assert broken_connection(_broken())
    assert not broken_connection(InternalError("SELECT 1", {}, Exception("XX000 internal")))


async def test_it_is_answered_503_with_retry_after() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/broken")
    async def broken() -> None:
        raise _broken()

    @app.get("/bug")
    async def bug() -> None:
        raise InternalError("SELECT 1", {}, Exception("XX000 internal"))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        resp = await client.get("/broken")
        assert (resp.status_code, resp.json()["error"]) == (503, "unavailable")
        assert resp.headers["retry-after"] == "1"
        assert (await client.get("/bug")).status_code == 500
