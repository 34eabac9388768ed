"""The dashboard's filter form, read into the API's :class:`Filters` with the API's rules
(an aware RFC 3339 moment, an IANA zone, ``to`` after ``from``, short text without NUL), so
a page and the API answer the same question. A refusal is a sentence naming the field,
shown above the form (a person typed it; a page does not answer in the API's JSON shape)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import TypeAdapter, ValidationError

from services.insights.domain.filters import Filters, time_zone
from shared.params import IsoDateTime

TEXT_FIELDS = ("source", "channel", "campaign", "queue", "team", "rep", "bucket")
FIELDS = ("from", "to", "tz", *TEXT_FIELDS)
_MOMENT: TypeAdapter[datetime] = TypeAdapter(IsoDateTime)


class FilterRefused(ValueError):
    """A filter the API would refuse too; the message names the field."""


def asked(query: Mapping[str, str]) -> dict[str, str]:
    """The filters filled in (blank fields are no filter), in the form's order."""
    return {k: query[k].strip() for k in FIELDS if query.get(k, "").strip()}


def read_filters(given: Mapping[str, str]) -> Filters:
    """The question's filters; :class:`FilterRefused` for one the API refuses."""
    start, end = _moment(given, "from"), _moment(given, "to")
    tz_name = given.get("tz", "UTC")
    zone = time_zone(tz_name) if len(tz_name) <= 64 and "\x00" not in tz_name else None
    if zone is None:
        raise FilterRefused(f"tz: unknown time zone {tz_name!r} (an IANA zone, e.g. Europe/London)")
    if start is not None and end is not None and end <= start:
        raise FilterRefused("to: must be after from")
    text: dict[str, str | None] = {}
    for name in TEXT_FIELDS:
        value = given.get(name)
        if value is not None and (len(value) > 200 or "\x00" in value):
            raise FilterRefused(f"{name}: at most 200 characters, no NUL")
        text[name] = value
    return Filters(start, end, zone, **text)


def _moment(given: Mapping[str, str], name: str) -> datetime | None:
    value = given.get(name)
    if value is None:
        return None
    try:
        return _MOMENT.validate_python(value)
    except ValidationError:
        raise FilterRefused(
            f"{name}: a moment with its time zone, e.g. 2026-10-05T08:00:00Z"
        ) from None
