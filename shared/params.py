"""Parameter types whose documented schema and validation agree.

pydantic's lax mode reads more than the OpenAPI document admits: a ``date`` or ``datetime``
query parameter takes ``0.5`` as a Unix timestamp, a ``datetime`` takes one without a time
zone; text takes a NUL character, which PostgreSQL cannot compare or store. A client (and
schemathesis, which CI runs over every document) trusts the document,
so these types refuse what it does not allow (422, naming the parameter).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _text_like(pattern: re.Pattern[str], example: str) -> Any:
    def check(value: Any) -> Any:
        if not isinstance(value, str) or not pattern.match(value):
            raise ValueError(f"must be written like {example}")
        return value

    return check


NO_NUL = r"^[^\x00]*$"
"""The pattern of a text parameter that reaches PostgreSQL, whose text cannot hold NUL: the
document says so and validation refuses it (422), where the database would fail (500)."""

IsoDate = Annotated[date, BeforeValidator(_text_like(_DATE, "2026-11-25"))]
"""A day, ``YYYY-MM-DD`` (RFC 3339 ``full-date``)."""

IsoDateTime = Annotated[
    AwareDatetime, BeforeValidator(_text_like(_DATE_TIME, "2026-11-25T10:00:00Z"))
]
"""A moment with its time zone (RFC 3339 ``date-time``)."""
