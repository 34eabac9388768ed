"""Log lines never carry an e-mail address or a phone number; ids, times and figures stay."""

from __future__ import annotations

import io
import logging
import sys
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from shared.http import ApiError, install_error_handlers
from shared.observability import JsonFormatter
from shared.redaction import RedactingFilter, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from jane.doe+news@example.co.uk", "from <email>"),
        ("{'email': 'x@y.z'}", "{'email': '<email>'}"),
        (
            "invalid jane@@example and jane@ and @example.com",
            "invalid <email><email> and <email> and <email>",
        ),
        ("unicode jürgen@beispiel.de", "unicode <email>"),
        ("postgresql://postgres@127.0.0.1:5432/leadflow", "postgresql://<email>:5432/leadflow"),
        ("E.164 +447700900123.", "E.164 <phone>."),
        ("spaced +44 20 7946 0958", "spaced <phone>"),
        ("national 020 7946 0958", "national <phone>"),
        ("US (555) 123-4567 or 555-123-4567 or 555.123.4567", "US <phone> or <phone> or <phone>"),
        ("run 07700900123", "run <phone>"),
        ("German +49 (0)30 123456-78", "German <phone>"),
        ("malformed 12-34-56-78-9", "malformed <phone>"),
    ],
)
def test_emails_and_phones_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "lead 3f2a9c10-1234-4abc-8def-123456789012 assigned",
        "ids 12345678-1234-1234-1234-123456789012 and 00000000-0000-0000-0000-000000000000",
        "count 5 12345678-1234-1234-1234-123456789012",
        "at 2026-12-05T04:43:07.123456+00:00 and 2026-12-05 04:43:07,123 and 2026-12-05",
        "listening on 127.0.0.1:8000 and 192.168.100.200:54329",
        "batch of 500 took 1234.567 ms; 0.0012345 s",
        "offset 12345678, epoch 1733370000, epoch ms 1733370000123",
        "1,234,567 rows in 12 34 5",
        "sha256:9a502efdab5b82a87bcb68a9369ee1d37bc6919132f64f64db644a8523353046",
        "event 0123456789abcdef0123456789abcdef",
        "a @ b, 10:00-17:30 Europe/London",
    ],
)
def test_ids_times_addresses_and_figures_are_kept(text: str) -> None:
    assert redact(text) == text


def _log_through_a_service_handler(
    logger: logging.Logger, *args: object, **kw: object
) -> dict[str, Any]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    try:
        logger.warning(*args, **kw)  # type: ignore[arg-type]
    finally:
        logger.removeHandler(handler)
    doc: dict[str, Any] = orjson.loads(stream.getvalue())
    return doc


def test_a_record_is_masked_in_its_arguments_extras_and_exception() -> None:
    logger = logging.getLogger("tests.redaction")
    try:
        raise ValueError("duplicate of jane@example.com")
    except ValueError:
        doc = _log_through_a_service_handler(
            logger,
            "lead %s from %s (%s)",
            "3f2a9c10-1234-4abc-8def-123456789012",
            "jane@example.com",
            "+44 20 7946 0958",
            exc_info=sys.exc_info(),
            extra={"contact": "jane@example.com", "attempt": 3},
        )
    assert doc["msg"] == "lead 3f2a9c10-1234-4abc-8def-123456789012 from <email> (<phone>)"
    assert doc["contact"] == "<email>" and doc["attempt"] == 3
    assert "jane@" not in doc["exc"] and "duplicate of <email>" in doc["exc"]


def test_access_lines_lose_their_query_string() -> None:
    logger = logging.getLogger("uvicorn.access")
    doc = _log_through_a_service_handler(
        logger,
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:50000",
        "POST",
        "/v1/sources/unbounce/leads?api_key=lf_secret&email=a%40b.c",
        "1.1",
        202,
    )
    assert doc["msg"] == '127.0.0.1:50000 - "POST /v1/sources/unbounce/leads HTTP/1.1" 202'


async def test_a_refusal_never_repeats_an_email_or_phone_it_was_given() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/refuse")
    async def refuse() -> None:
        raise ApiError(
            409,
            "duplicate",
            "jane@example.com is already lead 3f2a9c10-1234-4abc-8def-123456789012",
            [{"field": "phone", "problem": "+44 20 7946 0958 is taken"}],
        )

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = (await client.get("/refuse")).json()
    assert answer == {
        "error": "duplicate",
        "message": "<email> is already lead 3f2a9c10-1234-4abc-8def-123456789012",
        "problems": [{"field": "phone", "problem": "<phone> is taken"}],
    }
