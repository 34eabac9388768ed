"""A sample event ``data`` per alert kind, built from the contract models, so a user template
is rendered at load against every field its kind can carry.

Built from the pydantic models rather than written out, so a field added to a contract is
in its sample at once. Optional fields are filled in (a template may use them); a template
that reads one an actual event leaves empty falls back to the default at send time.
"""

from __future__ import annotations

import enum
import types
import typing
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel

from services.notifier.domain import event_type_for
from services.notifier.templates import ALERT_KINDS
from shared.contracts import EVENT_TYPES
from shared.contracts.router import ManagerRef, RepRef

_WHEN = "2026-12-05T09:00:00Z"
_BY_NAME: dict[str, Any] = {
    "email": "tom.baker@example.com",
    "phone": "+442071838750",
    "country": "GB",
    "first_name": "Tom",
    "last_name": "Baker",
    "company": "Acme Ltd",
    "name": "Ana Silva",
    "rep_id": "ana",
    "bucket": "hot",
    "queue": "fashion-uk",
    "source": "web",
    "timezone": "Europe/London",
}


def _value(name: str, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _value(name, options[0])
    if origin is Literal:
        return typing.get_args(annotation)[0]
    if origin in (list, tuple, set, frozenset):
        return [_value(name, typing.get_args(annotation)[0])]
    if origin is dict or annotation is dict:
        return {}
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return sample_of(annotation)
        if issubclass(annotation, enum.Enum):
            return next(iter(annotation)).value
        if issubclass(annotation, bool):
            return False
        if issubclass(annotation, int | float):
            return 1
        if issubclass(annotation, datetime):
            return _WHEN
        if issubclass(annotation, date):
            return _WHEN[:10]
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name.endswith("_id"):
        return "0b5d1f7a-8e2c-4a63-b1d9-5c7e3f2a9b10"
    return f"sample {name}"


# People in samples are people, not the sample lead (whose e-mail every other field gets).
_PEOPLE: dict[type[BaseModel], dict[str, Any]] = {
    RepRef: {"rep_id": "ana", "name": "Ana Silva", "email": "ana@example.com",
             "timezone": "Europe/London"},
    ManagerRef: {"name": "Zoe Grant", "email": "zoe@example.com", "slack_user_id": None,
                 "rep_id": None},
}  # fmt: skip


def sample_of(model: type[BaseModel]) -> dict[str, Any]:
    """Every field of ``model`` with a plausible value, as its JSON data would read."""
    if model in _PEOPLE:
        return dict(_PEOPLE[model])
    return {name: _value(name, f.annotation) for name, f in model.model_fields.items()}


def sample_data(kind: str) -> dict[str, Any]:
    """The data of a sample event of an alert kind (reassigned/escalated: lead.assigned's;
    a digest: a summary of one alert)."""
    if kind == "digest":
        item = {
            "title": "New lead: Tom Baker",
            "text": "sample text",
            "link": "https://leadflow.example/leads/x",
            "lead_id": "0b5d1f7a-8e2c-4a63-b1d9-5c7e3f2a9b10",
        }
        return {"count": 1, "items": [item], "period_end": _WHEN, "subscription": "sample"}
    short = "lead.assigned" if kind in ("lead.reassigned", "lead.escalated") else kind
    data = sample_of(EVENT_TYPES[event_type_for(short)])
    if kind == "lead.reassigned":
        data["reassigned"] = True
    if kind == "lead.escalated":
        data["escalated"] = True
    return data


def all_samples() -> dict[str, dict[str, Any]]:
    return {kind: sample_data(kind) for kind in ALERT_KINDS}
