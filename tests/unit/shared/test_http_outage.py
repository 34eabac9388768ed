"""Database errors that mean "PostgreSQL is not there right now" answer 503 (retry), never a
bare 500; other database errors stay 500."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError, IntegrityError, InternalError

from shared.db.errors import is_outage
from shared.http import install_error_handlers


class AdaptedError(Exception):
    """Stands in for SQLAlchemy's asyncpg adapter classes, which wrap asyncpg's errors."""


def _wrapped(wrapper: type[DBAPIError], cause: Exception) -> DBAPIError:
    orig = AdaptedError(str(cause))
    orig.__cause__ = cause
    return wrapper("SELECT 1", {}, orig)


RESTARTING = _wrapped(
    DBAPIError, asyncpg.CannotConnectNowError("the database system is not yet accepting")
)
BROKEN = _wrapped(InternalError, asyncpg.InternalClientError("cannot switch to state 15"))
SHUTDOWN = _wrapped(DBAPIError, asyncpg.AdminShutdownError("terminating connection"))
DUPLICATE = _wrapped(IntegrityError, asyncpg.UniqueViolationError("duplicate key"))
BUG = InternalError("SELECT 1", {}, Exception("XX000 internal"))


@pytest.mark.parametrize(
    ("exc", "outage"),
    [(RESTARTING, True), (BROKEN, True), (SHUTDOWN, True), (DUPLICATE, False), (BUG, False)],
)
def test_outages_are_told_from_bugs_and_bad_data(exc: DBAPIError, outage: bool) -> None:
    assert is_outage(exc) is outage


async def test_an_outage_is_answered_503_with_retry_after_and_a_bug_500() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/restarting")
    async def restarting() -> None:
        raise RESTARTING

    @app.get("/bug")
    async def bug() -> None:
        raise BUG

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        resp = await client.get("/restarting")
        assert (resp.status_code, resp.json()["error"]) == (503, "unavailable")
        assert resp.headers["retry-after"] == "1"
        assert (await client.get("/bug")).status_code == 500
