"""What the source endpoints answer: per-lead results, the CSV report, the source list.

Pydantic models for the OpenAPI document, and the small functions that build them from the
use cases' :class:`~services.capture.sources.ingest.Outcome` values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.capture.sources.ingest import Outcome
from services.capture.sources.model import Source

NO_LEAD = "the payload carries no lead (e.g. an unsubscribe or a cancellation); nothing stored"


class ProblemOut(BaseModel):
    field: str
    problem: str


class ItemResult(BaseModel):
    index: int = Field(description="Position of the lead in the vendor's payload")
    status: Literal["accepted", "duplicate", "rejected"]
    lead_id: str | None = None
    problems: list[ProblemOut] = Field(default_factory=list)


class SourceResults(BaseModel):
    status: Literal["test"] | None = Field(
        None, description="test: the vendor's test, ping or verification delivery (nothing stored)"
    )
    accepted: int
    duplicates: int
    rejected: int
    results: list[ItemResult]
    message: str | None = Field(None, description="Why nothing was stored, when so")


class RowResult(BaseModel):
    row: int = Field(description="Row number as a spreadsheet shows it (the header is row 1)")
    status: Literal["accepted", "duplicate", "rejected"]
    lead_id: str | None = None
    problems: list[ProblemOut] = Field(default_factory=list)


class CsvReport(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    rows: list[RowResult]


class KeyOut(BaseModel):
    id: str
    expires: datetime | None


class SourceOut(BaseModel):
    name: str
    kind: str
    auth: str = Field(description="Authentication scheme (never a secret or hash)")
    channel: str | None
    campaign: str | None
    ready: bool
    problems: list[str] = Field(description="Why not ready, e.g. an unset variable")
    api_keys: list[KeyOut] = Field(description="Key ids and expiry, for rotation")
    csv_import: bool


class SourcesOut(BaseModel):
    sources: list[SourceOut]


def results(outcomes: list[Outcome], message: str | None = None) -> SourceResults:
    """Each lead of one request, in request order, with the totals."""
    items = [
        ItemResult(index=o.index, status=o.status, lead_id=o.lead_id, problems=_problems(o))
        for o in outcomes
    ]
    accepted, duplicates, rejected = counts([o.status for o in outcomes])
    return SourceResults(
        accepted=accepted, duplicates=duplicates, rejected=rejected, results=items, message=message
    )


def vendor_test(message: str) -> SourceResults:
    """The answer to a vendor's test or ping: 2xx so its setup check passes, nothing stored."""
    return SourceResults(
        status="test", accepted=0, duplicates=0, rejected=0, results=[], message=message
    )


def csv_report(rows: list[tuple[int, Outcome]]) -> CsvReport:
    """Each row by its spreadsheet number, in file order, with the totals."""
    out = [
        RowResult(row=row, status=o.status, lead_id=o.lead_id, problems=_problems(o))
        for row, o in sorted(rows, key=lambda item: item[0])
    ]
    accepted, duplicates, rejected = counts([r.status for r in out])
    return CsvReport(accepted=accepted, duplicates=duplicates, rejected=rejected, rows=out)


def source_out(s: Source) -> SourceOut:
    return SourceOut(
        name=s.name,
        kind=s.kind,
        auth=s.auth.type,
        channel=s.channel,
        campaign=s.campaign,
        ready=s.ready,
        problems=list(s.problems),
        api_keys=[KeyOut(id=k.id, expires=k.expires) for k in s.auth.api_keys],
        csv_import=s.auth.type == "api_key",
    )


def counts(statuses: list[str]) -> tuple[int, int, int]:
    """Accepted, duplicates, rejected."""
    return statuses.count("accepted"), statuses.count("duplicate"), statuses.count("rejected")


def _problems(outcome: Outcome) -> list[ProblemOut]:
    return [ProblemOut(field=p.field, problem=p.problem) for p in outcome.problems]
