"""Dead letters read back from their topic, filtered, and turned into replays (pure parts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from shared.bus.dead_letters import (
    DeadLetter,
    LetterFilter,
    matches,
    replay_message,
    to_letter,
)

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
EVENT = orjson.dumps({"id": "ev-1", "type": "io.leadflow.lead.captured.v1", "subject": "lead-1"})
HEADERS = (
    ("content-type", b"application/cloudevents+json"),
    ("dlq-error", b"ValueError: lead lead-1 refused"),
    ("dlq-original-topic", b"staging.leadflow.lead.captured"),
    ("dlq-original-partition", b"2"),
    ("dlq-original-offset", b"41"),
    ("dlq-group", b"scorer"),
)


def letter(value: bytes = EVENT, headers: tuple[tuple[str, bytes], ...] = HEADERS) -> DeadLetter:
    return to_letter(1, 7, int(AT.timestamp() * 1000), b"lead-1", value, headers)


def test_a_record_reads_back_as_a_letter_with_its_origin_and_event() -> None:
    x = letter()
    assert (x.id, x.dead_at, x.group, x.key) == ("1-7", AT, "scorer", "lead-1")
    assert (x.original_topic, x.original_partition, x.original_offset) == (
        "staging.leadflow.lead.captured", 2, 41,
    )  # fmt: skip
    assert (x.event_id, x.event_type, x.subject) == (
        "ev-1", "io.leadflow.lead.captured.v1", "lead-1",
    )  # fmt: skip
    assert x.error == "ValueError: lead lead-1 refused"


@pytest.mark.parametrize("value", [b"\xff\xfe not json", b"[1, 2]", b'{"id": 5}'])
def test_a_letter_that_never_decoded_has_no_event_fields(value: bytes) -> None:
    x = letter(value)
    assert (x.event_id, x.event_type, x.subject) == (None, None, None)
    assert x.value == value


def test_broken_origin_headers_read_as_unknown_not_as_an_error() -> None:
    x = letter(headers=(("dlq-original-partition", b"two"),))
    assert (x.original_partition, x.original_offset, x.original_topic, x.error) == (
        None, None, "", "",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("wanted", "hit"),
    [
        (LetterFilter(), True),
        (LetterFilter(event_type="io.leadflow.lead.captured.v1"), True),
        (LetterFilter(event_type="io.leadflow.lead.scored.v1"), False),
        (LetterFilter(subject="lead-2"), False),
        (LetterFilter(error_contains="REFUSED"), True),
        (LetterFilter(error_contains="timeout"), False),
        (LetterFilter(original_topic="leadflow.lead.captured"), True),
        (LetterFilter(since=AT), True),
        (LetterFilter(since=AT + timedelta(seconds=1)), False),
        (LetterFilter(until=AT), False),
        (LetterFilter(ids=frozenset({"1-7", "0-3"})), True),
        (LetterFilter(ids=frozenset()), False),
        (LetterFilter(subject="lead-1", error_contains="timeout"), False),
    ],
)
def test_every_given_filter_field_must_match(wanted: LetterFilter, hit: bool) -> None:
    assert matches(letter(), wanted) is hit


def test_a_replay_goes_to_the_original_topic_as_it_was_sent() -> None:
    message = replay_message(letter(), prefix="staging.")
    assert message.topic == "leadflow.lead.captured"  # the publisher adds the prefix
    assert (message.key, message.value, message.event_id) == ("lead-1", EVENT, "ev-1")
    assert message.headers == (
        ("content-type", b"application/cloudevents+json"),
        ("dlq-replayed-from", b"scorer/1-7"),
    )


def test_a_replayed_letter_dead_again_is_replayed_from_its_newest_place() -> None:
    twice = letter(headers=(*HEADERS, ("dlq-replayed-from", b"scorer/0-1")))
    assert replay_message(twice, prefix="").headers[-1] == ("dlq-replayed-from", b"scorer/1-7")
    assert replay_message(twice, prefix="").topic == "staging.leadflow.lead.captured"
