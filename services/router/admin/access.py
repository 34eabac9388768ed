"""What an admin write carries: the credential (scope ``routing:admin``, checked by the
shared gate), ``X-Actor`` (optional: on whose behalf), ``X-Reason`` and ``If-Match``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Response

from shared.auth.guard import RoutingAdmin
from shared.http import ApiError, safe_text


@dataclass(frozen=True)
class Writer:
    """Who writes, why, and which version they based the change on (None: whatever is in
    force)."""

    actor: str
    reason: str | None
    expected: int | None


async def writer(
    caller: RoutingAdmin,
    x_actor: Annotated[
        str | None,
        Header(
            alias="X-Actor",
            max_length=200,
            description="On whose behalf (e.g. the person using an admin tool); recorded"
            " beside the credential's subject",
        ),
    ] = None,
    x_reason: Annotated[
        str | None, Header(alias="X-Reason", description="Why, for the audit log")
    ] = None,
    if_match: Annotated[
        str | None, Header(alias="If-Match", description="The version the change is based on")
    ] = None,
) -> Writer:
    """The credential (scope ``routing:admin``) is who writes; ``X-Actor`` may add a name."""
    on_behalf = (x_actor or "").strip()
    actor = f"{caller.subject} ({safe_text(on_behalf)})" if on_behalf else caller.subject
    reason = (x_reason or "").strip()[:1000] or None
    return Writer(actor, reason, _expected_version(if_match))


WriterDep = Annotated[Writer, Depends(writer)]


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
