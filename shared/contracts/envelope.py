"""CloudEvents 1.0 envelope, JSON structured mode, carried as the Kafka record value.

A record's key is the lead id (also the CloudEvents ``subject``), so one lead's events
stay in order on one partition. Its ``content-type`` header is
``application/cloudevents+json`` as the CloudEvents Kafka protocol binding asks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel, ConfigDict

from shared import clock

CONTENT_TYPE = b"application/cloudevents+json; charset=UTF-8"
SPEC_VERSION = "1.0"


class Event(BaseModel):
    """Base of every event payload: a fact about one lead."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    TYPE: ClassVar[str]
    TOPIC: ClassVar[str]

    lead_id: str


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded CloudEvent: the attributes plus the typed payload."""

    id: str
    source: str
    type: str
    time: datetime
    subject: str
    data: Event
    correlationid: str | None = None
    causationid: str | None = None


class EnvelopeError(ValueError):
    """A record is not a CloudEvent we can read (bad JSON, missing attribute, unknown type)."""


def new_event_id() -> str:
    return str(uuid.uuid4())


def encode(
    event: Event,
    *,
    source: str,
    event_id: str | None = None,
    time: datetime | None = None,
    correlationid: str | None = None,
    causationid: str | None = None,
) -> tuple[str, bytes]:
    """Return ``(event_id, json bytes)`` for one event in CloudEvents structured mode."""
    eid = event_id or new_event_id()
    doc: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": eid,
        "source": source,
        "type": event.TYPE,
        "time": (time or clock.now()).isoformat(),
        "subject": event.lead_id,
        "datacontenttype": "application/json",
        "data": event.model_dump(mode="json"),
    }
    if correlationid:
        doc["correlationid"] = correlationid
    if causationid:
        doc["causationid"] = causationid
    return eid, orjson.dumps(doc)


def decode(raw: bytes, registry: dict[str, type[Event]]) -> Envelope:
    """Parse and validate one record value; raises :class:`EnvelopeError` with the reason."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"value is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise EnvelopeError("value is not a JSON object")
    missing = [k for k in ("specversion", "id", "source", "type", "data") if k not in doc]
    if missing:
        raise EnvelopeError(f"missing CloudEvents attribute(s): {', '.join(missing)}")
    if doc["specversion"] != SPEC_VERSION:
        raise EnvelopeError(f"unsupported specversion {doc['specversion']!r}")
    model = registry.get(doc["type"])
    if model is None:
        raise EnvelopeError(f"unknown event type {doc['type']!r}")
    try:
        data = model.model_validate(doc["data"])
        time = datetime.fromisoformat(doc["time"]) if doc.get("time") else clock.now()
    except ValueError as exc:
        raise EnvelopeError(f"invalid {doc['type']} payload: {exc}") from exc
    return Envelope(
        id=str(doc["id"]),
        source=str(doc["source"]),
        type=doc["type"],
        time=time,
        subject=str(doc.get("subject") or data.lead_id),
        data=data,
        correlationid=doc.get("correlationid"),
        causationid=doc.get("causationid"),
    )
