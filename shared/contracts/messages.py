"""An event as it travels: the record written to the outbox and sent to Kafka.

Here, beside the contracts, so the database layer (outbox, unit of work) and the bus layer
(publisher, consumer) both depend on it without the database layer importing the bus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from shared.contracts.envelope import CONTENT_TYPE, Event, encode


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    event_id: str
    topic: str
    key: str
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = field(default=(("content-type", CONTENT_TYPE),))


def to_message(
    event: Event,
    *,
    source: str,
    causationid: str | None = None,
    correlationid: str | None = None,
) -> OutgoingMessage:
    event_id, value = encode(
        event, source=source, causationid=causationid, correlationid=correlationid
    )
    return OutgoingMessage(event_id, event.TOPIC, event.lead_id, value)


class Placement(NamedTuple):
    """Where the broker stored a record."""

    partition: int
    offset: int


class Publisher(Protocol):
    async def publish(self, messages: Sequence[OutgoingMessage]) -> list[Placement]: ...
