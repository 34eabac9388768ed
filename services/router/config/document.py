"""The routing config as JSON (a ``Document`` in code): what a routing config version
stores, what the admin API reads and changes, and what an audit diff compares.

It is the validated routing config in one canonical spelling (every field but the absent
ones, durations as the file writes them), so a version read back validates to the same
config, and two versions compare by value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from pydantic import ValidationError

from services.router.config.model import RoutingConfig
from shared.config import dotted_path

Document = dict[str, Any]
# Lists of objects that diffs follow by identity, not position: reps by id, queues and rules
# by name (``reps[ana].online``).
IDENTITY = {"reps": "id", "queues": "name", "rules": "name"}


@dataclass(frozen=True)
class Problem:
    """One reason a config is refused, at its key: ``queues[2].members[0]``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def to_document(config: RoutingConfig) -> Document:
    document: Document = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    return document


def validate_document(document: Mapping[str, Any]) -> RoutingConfig | list[Problem]:
    """The same validation as the file's routing config; problems at their keys."""
    try:
        return RoutingConfig.model_validate(document)
    except ValidationError as exc:
        return problems_of(exc)


def unstorable(node: Any, path: str = "") -> list[Problem]:
    """Text a version cannot hold (PostgreSQL's jsonb refuses NUL, JSON lone surrogates)."""
    if isinstance(node, dict):
        return [
            p for k, v in node.items() for p in unstorable(v, f"{path}.{k}" if path else str(k))
        ]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in unstorable(v, f"{path}[{i}]")]
    if isinstance(node, str):
        try:
            node.encode("utf-8")
        except UnicodeEncodeError:
            return [Problem(path, "contains an unpaired surrogate character")]
        if "\x00" in node:
            return [Problem(path, "contains a NUL character")]
    return []


def problems_of(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[Problem]:
    return [Problem(dotted_path((*prefix, *err["loc"])), err["msg"]) for err in exc.errors()]


def section_hash(section: Any) -> str:
    """What the file's routing config said, ignoring comments, layout and key order."""
    text = json.dumps(section, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """``[{path, before, after}]`` for every value that differs; an added or removed key
    has ``before`` or ``after`` null. Reps, queues and rules are followed by id/name, and a
    reordering of them (rules are ordered) is one entry listing the old and new order."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[dict[str, Any]] = []
        for key in [*before, *(k for k in after if k not in before)]:
            ident = IDENTITY.get(key) if not path else None
            child = f"{path}.{key}" if path else key
            old, new = before.get(key), after.get(key)
            if ident and _keyed(old, ident) and _keyed(new, ident):
                out += _diff_keyed(old, new, ident, child)
            else:
                out += diff(old, new, child)
        return out
    return [{"path": path, "before": before, "after": after}]


def _keyed(items: Any, ident: str) -> TypeGuard[list[dict[str, Any]]]:
    return isinstance(items, list) and all(isinstance(i, dict) and ident in i for i in items)


def _diff_keyed(
    before: list[dict[str, Any]], after: list[dict[str, Any]], ident: str, path: str
) -> list[dict[str, Any]]:
    old = {i[ident]: i for i in before}
    new = {i[ident]: i for i in after}
    out: list[dict[str, Any]] = []
    for key in [*old, *(k for k in new if k not in old)]:
        out += diff(old.get(key), new.get(key), f"{path}[{key}]")
    kept_old = [k for k in old if k in new]
    kept_new = [k for k in new if k in old]
    if kept_old != kept_new:
        out.append({"path": f"{path} (order)", "before": list(old), "after": list(new)})
    return out
