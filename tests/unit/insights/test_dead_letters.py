"""Which dead-letter topics insights reads: one per service with a consumer."""

from __future__ import annotations

from services.insights.dead_letters import consuming_groups


def test_every_consuming_service_has_its_dead_letters_counted() -> None:
    # capture consumes nothing (it only publishes), so it has no dead-letter topic.
    assert consuming_groups() == ("scorer", "router", "nurture", "notifier", "insights")
