"""Admin changes to the routing config, pure: a routing config (as JSON) and a change in;
out comes the new one, validated exactly like the file's, or the problems at their keys
(``queues[2].members[0]: unknown rep 'zed'``).

A change names its target (``rep:ana``, ``queue:fashion-uk``, ``rules``, ``config``) and
what happened to it, for the audit log. A rep or queue keeps its place in its list, so a
change never reorders a rotation, and its id cannot change (create the new one, delete the
old). Deleting a rep or queue that something still names is refused, naming every place.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from services.router.config.document import (
    Document,
    Problem,
    diff,
    to_document,
    unstorable,
    validate_document,
)

AVAILABILITY_FIELDS = ("online", "timezone", "working_hours", "holidays", "out_of_office")

# What admin changes create, replace and delete; each kind's list in the routing config is
# ``<kind>s``, its items named by ``IDENTS[kind]`` (REFERENCES, at the end: what names one).
Kind = Literal["rep", "queue"]
IDENTS: dict[Kind, str] = {"rep": "id", "queue": "name"}


@dataclass(frozen=True)
class Create:
    """A new rep or queue (the subclass says which), added at the end of its list."""

    KIND: ClassVar[Kind]
    item: Mapping[str, Any]


@dataclass(frozen=True)
class Replace:
    """A rep or queue replaced whole, in its place; ``key`` is its id or name."""

    KIND: ClassVar[Kind]
    key: str
    item: Mapping[str, Any]


@dataclass(frozen=True)
class Delete:
    """A rep or queue removed, refused while anything still names it."""

    KIND: ClassVar[Kind]
    key: str


class CreateRep(Create):
    KIND = "rep"


class ReplaceRep(Replace):
    KIND = "rep"


class DeleteRep(Delete):
    KIND = "rep"


class CreateQueue(Create):
    KIND = "queue"


class ReplaceQueue(Replace):
    KIND = "queue"


class DeleteQueue(Delete):
    KIND = "queue"


@dataclass(frozen=True)
class ChangeAvailability:
    """Some of a rep's availability fields; a null removes the field (``working_hours: null``:
    always at work, ``out_of_office: null``: no absences)."""

    rep_id: str
    patch: Mapping[str, Any]


@dataclass(frozen=True)
class ReplaceRules:
    """The ordered rules, and the default queue when given."""

    rules: Sequence[Mapping[str, Any]]
    default_queue: str | None = None


@dataclass(frozen=True)
class ReplaceConfig:
    """The whole routing config at once: the file reloaded, or an earlier version restored."""

    document: Mapping[str, Any]
    action: str


Change = Create | Replace | Delete | ChangeAvailability | ReplaceRules | ReplaceConfig


@dataclass(frozen=True)
class Applied:
    """The change is valid: the new routing config, and what the audit log records about it."""

    document: Document
    action: str
    target: str
    before: Any
    after: Any
    diff: list[dict[str, Any]]

    @property
    def changed(self) -> bool:
        return bool(self.diff)


@dataclass(frozen=True)
class Refused:
    """``invalid``: the routing config would break (problems at their keys); ``not_found``: no such
    rep or queue; ``exists``: a create for an id already taken; ``referenced``: a delete of a
    rep or queue something still names (each place a problem)."""

    reason: Literal["invalid", "not_found", "exists", "referenced"]
    problems: tuple[Problem, ...]


def apply_change(document: Mapping[str, Any], change: Change) -> Applied | Refused:
    """The routing config with ``change`` applied and validated, or why it cannot be."""
    new: Document = copy.deepcopy(dict(document))
    if isinstance(change, Create):
        return _create(document, new, change.KIND, dict(change.item))
    if isinstance(change, Replace):
        return _replace(document, new, change.KIND, change.key, dict(change.item))
    if isinstance(change, Delete):
        return _delete(document, new, change.KIND, change.key)
    if isinstance(change, ChangeAvailability):
        return _availability(document, new, change)
    if isinstance(change, ReplaceRules):
        new["rules"] = [dict(r) for r in change.rules]
        if change.default_queue is not None:
            new["default_queue"] = change.default_queue
        return _validated(document, new, "rules.replaced", "rules", ("rules", "default_queue"))
    return _validated(document, dict(change.document), change.action, "config", None)


def _create(
    old: Mapping[str, Any], new: Document, kind: Kind, item: dict[str, Any]
) -> Applied | Refused:
    ident = IDENTS[kind]
    key = item.get(ident)
    index = _index(old, kind, ident, key) if isinstance(key, str) else None
    if index is not None:
        where = f"{kind}s[{index}].{ident}"
        return Refused("exists", (Problem(where, f"{kind} {key!r} already exists"),))
    new.setdefault(f"{kind}s", []).append(item)
    return _validated(old, new, f"{kind}.created", f"{kind}:{key}", (f"{kind}s", key, ident))


def _replace(
    old: Mapping[str, Any], new: Document, kind: Kind, key: str, item: dict[str, Any]
) -> Applied | Refused:
    ident = IDENTS[kind]
    index = _index(old, kind, ident, key)
    if index is None:
        return _unknown(kind, key)
    given = item.setdefault(ident, key)
    if given != key:
        message = (
            f"must be {key!r}, the {kind} in the URL (to rename, create the new {kind} and"
            " delete this one)"
        )
        return Refused("invalid", (Problem(f"{kind}s[{index}].{ident}", message),))
    new[f"{kind}s"][index] = item
    return _validated(old, new, f"{kind}.updated", f"{kind}:{key}", (f"{kind}s", key, ident))


def _delete(old: Mapping[str, Any], new: Document, kind: Kind, key: str) -> Applied | Refused:
    ident = IDENTS[kind]
    index = _index(old, kind, ident, key)
    if index is None:
        return _unknown(kind, key)
    named = [
        Problem(path, f"still names {kind} {key!r}; change it first")
        for path in REFERENCES[kind](old, key)
    ]
    if named:
        return Refused("referenced", tuple(named))
    del new[f"{kind}s"][index]
    return _validated(old, new, f"{kind}.deleted", f"{kind}:{key}", (f"{kind}s", key, ident))


def _availability(
    old: Mapping[str, Any], new: Document, change: ChangeAvailability
) -> Applied | Refused:
    index = _index(old, "rep", "id", change.rep_id)
    if index is None:
        return _unknown("rep", change.rep_id)
    fields = ", ".join(AVAILABILITY_FIELDS)
    unknown = [
        Problem(f"reps[{index}].{k}", f"not an availability field ({fields}); PUT the rep")
        for k in change.patch
        if k not in AVAILABILITY_FIELDS
    ]
    if unknown:
        return Refused("invalid", tuple(unknown))
    rep = new["reps"][index]
    for key, value in change.patch.items():
        if value is None:
            rep.pop(key, None)
        else:
            rep[key] = value
    target = f"rep:{change.rep_id}"
    return _validated(old, new, "rep.availability_changed", target, ("reps", change.rep_id, "id"))


def _validated(
    old: Mapping[str, Any],
    new: Document,
    action: str,
    target: str,
    subject: tuple[str, ...] | tuple[str, Any, str] | None,
) -> Applied | Refused:
    """Validate the whole section; the audit's before/after is the changed rep or queue (by
    id), the rules, or nothing for the whole config (the versions hold it)."""
    bad = unstorable(new)
    if bad:
        return Refused("invalid", tuple(bad))
    config = validate_document(new)
    if isinstance(config, list):
        return Refused("invalid", tuple(config))
    document = to_document(config)
    before, after = _subject(old, subject), _subject(document, subject)
    return Applied(document, action, target, before, after, diff(dict(old), document))


def _subject(document: Mapping[str, Any], subject: tuple[Any, ...] | None) -> Any:
    if subject is None:
        return None
    if len(subject) == 2:  # top-level keys: the rules and the default queue
        return {k: document.get(k) for k in subject}
    section, key, ident = subject
    return next((i for i in document.get(section, []) if i.get(ident) == key), None)


def _index(document: Mapping[str, Any], kind: str, ident: str, key: Any) -> int | None:
    items = document.get(f"{kind}s", [])
    return next((i for i, item in enumerate(items) if item.get(ident) == key), None)


def _unknown(kind: str, key: str) -> Refused:
    return Refused("not_found", (Problem("", f"no {kind} {key!r} in the config"),))


def _rep_references(document: Mapping[str, Any], rep_id: str) -> list[str]:
    out = []
    for qi, queue in enumerate(document.get("queues", [])):
        out += [f"queues[{qi}].members[{mi}]" for mi, m in enumerate(queue.get("members", []))
                if m == rep_id]  # fmt: skip
        if ((queue.get("sla") or {}).get("then") or {}).get("rep") == rep_id:
            out.append(f"queues[{qi}].sla.then.rep")
    for ti, team in enumerate(document.get("teams", [])):
        out += [f"teams[{ti}].members[{mi}]" for mi, m in enumerate(team.get("members", []))
                if m == rep_id]  # fmt: skip
        if (team.get("manager") or {}).get("rep") == rep_id:
            out.append(f"teams[{ti}].manager.rep")
    out += [f"recycling.{where}.rep" for where, policy in _recycle_policies(document)
            if policy.get("rep") == rep_id]  # fmt: skip
    return out


def _recycle_policies(document: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Every policy of ``recycling`` with its key (``gone_cold``, ``lost_reasons.spam``)."""
    recycling = document.get("recycling") or {}
    out = [(k, recycling[k]) for k in ("gone_cold", "lost", "disqualified") if recycling.get(k)]
    reasons = recycling.get("lost_reasons") or {}
    return out + [(f"lost_reasons.{r}", p) for r, p in reasons.items() if p]


def _queue_references(document: Mapping[str, Any], name: str) -> list[str]:
    out = [f"rules[{i}].queue" for i, r in enumerate(document.get("rules", []))
           if r.get("queue") == name]  # fmt: skip
    if document.get("default_queue") == name:
        out.append("default_queue")
    for qi, queue in enumerate(document.get("queues", [])):
        if queue.get("name") != name and queue.get("fallback") == name:
            out.append(f"queues[{qi}].fallback")
        if ((queue.get("sla") or {}).get("then") or {}).get("queue") == name:
            out.append(f"queues[{qi}].sla.then.queue")
    out += [f"recycling.{where}.queue" for where, policy in _recycle_policies(document)
            if policy.get("queue") == name]  # fmt: skip
    return out


REFERENCES: dict[Kind, Callable[[Mapping[str, Any], str], list[str]]] = {
    "rep": _rep_references,
    "queue": _queue_references,
}
