"""How a later submission of a known person merges into their lead: newer non-empty values
win, empty fields never erase, attributes merge key by key, first-touch fields stay, and the
data-quality flags follow the values. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.capture.domain.lead import CONTACT_FIELDS, CleanLead

# Never overwritten by a later submission: first-touch attribution, and the e-mail that
# identifies the person. A later touch's source is kept in the merge record instead.
FIRST_TOUCH_FIELDS = frozenset({"source", "channel", "campaign", "utm", "email"})


_MERGED_APART = frozenset({"attributes", "data_quality"})


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


def merge_profile(
    existing: Mapping[str, Any], incoming: CleanLead, *, keep_phone: bool = False
) -> tuple[dict[str, Any], list[Change]]:
    """Merge a new submission into a known lead's profile: newer non-empty values win,
    empty fields never erase, attributes merge key by key; first-touch fields stay.

    ``keep_phone`` holds the phone when it is what matched the lead (it is the identity).
    """
    merged = dict(existing)
    changes: list[Change] = []
    fixed = FIRST_TOUCH_FIELDS | ({"phone"} if keep_phone else set())
    for name, value in incoming.as_profile().items():
        if name in fixed or name in _MERGED_APART or value is None:
            continue
        old = existing.get(name)
        if value != old:
            merged[name] = value
            changes.append(Change(name, old, value))
    _merge_quality(existing, incoming, merged, changes)
    old_attrs: dict[str, Any] = dict(existing.get("attributes") or {})
    new_attrs = {**old_attrs}
    for key, value in incoming.attributes.items():
        if old_attrs.get(key) != value:
            new_attrs[key] = value
            changes.append(Change(f"attributes.{key}", old_attrs.get(key), value))
    known_email = existing.get("email")
    if incoming.email and known_email and incoming.email != known_email:
        # matched by another rule with another address: keep it, never replace the first
        old_alts = list(new_attrs.get("alternate_emails") or [])
        if incoming.email not in old_alts:
            new_attrs["alternate_emails"] = [*old_alts, incoming.email]
            changes.append(
                Change(
                    "attributes.alternate_emails", old_alts or None, new_attrs["alternate_emails"]
                )
            )
    merged["attributes"] = new_attrs
    return merged, changes


def _merge_quality(
    existing: Mapping[str, Any],
    incoming: CleanLead,
    merged: dict[str, Any],
    changes: list[Change],
) -> None:
    """Flags follow the values: a field the submission now gives a clean value for loses
    its old flag (and its ``*_raw`` copy); the submission's own flags are added."""
    settled = {
        name
        for name, value in incoming.as_profile().items()
        if value is not None and name not in _MERGED_APART and merged.get(name) == value
    }
    fresh = [f.as_dict() for f in incoming.data_quality]
    kept = [
        f
        for f in existing.get("data_quality") or []
        if isinstance(f, dict) and f.get("field") not in settled and f not in fresh
    ]
    old = list(existing.get("data_quality") or [])
    if kept + fresh != old:
        merged["data_quality"] = kept + fresh
        changes.append(Change("data_quality", old or None, kept + fresh))
    for name in CONTACT_FIELDS:
        raw_name = f"{name}_raw"
        if name in settled and merged.get(raw_name) is not None and not getattr(incoming, raw_name):
            changes.append(Change(raw_name, merged[raw_name], None))
            merged[raw_name] = None
