"""Who may write to the admin API, and what a write carries: the bearer token (or, with
none set, a loopback client), ``X-Actor`` (required), ``X-Reason`` and ``If-Match``."""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request, Response

from services.router.admin.schema import MAX_VERSION
from services.router.deps import RouterRuntime, RuntimeDep
from shared.http import ApiError

# What the headers may hold: the schema says so and validation refuses the rest (422).
_NOT_BLANK = r"\S"
_DIGITS = f"[0-9]{{1,{len(str(MAX_VERSION))}}}"
IF_MATCH = rf'^\s*(\*|(W/)?"{_DIGITS}"|{_DIGITS})\s*$'


@dataclass(frozen=True)
class Writer:
    """Who writes, why, and which version they based the change on (None: whatever is in
    force)."""

    actor: str
    reason: str | None
    expected: int | None


async def writer(
    request: Request,
    runtime: RuntimeDep,
    x_actor: Annotated[
        str,
        Header(
            alias="X-Actor",
            description="Who makes the change, for the audit log (1-200 characters)",
            min_length=1,
            max_length=200,
            pattern=_NOT_BLANK,
        ),
    ],
    authorization: Annotated[
        str | None, Header(description="Bearer <LEADFLOW_ADMIN_TOKEN>")
    ] = None,
    x_reason: Annotated[
        str | None,
        Header(alias="X-Reason", description="Why, for the audit log", max_length=1000),
    ] = None,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='The version the change is based on: 3, "3" (its ETag) or W/"3";'
            " * or no header: whatever version is in force",
            pattern=IF_MATCH,
        ),
    ] = None,
) -> Writer:
    _authorise(request, runtime, authorization)
    reason = (x_reason or "").strip() or None
    return Writer(x_actor.strip(), reason, _expected_version(if_match))


WriterDep = Annotated[Writer, Depends(writer)]


def _authorise(request: Request, runtime: RouterRuntime, authorization: str | None) -> None:
    token = runtime.deps.admin_token
    if token is None:
        host = request.client.host if request.client else ""
        if not _loopback(host):
            raise ApiError(401, "unauthorized", "admin writes from another machine need"
                           " LEADFLOW_ADMIN_TOKEN set on the router and sent as a bearer token",
                           headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        return
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.get_secret_value().encode()
    ):
        raise ApiError(401, "unauthorized", "admin writes need Authorization: Bearer <token>",
                       headers={"WWW-Authenticate": "Bearer"})  # fmt: skip


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _expected_version(if_match: str | None) -> int | None:
    """The version ``If-Match`` names (validated against :data:`IF_MATCH` already)."""
    if if_match is None or if_match.strip() == "*":
        return None
    return int(if_match.strip().removeprefix("W/").strip('"'))


def etag(response: Response, version: int | None) -> None:
    if version is not None:
        response.headers["ETag"] = f'"{version}"'
