"""Where a lead's fields come from: its source's name and defaults, and CSV columns.

Pure functions over plain dicts. A source's ``mapping`` is applied by the vendor parsers
(``make_generic_parser`` reads paths in the vendor's body; ``make_mapped`` overrides what a
vendor's parser produced, e.g. ``interest: attributes.product_line``); for CSV the mapping
names the column of each field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.capture.domain.lead import LEAD_FIELDS
from services.capture.sources.model import Source

# A mapping may fill any lead field but the source: the configured source names the lead.
MAPPING_TARGETS = LEAD_FIELDS - {"source"}
ATTRIBUTE_PREFIX = "attributes."


def is_mapping_target(name: str) -> bool:
    """A lead field, or ``attributes.<name>`` for a free-form one."""
    if name.startswith(ATTRIBUTE_PREFIX):
        return bool(name[len(ATTRIBUTE_PREFIX) :]) and "." not in name[len(ATTRIBUTE_PREFIX) :]
    return name in MAPPING_TARGETS


def with_source(raw: Mapping[str, Any], source: Source) -> dict[str, Any]:
    """Attribution: ``source`` is always the source's name; its configured ``channel``
    wins over the vendor's; its ``campaign`` fills in when the lead carries none."""
    lead = dict(raw)
    lead["source"] = source.name
    if source.channel:
        lead["channel"] = source.channel
    if source.campaign and not lead.get("campaign") and not lead.get("utm_campaign"):
        lead["campaign"] = source.campaign
    return lead


def csv_columns(header: Iterable[str], mapping: Mapping[str, str]) -> dict[int, str]:
    """Column index -> target: the mapping's column names first, then standard field names
    (case-insensitive); every other column becomes ``attributes.<header>``."""
    by_column = {column.strip().casefold(): target for target, column in mapping.items()}
    out: dict[int, str] = {}
    taken: set[str] = set()
    for i, name in enumerate(header):
        key = name.strip().casefold()
        if not key:
            continue
        target = by_column.get(key) or (
            key if key in MAPPING_TARGETS else f"attributes.{name.strip()}"
        )
        if target in taken:
            continue
        taken.add(target)
        out[i] = target
    return out


def csv_row_lead(cells: list[str], columns: Mapping[int, str]) -> dict[str, Any]:
    """One CSV row as a raw lead; empty cells are absent, not empty strings."""
    lead: dict[str, Any] = {}
    for i, target in columns.items():
        value = cells[i].strip() if i < len(cells) else ""
        if not value:
            continue
        if target == "company_size":
            digits = value.replace(",", "")
            _put(lead, target, int(digits) if digits.isdecimal() else value)
        else:
            _put(lead, target, value)
    return lead


def _put(lead: dict[str, Any], target: str, value: Any) -> None:
    if target.startswith(ATTRIBUTE_PREFIX):
        attributes = dict(lead.get("attributes") or {})
        attributes[target[len(ATTRIBUTE_PREFIX) :]] = value
        lead["attributes"] = attributes
    else:
        lead[target] = value
