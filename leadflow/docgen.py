"""Generated documents: the AsyncAPI description of every event, each service's OpenAPI,
and the Kubernetes ConfigMap carrying the example config file.

``leadflow docs`` writes them; ``leadflow docs --check`` fails when a committed copy is
stale. Everything is derived from code (``shared.contracts``, ``TOPOLOGY``, the services'
FastAPI apps, ``examples/leadflow.yaml``), so the documents cannot drift from it unnoticed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

from shared.contracts import EVENT_CLASSES
from shared.contracts.envelope import CONTENT_TYPE, SPEC_VERSION, Event
from shared.contracts.topics import (
    SERVICES,
    TOPOLOGY,
    dead_letter_topic,
    topics_consumed_by,
)

ASYNCAPI_PATH = Path("docs/asyncapi.yaml")
OPENAPI_DIR = Path("docs/openapi")
CONFIGMAP_PATH = Path("deploy/k8s/configmap.yaml")
EXAMPLE_CONFIG = Path("examples/leadflow.yaml")

KAFKA_BINDING = "0.5.0"
SCHEMA_REF = "#/components/schemas/{model}"
DLQ_HEADERS = {
    "dlq-error": "Why the event was dead-lettered: exception type and message (≤ 4000 bytes)",
    "dlq-original-topic": "Topic the record was read from",
    "dlq-original-partition": "Partition the record was read from (decimal)",
    "dlq-original-offset": "Offset of the record in that partition (decimal)",
    "dlq-group": "Consumer group that gave up on it (the consuming service's name)",
}
LEAD_KEY = {"type": "string", "description": "Lead id (UUID): the CloudEvents subject"}

_INFO = """\
Every event Leadflow publishes, as a sales tool or analytics job subscribes to it.

* Records are CloudEvents 1.0 in JSON structured mode (Kafka protocol binding): the record
  value is the whole event, the `content-type` header is `application/cloudevents+json`.
* The record key is the lead id (also the CloudEvents `subject`), so one lead's events stay
  in order on one partition. There is no ordering across topics.
* Delivery is at least once: deduplicate on the CloudEvents `id`.
* `type` carries the major version (`….v1`). Adding an optional field keeps the version, so
  ignore fields you do not know; a breaking change gets a new type.
* A consumer group's poison records go to `leadflow.dlq.<group>` with the error in headers.
"""


def _channel_id(topic: str) -> str:
    return topic.removeprefix("leadflow.").replace(".", "-")


def _hoist(cls: type[Event], schemas: dict[str, Any]) -> dict[str, str]:
    """Put the model's schema and its ``$defs`` in ``schemas``; return a ``$ref`` to it."""
    schema = cls.model_json_schema(mode="serialization", ref_template=SCHEMA_REF)
    for name, sub in {**schema.pop("$defs", {}), cls.__name__: schema}.items():
        if schemas.setdefault(name, sub) != sub:
            raise ValueError(f"two different schemas are both named {name!r}")
    return {"$ref": SCHEMA_REF.format(model=cls.__name__)}


def _envelope(cls: type[Event], producer: str, data_ref: dict[str, str]) -> dict[str, Any]:
    """The CloudEvents structured-mode envelope around one event type's data."""
    text = {"type": "string"}
    return {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "subject", "data"],
        "properties": {
            "specversion": {**text, "const": SPEC_VERSION, "description": "CloudEvents version"},
            "id": {**text, "format": "uuid", "description": "Event id: deduplicate on it"},
            "source": {
                **text,
                "description": "Name of the service instance that emitted it",
                "examples": [producer],
            },
            "type": {**text, "const": cls.TYPE, "description": "Event type and major version"},
            "time": {**text, "format": "date-time", "description": "When it was emitted (UTC)"},
            "subject": {**text, "description": "Lead id: equals data.lead_id and the key"},
            "datacontenttype": {**text, "const": "application/json"},
            "correlationid": {**text, "description": "Id shared by every event of one flow"},
            "causationid": {**text, "description": "Id of the event that caused this one"},
            "data": data_ref,
        },
    }


def _consumers_text(consumers: tuple[str, ...]) -> str:
    if not consumers:
        return "No Leadflow service consumes it: it is there for sales tools and analytics."
    groups = ", ".join(f"{c} (group `{c}`)" for c in consumers)
    return f"Consumed by {groups}."


def _channel(topic: str, description: str, names: list[str]) -> dict[str, Any]:
    return {
        "address": topic,
        "title": topic,
        "description": description,
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in names},
        "bindings": {"kafka": {"topic": topic, "bindingVersion": KAFKA_BINDING}},
    }


def _operation(
    action: str, topic: str, names: list[str], summary: str, group: str | None = None
) -> dict[str, Any]:
    """Send or receive the named messages of the topic's channel (as a consumer group)."""
    cid = _channel_id(topic)
    op: dict[str, Any] = {
        "action": action,
        "channel": {"$ref": f"#/channels/{cid}"},
        "summary": summary,
        "messages": [{"$ref": f"#/channels/{cid}/messages/{name}"} for name in names],
    }
    if group is not None:
        group_id = {"type": "string", "enum": [group]}
        op["bindings"] = {"kafka": {"groupId": group_id, "bindingVersion": KAFKA_BINDING}}
    return op


def _message(cls: type[Event], producer: str, schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": cls.TYPE,
        "title": cls.__name__,
        "summary": (cls.__doc__ or "").strip().splitlines()[0],
        "contentType": "application/cloudevents+json",
        "correlationId": {"location": "$message.payload#/correlationid"},
        "headers": {
            "type": "object",
            "properties": {"content-type": {"type": "string", "const": CONTENT_TYPE.decode()}},
        },
        "payload": _envelope(cls, producer, _hoist(cls, schemas)),
        "bindings": {"kafka": {"key": LEAD_KEY, "bindingVersion": KAFKA_BINDING}},
    }


_DEAD_LETTER = {
    "name": "dead-letter",
    "title": "DeadLetter",
    "summary": "A record its consumer could not handle, copied byte for byte",
    "description": "Key, value and headers are those of the original record (usually one of "
    "the CloudEvents above, but possibly anything for a record that did not decode); the "
    "dlq-* headers say why and where from. Replay it by producing the value with the same key "
    "to the original topic.",
    "headers": {
        "type": "object",
        "required": list(DLQ_HEADERS),
        "properties": {n: {"type": "string", "description": d} for n, d in DLQ_HEADERS.items()},
    },
    "payload": {"description": "The original record value, unchanged"},
    "bindings": {
        "kafka": {
            "key": {"type": "string", "description": "The original record key (lead id)"},
            "bindingVersion": KAFKA_BINDING,
        }
    },
}

_SERVERS = {
    "embedded": {
        "host": "127.0.0.1:9092",
        "protocol": "kafka",
        "description": "The embedded Tansu broker that `leadflow up` starts. It keeps events in "
        "memory only: they are gone when it stops. For development and tests.",
    },
    "production": {
        "host": "{bootstrap}",
        "protocol": "kafka",
        "description": "Your Kafka cluster: set LEADFLOW_KAFKA_BOOTSTRAP to its bootstrap servers.",
        "variables": {
            "bootstrap": {"default": "kafka:9092", "description": "host:port of a bootstrap broker"}
        },
    },
}


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every topic, event type and dead-letter topic."""
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic, spec in TOPOLOGY.items():
        classes = [cls for cls in EVENT_CLASSES if cls.TOPIC == topic]
        messages.update({cls.__name__: _message(cls, spec.producer, schemas) for cls in classes})
        names = [cls.__name__ for cls in classes]
        cid = _channel_id(topic)
        channels[cid] = _channel(
            topic,
            f"Produced by {spec.producer}. {_consumers_text(spec.consumers)} Kafka key: the "
            "lead id, so one lead's events keep their order on one partition.",
            names,
        )
        summary = f"{spec.producer} publishes to {topic}"
        operations[f"{spec.producer}-sends-{cid}"] = _operation("send", topic, names, summary)
        for group in spec.consumers:
            summary = f"{group} consumes {topic}"
            operations[f"{group}-receives-{cid}"] = _operation(
                "receive", topic, names, summary, group
            )
    messages["DeadLetter"] = _DEAD_LETTER
    for group in (g for g in SERVICES if topics_consumed_by(g)):
        topic = dead_letter_topic(group)
        cid = _channel_id(topic)
        channels[cid] = _channel(
            topic,
            f"Dead letters of consumer group `{group}`: records it failed to handle after "
            f"retries. Produced by {group}; nothing consumes it automatically.",
            ["DeadLetter"],
        )
        summary = f"{group} dead-letters poison records to {topic}"
        operations[f"{group}-sends-{cid}"] = _operation("send", topic, ["DeadLetter"], summary)
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Leadflow events", "version": version("leadflow"), "description": _INFO},
        "defaultContentType": "application/cloudevents+json",
        "servers": _SERVERS,
        "channels": channels,
        "operations": operations,
        "components": {"schemas": dict(sorted(schemas.items())), "messages": messages},
    }


def openapi_documents() -> dict[str, dict[str, Any]]:
    """Each present service's OpenAPI document; the apps are built, never started (with
    throwaway demo secrets when none are set: the example config names them)."""
    from leadflow.demo_secrets import throwaway_demo_secrets
    from leadflow.services import available_services, service_entry

    docs: dict[str, dict[str, Any]] = {}
    with throwaway_demo_secrets():
        for name in available_services():
            entry = service_entry(name)
            docs[name] = entry.create_app(entry.settings_cls()).openapi()
    return docs


class _Dumper(yaml.SafeDumper):
    """Safe YAML without anchors/aliases, multi-line strings as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def render_asyncapi(doc: Mapping[str, Any]) -> str:
    body = yaml.dump(dict(doc), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return "# Generated by `leadflow docs` from shared/contracts. Do not edit.\n" + body


def render_openapi(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


_CONFIGMAP_HEAD = """\
# Generated by `leadflow docs`: leadflow.yaml below is a copy of examples/leadflow.yaml.
# Edit that file (or override this ConfigMap in a kustomize overlay) and re-run.
# It holds no secret: it names them (${NAME}, secret_env), and the pods get the values from
# the Secrets shaped in secret.example.yaml (tests/contract/test_deploy_files.py checks both).
apiVersion: v1
kind: ConfigMap
metadata:
  name: leadflow-config
  namespace: leadflow
  labels:
    app.kubernetes.io/part-of: leadflow
data:
  # Kafka bootstrap servers of your cluster (also in keda-scaledobjects.yaml).
  kafka-bootstrap: "kafka-bootstrap.kafka.svc:9092"
  kafka-partitions: "6"
  kafka-replication: "3"
  leadflow.yaml: |
"""


def render_configmap(config_text: str) -> str:
    """The ConfigMap manifest embedding the YAML config file as a literal block."""
    lines = [f"    {line}".rstrip() for line in config_text.rstrip("\n").splitlines()]
    return _CONFIGMAP_HEAD + "\n".join(lines) + "\n"


def generated_files(root: Path) -> dict[Path, str]:
    """Every generated file, as path relative to ``root`` -> expected content."""
    files = {ASYNCAPI_PATH: render_asyncapi(asyncapi_document())}
    for name, doc in openapi_documents().items():
        files[OPENAPI_DIR / f"{name}.json"] = render_openapi(doc)
    files[CONFIGMAP_PATH] = render_configmap((root / EXAMPLE_CONFIG).read_text(encoding="utf-8"))
    return files


def stale_files(root: Path, files: Mapping[Path, str]) -> list[Path]:
    """Generated files missing or different under ``root``, and OpenAPI files of no service."""
    stale = [
        path
        for path, text in files.items()
        if not (root / path).is_file() or (root / path).read_text(encoding="utf-8") != text
    ]
    orphans = [
        p.relative_to(root)
        for p in sorted((root / OPENAPI_DIR).glob("*.json"))
        if p.relative_to(root) not in files
    ]
    return stale + orphans


def write_files(root: Path, files: Mapping[Path, str]) -> list[Path]:
    """Write what changed and delete orphaned OpenAPI files; return the paths touched."""
    touched = stale_files(root, files)
    for path in touched:
        target = root / path
        if path in files:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(files[path], encoding="utf-8")
        else:
            target.unlink()
    return touched
