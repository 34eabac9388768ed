"""Dead letters in the flow report: insights reads the consuming services' dead-letter
topics itself, read-only, and counts what is there.

Insights cannot read other services' tables, and a dead letter is not an event any contract
announces: the consumer (``shared/bus/consumer.py``) sends the record it could not apply to
``leadflow.dlq.<group>`` directly, not through an outbox. Of the options — a new contract
event published by the consumer when it dead-letters (a change to every service's delivery
path, and a publish that could itself fail there), scraping each service's
``GET /v1/dead-letters`` (credentials and addresses of every service in insights), or
reading the topics — the last is the simplest honest one: the dead-letter topic *is* the
record (``shared/bus/dead_letters.py``), reading it without a consumer group changes no
offset and no other reader's view, and it needs nothing from the other services. Every
``LEADFLOW_INSIGHTS_GAUGES_INTERVAL_S`` insights reads each consuming group's topic from its start
(``read_letters``, at most ``MAX_SCAN`` letters) and replaces that group's rows: per group
the letters there, and the lead each is about where the letter is a CloudEvent with a
subject. Nothing of the payload is kept.

A replayed letter stays on its topic (a replay copies it back to the original topic with a
``dlq-replayed-from`` header), so these are letters ever dead-lettered and still retained,
not letters still to handle: the service's ``GET /v1/dead-letters`` says which were
replayed (its audit trail), and ``leadflow_dead_letters_total{group}`` counts them as they
happen.
"""

from __future__ import annotations

from services.insights.deps import InsightsRuntime
from services.insights.store import dead_letters as store
from shared.bus.dead_letters import read_letters
from shared.contracts.topics import SERVICES, dead_letter_topic, topics_consumed_by
from shared.periodic import Job


def consuming_groups() -> tuple[str, ...]:
    """Every service with a consumer has a dead-letter topic (its group is its name)."""
    return tuple(s for s in SERVICES if topics_consumed_by(s))


async def count_dead_letters(runtime: InsightsRuntime) -> None:
    """Read every consuming group's dead-letter topic and replace its rows."""
    settings = runtime.settings
    for group in consuming_groups():
        topic = dead_letter_topic(group, settings.topic_prefix)
        letters = await read_letters(settings.kafka_bootstrap, topic)
        rows = [(x.id, x.dead_at, x.event_type, x.subject, x.original_topic) for x in letters]
        async with runtime.engine.begin() as conn:
            await store.replace_group(conn, group, rows)


def counting_dead_letters(every_s: float) -> Job[InsightsRuntime]:
    return Job("counting dead letters", every_s, count_dead_letters)
