"""Structured JSON logs, with e-mail addresses and phone numbers masked
(:mod:`shared.redaction`), and the Prometheus metrics every service exposes."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import Counter, Gauge, Histogram

from shared.redaction import RedactingFilter

_STD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the ``extra=`` fields kept as keys."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        doc.update({k: v for k, v in record.__dict__.items() if k not in _STD_ATTRS})
        if record.exc_text:
            doc["exc"] = record.exc_text  # RedactingFilter formatted (and masked) it
        elif record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def configure_logging(service: str, level: str = "INFO") -> None:
    """One JSON handler on the root logger, every record through :class:`RedactingFilter`.
    uvicorn's loggers lose their own handlers and propagate here, so its error and access
    lines are JSON and redacted too (access lines also lose their query strings)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


class _Metrics:
    """Metrics shared by every service (each service is its own process and registry)."""

    def __init__(self) -> None:
        self.events_handled = Counter(
            "leadflow_events_handled_total", "Events applied by a consumer", ["group", "type"]
        )
        self.events_duplicate = Counter(
            "leadflow_events_duplicate_total", "Redelivered events skipped by the inbox", ["group"]
        )
        self.dead_letters = Counter(
            "leadflow_dead_letters_total", "Records sent to the dead-letter topic", ["group"]
        )
        self.dead_letters_replayed = Counter(
            "leadflow_dead_letters_replayed_total",
            "Dead letters put back on their original topic by an operator",
            ["group"],
        )
        self.batch_seconds = Histogram(
            "leadflow_consumer_batch_seconds",
            "Time to apply one consumed batch",
            ["group"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.consumer_lag = Gauge(
            "leadflow_consumer_lag", "Records behind the partition end", ["group", "topic"]
        )
        self.events_dropped_erased = Counter(
            "leadflow_events_dropped_erased_total",
            "Events dropped because their lead was erased (GDPR)",
            ["group"],
        )
        self.outbox_published = Counter(
            "leadflow_outbox_published_total", "Outbox messages published to Kafka"
        )
        self.outbox_backlog = Gauge(
            "leadflow_outbox_backlog",
            "Outbox messages not yet published (counted in PostgreSQL on a timer)",
        )
        self.outbox_retained = Gauge(
            "leadflow_outbox_retained",
            "Published outbox messages kept to republish on a broker that forgot them",
        )
        self.outbox_republished = Counter(
            "leadflow_outbox_republished_total",
            "Retained outbox messages queued again because the broker was new",
        )
        self.last_publish = Gauge(
            "leadflow_last_publish_timestamp_seconds", "When Kafka last acknowledged a publish"
        )
        self.last_offset_commit = Gauge(
            "leadflow_last_offset_commit_timestamp_seconds",
            "When the consumer last committed offsets",
            ["group"],
        )
        self.broker_reachable = Gauge(
            "leadflow_broker_reachable", "1 while the broker answers the watch, else 0"
        )
        self.broker_changes = Counter(
            "leadflow_broker_changes_total",
            "Times the service found a broker that forgot its topics (new cluster id, topics"
            " missing)",
            ["reason"],
        )
        self.rejected_inputs = Counter(
            "leadflow_rejected_inputs_total", "Requests refused with a 4xx", ["route", "reason"]
        )
        self.auth_failures = Counter(
            "leadflow_auth_failures_total",
            "Source requests refused with 401 (bad key, signature, timestamp, replay)",
            ["source", "reason"],
        )
        self.api_refusals = Counter(
            "leadflow_api_refusals_total",
            "API requests refused by authentication (401), scope (403) or rate limit (429)",
            ["route", "reason"],
        )
        self.flagged_values = Counter(
            "leadflow_flagged_values_total",
            "Values capture kept raw and flagged (data_quality) instead of refusing the lead",
            ["field"],
        )
        self.vendor_tests = Counter(
            "leadflow_vendor_tests_total",
            "Vendor test, ping and URL-check deliveries answered without storing a lead",
            ["source"],
        )
        self.http_seconds = Histogram(
            "leadflow_http_request_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
        )


metrics = _Metrics()
