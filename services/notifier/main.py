"""Composition root of the notifier service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.notifier import api, digest_job, handlers, store, subscriptions_api
from services.notifier.config import Settings, load_notifier_config
from services.notifier.delivery import DeliverySettings, deliver_due
from services.notifier.deps import Deps
from services.notifier.handoff import DeliveryHandoff
from services.notifier.sections import routing_section
from shared.contracts.topics import topics_consumed_by
from shared.service import ServiceSpec, create_service_app, worker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    config = load_notifier_config(settings.config_file)  # a bad config fails at start
    alert_rules = config.alert_rules(routing_section(settings.config_file))
    delivery = DeliverySettings(
        rules=config.to_domain(),
        tick_s=settings.delivery_tick_s,
        smtp=alert_rules.smtp,
        alerts=alert_rules,
    )
    deps = Deps(config, delivery, DeliveryHandoff(ttl_s=delivery.handoff_ttl_s))
    spec = ServiceSpec(
        name="notifier",
        version="1.0.0",
        description="Alerts and outbound webhooks: every event a subscription asks for is"
        " POSTed as a CloudEvent signed the Standard Webhooks way, or sent to the people it"
        " concerns on Slack, Microsoft Teams, e-mail or SMS, with retries and an audit trail"
        " of every attempt.",
        migrations=MIGRATIONS,
        routers=[api.router, subscriptions_api.router],
        consumes=topics_consumed_by("notifier"),
        erase=lambda uow, lead_ids: store.erase(uow.conn, lead_ids),
        handles_erasures=True,  # lead.erased is delivered to the subscribers that ask for it
        deps=deps,
        make_handler=lambda runtime: handlers.make_batch_handler(
            delivery.rules, runtime.deps.handoff, delivery.lease_s, alert_rules
        ),
        resources=[worker(deliver_due), worker(digest_job.send_digests)],
    )
    return create_service_app(spec, settings)
