"""What an admin write carries: the credential (scope ``routing:admin``, checked by the
shared gate), ``X-Actor`` (optional: on whose behalf), ``X-Reason`` and ``If-Match``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Response

from services.router.admin.schema import MAX_VERSION
from shared.auth.guard import RoutingAdmin
from shared.http import safe_text

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
    caller: RoutingAdmin,
    x_actor: Annotated[
        str | None,
        Header(
            alias="X-Actor",
            description="On whose behalf (e.g. the person using an admin tool), 1-200"
            " characters; recorded beside the credential's subject",
            min_length=1,
            max_length=200,
            pattern=_NOT_BLANK,
        ),
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
    """The credential (scope ``routing:admin``) is who writes; ``X-Actor`` may add a name."""
    on_behalf = (x_actor or "").strip()
    actor = f"{caller.subject} ({safe_text(on_behalf)})" if on_behalf else caller.subject
    reason = (x_reason or "").strip() or None
    return Writer(actor, reason, _expected_version(if_match))


WriterDep = Annotated[Writer, Depends(writer)]


def _expected_version(if_match: str | None) -> int | None:
    """The version ``If-Match`` names (validated against :data:`IF_MATCH` already)."""
    if if_match is None or if_match.strip() == "*":
        return None
    return int(if_match.strip().removeprefix("W/").strip('"'))


def etag(response: Response, version: int | None) -> None:
    if version is not None:
        response.headers["ETag"] = f'"{version}"'
