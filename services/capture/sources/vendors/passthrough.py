"""Our own lead shape (the body of ``POST /v1/leads``), one object or a list of them.

Unknown top-level fields are folded into ``attributes`` the way ``POST /v1/leads`` does (an
explicit ``attributes`` entry wins over a top-level field of the same name); numbers given for
text fields (a phone sent as a JSON number) become strings. Everything else, values of the
wrong type included, is left to :func:`services.capture.domain.cleaning.clean_lead`, which
keeps what does not clean raw and flagged.
"""

from __future__ import annotations

from typing import Any

from services.capture.domain.lead import LEAD_FIELDS
from services.capture.sources.base import InboundRequest

from ._common import (
    TEXT_FIELDS,
    each_lead,
    fail,
    load_json,
    obj,
    one_or_many,
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
        if key in LEAD_FIELDS:
            # a value of the wrong type is left for cleaning, which keeps it raw and flagged
            lead[key] = _as_text(value) if key in TEXT_FIELDS else value
        elif key != "attributes":
            extras[key] = value
    given = item.get("attributes")
    if isinstance(given, dict) or given is None:
        extras.update(given or {})
    elif extras:  # not an object: kept beside the extras (cleaning flags a lone one)
        extras["attributes"] = given
    else:
        lead["attributes"] = given
    if extras:
        lead["attributes"] = extras
    return lead


def _as_text(value: Any) -> Any:
    """Numbers given for text fields (a phone sent as a JSON number) as text, exactly."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value
