"""Who may write to the admin API, and what a write carries: the bearer token (or, with
none set, a loopback client), ``X-Actor`` (required), ``X-Reason`` and ``If-Match``."""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request, Response

from services.router.deps import RouterRuntime, RuntimeDep
from shared.http import ApiError, safe_text


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
    authorization: Annotated[
        str | None, Header(description="Bearer <LEADFLOW_ADMIN_TOKEN>")
    ] = None,
    x_actor: Annotated[
        str | None, Header(alias="X-Actor", description="Who makes the change (required)")
    ] = None,
    x_reason: Annotated[
        str | None, Header(alias="X-Reason", description="Why, for the audit log")
    ] = None,
    if_match: Annotated[
        str | None, Header(alias="If-Match", description="The version the change is based on")
    ] = None,
) -> Writer:
    _authorise(request, runtime, authorization)
    actor = (x_actor or "").strip()
    if not actor or len(actor) > 200:
        problem = "required on admin writes: who makes the change (1-200 characters)"
        raise ApiError(422, "invalid_request", f"X-Actor: {problem}",
                       [{"field": "header:X-Actor", "problem": problem}])  # fmt: skip
    reason = (x_reason or "").strip()[:1000] or None
    return Writer(actor, reason, _expected_version(if_match))


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
    if if_match is None or if_match.strip() == "*":
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()):
        problem = f'must be a config version number, e.g. 3 or "3"; got {safe_text(if_match)!r}'
        raise ApiError(422, "invalid_request", f"If-Match: {problem}",
                       [{"field": "header:If-Match", "problem": problem}])  # fmt: skip
    return int(text)


def etag(response: Response, version: int | None) -> None:
    if version is not None:
        response.headers["ETag"] = f'"{version}"'
