"""The committed AsyncAPI document is what the contracts generate, and it is self-consistent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from leadflow.docgen import (
    ASYNCAPI_PATH,
    DLQ_HEADERS,
    OPENAPI_DIR,
    asyncapi_document,
    render_asyncapi,
    stale_files,
    write_files,
)
from shared.contracts import EVENT_CLASSES
from shared.contracts.topics import SERVICES, TOPOLOGY, dead_letter_topic, topics_consumed_by

ROOT = Path(__file__).resolve().parents[2]


def refs_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in refs_in(value)]
    if isinstance(node, list):
        return [r for item in node for r in refs_in(item)]
    return []


def resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_committed_asyncapi_matches_the_contracts() -> None:
    committed = (ROOT / ASYNCAPI_PATH).read_text(encoding="utf-8")
    assert committed == render_asyncapi(asyncapi_document()), (
        f"{ASYNCAPI_PATH} is stale: run `leadflow docs` and commit the result"
    )


def test_asyncapi_yaml_parses_back_to_the_document() -> None:
    doc = asyncapi_document()
    assert yaml.safe_load(render_asyncapi(doc)) == doc


def test_every_reference_resolves_inside_the_document() -> None:
    doc = asyncapi_document()
    refs = refs_in(doc)
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        resolve(doc, ref)


def test_one_channel_per_topic_and_dead_letter_topic() -> None:
    doc = asyncapi_document()
    addresses = {ch["address"] for ch in doc["channels"].values()}
    groups = [g for g in SERVICES if topics_consumed_by(g)]
    assert addresses == set(TOPOLOGY) | {dead_letter_topic(g) for g in groups}
    for channel in doc["channels"].values():
        assert channel["bindings"]["kafka"]["topic"] == channel["address"]


def test_every_event_type_is_a_message_with_its_type_and_data_schema() -> None:
    doc = asyncapi_document()
    for cls in EVENT_CLASSES:
        message = doc["components"]["messages"][cls.__name__]
        envelope = message["payload"]
        assert message["name"] == cls.TYPE
        assert envelope["properties"]["type"]["const"] == cls.TYPE
        assert envelope["properties"]["data"] == {"$ref": f"#/components/schemas/{cls.__name__}"}
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
        channel = next(c for c in doc["channels"].values() if c["address"] == cls.TOPIC)
        assert cls.__name__ in channel["messages"]


def test_channel_descriptions_name_producer_and_consumers() -> None:
    doc = asyncapi_document()
    for channel in doc["channels"].values():
        spec = TOPOLOGY.get(channel["address"])
        if spec is None:
            continue
        assert f"Produced by {spec.producer}" in channel["description"]
        assert all(f"group `{c}`" in channel["description"] for c in spec.consumers)
        assert "lead id" in channel["description"]


def test_dead_letter_message_documents_its_headers() -> None:
    doc = asyncapi_document()
    headers = doc["components"]["messages"]["DeadLetter"]["headers"]
    assert set(headers["properties"]) == set(DLQ_HEADERS)


def test_check_lists_stale_and_orphaned_files_and_write_fixes_them(tmp_path: Path) -> None:
    files = {ASYNCAPI_PATH: "a: 1\n", OPENAPI_DIR / "capture.json": "{}\n"}
    assert stale_files(tmp_path, files) == list(files)
    write_files(tmp_path, files)
    assert stale_files(tmp_path, files) == []
    (tmp_path / ASYNCAPI_PATH).write_text("a: 2\n", encoding="utf-8")
    (tmp_path / OPENAPI_DIR / "retired.json").write_text("{}\n", encoding="utf-8")
    assert stale_files(tmp_path, files) == [ASYNCAPI_PATH, OPENAPI_DIR / "retired.json"]
    write_files(tmp_path, files)
    assert stale_files(tmp_path, files) == []
    assert not (tmp_path / OPENAPI_DIR / "retired.json").exists()
