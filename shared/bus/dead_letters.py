"""A consumer group's dead letters: read them back off their topic, and replay them.

The consumer (``shared/bus/consumer.py``) sends an event it cannot apply after its attempts to
``leadflow.dlq.<group>``, with the error and where it came from in the headers. Nothing reads
that topic by itself: an operator looks at what is there (``GET /v1/dead-letters``,
``leadflow dlq list|show``), fixes the cause (a config, a bug, a broken upstream record), and
replays the letter **to its original topic**. Every group on that topic sees the event again;
their inboxes (``processed_events``) make it a no-op for those that applied it, and the group
that dead-lettered it, whose transaction rolled back, applies it once. A second replay is as
harmless as a redelivery.

The dead-letter topic is the record (no copy in a table): a letter's id is where it sits,
``<partition>-<offset>``, and its replays are entries in the service's audit trail.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.contracts.messages import OutgoingMessage

# Headers the consumer adds when it dead-letters a record; a replay leaves them behind.
DLQ_HEADERS = (
    "dlq-error",
    "dlq-original-topic",
    "dlq-original-partition",
    "dlq-original-offset",
    "dlq-group",
)
REPLAYED_FROM = "dlq-replayed-from"
MAX_SCAN = 100_000  # most letters one listing reads; a DLQ that big needs a fix, not a page


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered record, as read back from the group's dead-letter topic."""

    id: str  # "<partition>-<offset>" in the dead-letter topic
    dead_at: datetime
    group: str
    error: str
    original_topic: str  # as the broker names it (with the deployment's prefix)
    original_partition: int | None
    original_offset: int | None
    key: str
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    event_id: str | None  # None: the value is not a CloudEvent (why it died, often)
    event_type: str | None
    subject: str | None


@dataclass(frozen=True)
class LetterFilter:
    """Which letters a listing or a bulk replay takes; every given field must match."""

    event_type: str | None = None
    subject: str | None = None
    error_contains: str | None = None
    original_topic: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    ids: frozenset[str] | None = None


def letter_id(partition: int, offset: int) -> str:
    return f"{partition}-{offset}"


def _int(value: bytes | None) -> int | None:
    with contextlib.suppress(ValueError, TypeError):
        return int((value or b"").decode())
    return None


def _envelope_fields(value: bytes) -> tuple[str | None, str | None, str | None]:
    """The CloudEvent's id, type and subject, if the value is one (a letter may be a record
    that never decoded: that is often why it is here)."""
    try:
        body = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None, None, None
    if not isinstance(body, dict):
        return None, None, None
    fields = (body.get("id"), body.get("type"), body.get("subject"))
    return tuple(f if isinstance(f, str) else None for f in fields)  # type: ignore[return-value]


def to_letter(
    partition: int,
    offset: int,
    timestamp_ms: int,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]],
) -> DeadLetter:
    """A dead-letter record as a :class:`DeadLetter` (pure: the parts of a Kafka record)."""
    named = dict(headers)
    body = value or b""
    event_id, event_type, subject = _envelope_fields(body)
    return DeadLetter(
        id=letter_id(partition, offset),
        dead_at=datetime.fromtimestamp(timestamp_ms / 1000, UTC),
        group=named.get("dlq-group", b"").decode(errors="replace"),
        error=named.get("dlq-error", b"").decode(errors="replace"),
        original_topic=named.get("dlq-original-topic", b"").decode(errors="replace"),
        original_partition=_int(named.get("dlq-original-partition")),
        original_offset=_int(named.get("dlq-original-offset")),
        key=(key or b"").decode(errors="replace"),
        value=body,
        headers=tuple(headers),
        event_id=event_id,
        event_type=event_type,
        subject=subject,
    )


def matches(letter: DeadLetter, f: LetterFilter) -> bool:
    """Whether ``letter`` is one ``f`` asks for."""
    checks = (
        f.ids is None or letter.id in f.ids,
        f.event_type is None or letter.event_type == f.event_type,
        f.subject is None or letter.subject == f.subject,
        f.error_contains is None or f.error_contains.lower() in letter.error.lower(),
        f.original_topic is None or letter.original_topic.endswith(f.original_topic),
        f.since is None or letter.dead_at >= f.since,
        f.until is None or letter.dead_at < f.until,
    )
    return all(checks)


def replay_message(letter: DeadLetter, prefix: str) -> OutgoingMessage:
    """The record that puts ``letter`` back on its original topic: the same key, value and
    original headers (so the event keeps its id, and inboxes know it), plus where it came
    from. ``topic`` is the contract's name: the publisher adds the deployment's prefix."""
    topic = letter.original_topic
    if prefix and topic.startswith(prefix):
        topic = topic[len(prefix) :]
    kept = tuple((k, v) for k, v in letter.headers if k not in DLQ_HEADERS and k != REPLAYED_FROM)
    return OutgoingMessage(
        event_id=letter.event_id or f"dlq/{letter.id}",
        topic=topic,
        key=letter.key,
        value=letter.value,
        headers=(*kept, (REPLAYED_FROM, f"{letter.group}/{letter.id}".encode())),
    )


async def read_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    """Every letter on ``topic``, oldest first per partition (at most :data:`MAX_SCAN`). Reads
    without a consumer group: looking changes no offsets.

    The end is where fetching finds nothing more (twice in a row) once the broker's end
    offsets are reached: the embedded broker reports ends short of its last records (seen:
    107 records, end offset 100), so they are a floor, not the end."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        client_id="leadflow-dead-letters",
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        floor: dict[TopicPartition, int] = await consumer.end_offsets(tps)
        letters: list[DeadLetter] = []
        idle = 0
        while len(letters) < MAX_SCAN:
            batches = await consumer.getmany(*tps, timeout_ms=100, max_records=5000)
            for records in batches.values():
                letters.extend(_letter(r) for r in records)
            idle = 0 if batches else idle + 1
            if idle >= 2 and all([await consumer.position(tp) >= floor[tp] for tp in tps]):
                break
        return letters
    finally:
        await consumer.stop()


def _letter(record: ConsumerRecord[Any, Any]) -> DeadLetter:
    return to_letter(
        record.partition,
        record.offset,
        record.timestamp,
        record.key,
        record.value,
        tuple(record.headers or ()),
    )
