"""What the source endpoints answer: per-lead results, the CSV report, the source list.

Pydantic models for the OpenAPI document, and the small functions that build them from the
use cases' :class:`~services.capture.intake.Outcome` values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.capture.api.common import ProblemOut
from services.capture.intake import Outcome
from services.capture.sources.model import Source
from services.capture.sources.notifications import Notice
from services.capture.store.fetch_jobs import Job

NO_LEAD = "the payload carries no lead (e.g. an unsubscribe or a cancellation); nothing stored"


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


class FetchJobOut(BaseModel):
    job_id: str
    source: str
    vendor: Literal["meta", "hubspot", "linkedin"]
    record_id: str = Field(description="The vendor's id of the record (lead, contact, response)")
    status: Literal["pending", "done", "failed", "not_found"]
    attempts: int = Field(description="Fetches tried so far")
    due_at: datetime | None = Field(description="Next try, while pending")
    last_error: str | None = Field(description="Why the last try failed, or why the job ended")
    lead_id: str | None = Field(description="The lead stored from the record (done)")
    created_at: datetime
    finished_at: datetime | None


class ScheduledJob(BaseModel):
    job_id: str
    record_id: str
    status: Literal["pending", "done", "failed", "not_found"]
    scheduled: bool = Field(description="false: the record was already known (a repeat)")


class SkippedOut(BaseModel):
    record_id: str | None
    reason: str = Field(description="e.g. test (a vendor's test button), not a contact change")


class FetchScheduled(BaseModel):
    status: Literal["fetch_scheduled", "test", "nothing_to_fetch"]
    message: str
    jobs: list[ScheduledJob]
    skipped: list[SkippedOut]


class FetchJobsOut(BaseModel):
    jobs: list[FetchJobOut]


class RetriedOut(BaseModel):
    retried: int = Field(description="Failed jobs made due again")


def fetch_scheduled(notice: Notice, jobs: list[Job], fresh: set[str]) -> FetchScheduled:
    """What a notification that points at records is answered, once its jobs are committed."""
    skipped = [SkippedOut(record_id=s.record_id, reason=s.reason) for s in notice.skipped]
    out = [
        ScheduledJob(
            job_id=j.job_id,
            record_id=j.record_id,
            status=j.status,
            scheduled=j.job_id in fresh,
        )
        for j in jobs
    ]
    if out:
        message = (
            f"{len(out)} record(s) will be fetched from the vendor's API and stored as leads;"
            " see GET /v1/sources/{source}/fetches"
        )
        return FetchScheduled(status="fetch_scheduled", message=message, jobs=out, skipped=skipped)
    if skipped and all(s.reason == "test" for s in skipped):
        message = "a vendor's test notification: nothing fetched, no lead stored"
        return FetchScheduled(status="test", message=message, jobs=[], skipped=skipped)
    message = "the notification points at no record to capture; nothing stored"
    return FetchScheduled(status="nothing_to_fetch", message=message, jobs=[], skipped=skipped)


def fetch_job_out(job: Job) -> FetchJobOut:
    return FetchJobOut(
        job_id=job.job_id,
        source=job.source,
        vendor=job.vendor,
        record_id=job.record_id,
        status=job.status,
        attempts=job.attempts,
        due_at=job.due_at if job.status == "pending" else None,
        last_error=job.last_error,
        lead_id=job.lead_id,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


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
