"""Configured mappings: a parser for any JSON or form body, and overrides for a vendor parser.

A mapping goes from a lead field (``email``, ``company``, ``utm_source``, ...; or
``attributes.<name>``) to a path: dot-separated keys with ``[n]`` list indexes, e.g.
``contact.emails[0].value``. Form bodies are read with PHP-style bracketed names nested
(``lead[email]`` is the path ``lead.email``). Keys that contain a dot cannot be addressed.
A path that is missing (or null) in a body leaves the field out; one that holds an object or
list where text is expected is passed on as it is, and cleaning keeps it raw and flagged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from services.capture.domain.lead import LEAD_FIELDS
from services.capture.sources.base import InboundRequest, Parser, UnreadableLead

from ._common import (
    LeadDraft,
    each_lead,
    fail,
    form_fields,
    headcount,
    load_json,
    obj,
    one_or_many,
    text,
    unflatten,
)

Path = tuple[str | int, ...]
_KEY = re.compile(r"[^.\[\]]+")
_INDEX = re.compile(r"\[(\d+)\]")
_MISSING = object()
IDENTITY = {field: field for field in sorted(LEAD_FIELDS)}


def parse_path(path: str) -> Path:
    """``"a.b[2].c"`` -> ``("a", "b", 2, "c")``; ValueError for anything else."""
    steps: list[str | int] = []
    pos = 0
    while pos < len(path):
        if path[pos] == "[":
            index = _INDEX.match(path, pos)
            if index is None:
                raise ValueError(f"bad path {path!r}: expected [n] at {pos}")
            steps.append(int(index[1]))
            pos = index.end()
            continue
        if steps:
            if path[pos] != ".":
                raise ValueError(f"bad path {path!r}: expected '.' or '[' at {pos}")
            pos += 1
        key = _KEY.match(path, pos)
        if key is None:
            raise ValueError(f"bad path {path!r}: expected a key at {pos}")
        steps.append(key[0])
        pos = key.end()
    if not steps:
        raise ValueError("empty path")
    return tuple(steps)


def format_path(prefix: str, steps: Path) -> str:
    out = prefix
    for step in steps:
        out = f"{out}[{step}]" if isinstance(step, int) else f"{out}.{step}" if out else step
    return out


def resolve(data: Any, steps: Path) -> Any:
    """The value at ``steps``, or ``_MISSING``."""
    for step in steps:
        if isinstance(step, int) and isinstance(data, list) and step < len(data):
            data = data[step]
        elif isinstance(step, str) and isinstance(data, dict) and step in data:
            data = data[step]
        else:
            return _MISSING
    return data


def _compile(mapping: Mapping[str, str]) -> dict[str, Path]:
    compiled: dict[str, Path] = {}
    for target, path in mapping.items():
        if target not in LEAD_FIELDS and not (target.startswith("attributes.") and target[11:]):
            raise ValueError(f"{target!r} is not a lead field nor 'attributes.<name>'")
        compiled[target] = parse_path(path)
    return compiled


def _apply(lead: dict[str, Any], target: str, value: Any, path: str) -> None:
    """Set ``target`` on a raw lead, overriding what was there."""
    if target.startswith("attributes."):
        lead.setdefault("attributes", {})[target[11:]] = value
    elif target == "company_size":
        size = headcount(value)
        lead[target] = value if size is None else size  # clean_lead refuses what is no number
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        lead[target] = text(value, path)
    else:  # an object or list where text is expected: cleaning keeps it raw and flagged
        lead[target] = value


def make_generic_parser(mapping: Mapping[str, str], *, keep_unmapped: bool = True) -> Parser:
    """A parser for a JSON body (one object, or a list of objects) or a form body.

    ``keep_unmapped`` keeps the body's other top-level keys in ``attributes`` (a top-level key
    is used when any mapped path starts with it; an unmapped ``attributes`` object is merged).
    An empty mapping reads same-named top-level fields (``email`` from ``email``, ...).
    """
    compiled = _compile(mapping or IDENTITY)
    used_roots = {steps[0] for steps in compiled.values()}

    def read(item: Any, prefix: str) -> dict[str, Any]:
        item = obj(item, prefix)
        lead: dict[str, Any] = {}
        for target, steps in compiled.items():
            value = resolve(item, steps)
            if value is not _MISSING and value is not None:
                _apply(lead, target, value, format_path(prefix, steps))
        if keep_unmapped:
            draft = LeadDraft()
            for key, value in item.items():
                if key == "attributes" and isinstance(value, dict):
                    draft.attributes.update(value)
                elif key not in used_roots:
                    draft.keep(key, value)
            lead["attributes"] = {**draft.attributes, **lead.get("attributes", {})}
            if not lead["attributes"]:
                del lead["attributes"]
        if not lead:
            fail(prefix, "has none of the mapped fields")
        return lead

    def parse_generic(req: InboundRequest) -> list[dict[str, Any]]:
        return each_lead(one_or_many(_body(req), ""), read)

    return parse_generic


def _body(req: InboundRequest) -> Any:
    kind = req.content_type.lower()
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return unflatten(form_fields(req))
    return load_json(req)


def make_mapped(parser: Parser, mapping: Mapping[str, str]) -> Parser:
    """``parser`` with some fields overridden by paths into each raw lead it returns.

    Paths read the parser's output, so a vendor's extras are reached through ``attributes``:
    ``{"company": "attributes.org_name"}`` fills ``company`` from the Typeform question whose
    ref is ``org_name``. A path missing from a lead leaves the parser's value alone.
    """
    compiled = _compile(mapping)

    def parse_mapped(req: InboundRequest) -> list[dict[str, Any]]:
        leads = parser(req)
        for i, lead in enumerate(leads):
            if isinstance(lead, UnreadableLead):
                continue
            for target, steps in compiled.items():
                value = resolve(lead, steps)
                if value is not _MISSING and value is not None:
                    _apply(lead, target, value, format_path(f"[{i}]", steps))
        return leads

    return parse_mapped


parse = make_generic_parser({})
