"""Our own lead shape (the body of ``POST /v1/leads``), one object or a list of them.

Unknown top-level fields are folded into ``attributes`` the way ``POST /v1/leads`` does (an
explicit ``attributes`` entry wins over a top-level field of the same name); numbers given for
text fields (a phone sent as a JSON number) become strings. Everything else is left to
:func:`services.capture.domain.clean_lead`.
"""

from __future__ import annotations

from typing import Any

from services.capture.sources.base import InboundRequest

from ._common import (
    LEAD_FIELDS,
    TEXT_FIELDS,
    at,
    each_lead,
    fail,
    load_json,
    obj,
    one_or_many,
    text,
)


def parse(req: InboundRequest) -> list[dict[str, Any]]:
    """Each lead as given, with extras folded into ``attributes``."""
    items = one_or_many(load_json(req), "")
    return each_lead(items, lambda item, path: _lead(obj(item, path), path))


def _lead(item: dict[str, Any], path: str) -> dict[str, Any]:
    if not item:
        fail(path, "is an empty lead")
    lead: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    for key, value in item.items():
        if key in TEXT_FIELDS:
            lead[key] = text(value, at(path, key))
        elif key in LEAD_FIELDS:
            lead[key] = value
        elif key != "attributes":
            extras[key] = value
    given = item.get("attributes")
    if given is not None:
        extras.update(obj(given, at(path, "attributes")))
    if extras:
        lead["attributes"] = extras
    return lead
