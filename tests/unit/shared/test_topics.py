"""``LEADFLOW_TOPIC_PREFIX``: the names on the broker, and the contract's names without it."""

import pytest
from pydantic import ValidationError

from shared.config import ServiceSettings
from shared.contracts import EVENT_CLASSES
from shared.contracts.topics import (
    LEAD_CAPTURED,
    TOPOLOGY,
    all_topics,
    consumer_group_id,
    dead_letter_topic,
    topic_name,
    topics_consumed_by,
)


def test_without_a_prefix_the_names_are_the_contracts() -> None:
    assert ServiceSettings().topic_prefix == ""
    assert topic_name(LEAD_CAPTURED, ServiceSettings().topic_prefix) == "leadflow.lead.captured"
    assert dead_letter_topic("scorer") == "leadflow.dlq.scorer"
    assert all_topics() == [
        *TOPOLOGY,
        *(f"leadflow.dlq.{s}" for s in ("scorer", "router", "nurture", "notifier", "insights")),
    ]
    assert {cls.TOPIC for cls in EVENT_CLASSES} <= set(TOPOLOGY)


def test_a_prefix_goes_before_every_name_on_the_broker() -> None:
    prefix = "staging."
    assert all_topics(prefix) == [prefix + t for t in all_topics()]
    assert dead_letter_topic("router", prefix) == "staging.leadflow.dlq.router"
    assert consumer_group_id("router", prefix) == "staging.router"
    assert consumer_group_id("router") == "router"
    assert topics_consumed_by("scorer", prefix) == [
        prefix + t for t in topics_consumed_by("scorer")
    ]


def test_the_prefix_is_read_from_the_environment_and_must_be_a_topic_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEADFLOW_TOPIC_PREFIX", "ci-42.")
    assert ServiceSettings().topic_prefix == "ci-42."
    monkeypatch.setenv("LEADFLOW_TOPIC_PREFIX", "no spaces/")
    with pytest.raises(ValidationError, match="topic_prefix"):
        ServiceSettings()
