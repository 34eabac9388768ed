"""The contract between a vendor's payload and capture: pure parsers, no I/O.

A parser turns one inbound request, exactly as the vendor sends it, into raw leads shaped
like the body of ``POST /v1/leads`` (``email``, ``phone``, ``first_name``, ``last_name``,
``company``, ``country``, ``utm_*``, ... plus ``attributes`` for everything else). Cleaning
and validation stay in :func:`services.capture.domain.cleaning.clean_lead`; the parser only reads
the vendor's shape. The caller sets ``source`` (the configured source's name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.capture.domain.lead import Problem


@dataclass(frozen=True)
class InboundRequest:
    """What a vendor sent: raw body bytes (signatures are over these), headers with lower-case
    names, query parameters."""

    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)


class PayloadError(ValueError):
    """The body is not the vendor's shape; ``problems`` names where (answered with 422)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.problem}" for p in problems))
        self.problems = problems


class VendorPing(Exception):
    """The request is the vendor's test, ping or verification delivery, not a person: it is
    answered 2xx (so the vendor's setup check passes) and nothing is stored."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnreadableLead(dict[str, Any]):
    """One lead of a multi-lead payload that is not the vendor's shape. It stands in the
    parser's result at its position, so the other leads are stored and this one is answered
    ``rejected`` with its ``problems`` (one bad lead never sinks the others)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__()
        self.problems = problems


# raw leads (dicts shaped like POST /v1/leads bodies), possibly several per request
Parser = Callable[[InboundRequest], list[dict[str, Any]]]
