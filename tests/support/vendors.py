"""Vendors' documented payloads (``tests/fixtures/vendors``, each with its doc URL) and the
signatures vendors put on them, for tests that post them to capture or answer as the
vendor's API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"


@dataclass(frozen=True)
class Payload:
    body: bytes
    content_type: str


def fixture(name: str) -> Payload:
    """A vendor's documented example: leading ``#`` lines are notes (``# content-type: ...``)."""
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines(keepends=True)
    content_type = "application/json"
    while lines and lines[0].startswith("#"):
        note = lines.pop(0)
        if note.lower().startswith("# content-type:"):
            content_type = note.split(":", 1)[1].strip()
    text = "".join(lines).strip("\n")
    if content_type.startswith("multipart/"):  # CRLF on the wire
        text = text.replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n"
    return Payload(text.encode(), content_type)


def body_of(name: str) -> Any:
    """A JSON fixture, parsed."""
    return json.loads(fixture(name).body)


def graph_api_lead(lead_id: str) -> dict[str, Any]:
    """What Meta's Graph API answers for ``GET /v23.0/{lead id}``: the documented lead under
    this id, with an e-mail of its own (so leads do not merge) and no phone."""
    lead: dict[str, Any] = body_of("meta_lead_ads.json")
    lead["id"] = lead_id
    for item in lead["field_data"]:
        if item["name"] == "email":
            item["values"] = [f"lead{lead_id}@example.com"]
        if item["name"] == "phone_number":
            item["values"] = []
    return lead


def hex_hmac(secret: str, content: bytes, digest: Callable[..., Any] = hashlib.sha256) -> str:
    return hmac.new(secret.encode(), content, digest).hexdigest()


def b64_hmac(secret: str, content: bytes) -> str:
    digest = hmac.new(secret.encode(), content, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
