"""The fetch jobs' SQL (tables ``fetch_jobs`` and ``linkedin_forms``, migration 0006).

A job is claimed by pushing its due time out by the lease and counting the attempt, under
``FOR UPDATE SKIP LOCKED`` so that replicas never claim the same row; the attempt number is the
claim's fence: finishing a job checks it, so a worker whose lease ran out cannot finish a job
another worker has claimed since (and cannot store its lead twice).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.capture.sources.notifications import FetchRef

# A repeated notification for a known record does nothing, unless the record can change (a
# HubSpot contact) and the vendor says it changed after the last fetch: then it is fetched again.
_SCHEDULE = text(
    "INSERT INTO fetch_jobs (job_id, source, vendor, record_id, status, attempts, due_at,"
    " notified_at, context, created_at, retry_since, updated_at)"
    " VALUES (:job_id, :source, :vendor, :record_id, 'pending', 0, :now, :notified_at,"
    " CAST(:context AS jsonb), :now, :now, :now)"
    " ON CONFLICT (source, record_id) DO UPDATE SET status = 'pending',"
    " due_at = :now, notified_at = EXCLUDED.notified_at, context = EXCLUDED.context,"
    " last_error = NULL, finished_at = NULL, retry_since = :now, updated_at = :now"
    " WHERE :refetch AND fetch_jobs.status <> 'pending'"
    " AND EXCLUDED.notified_at > COALESCE(fetch_jobs.notified_at, '-infinity')"
    " RETURNING job_id"
)
_JOB_COLUMNS = (
    "job_id, source, vendor, record_id, status, attempts, due_at, notified_at, context,"
    " last_error, lead_id, created_at, updated_at, finished_at, retry_since"
)
_GET = text(
    f"SELECT {_JOB_COLUMNS} FROM fetch_jobs"
    " WHERE source = :source AND record_id = ANY(CAST(:record_ids AS text[]))"
)
_CLAIM = text(
    "UPDATE fetch_jobs SET due_at = :lease_end, attempts = attempts + 1, updated_at = :now"
    " WHERE job_id IN (SELECT job_id FROM fetch_jobs WHERE status = 'pending' AND due_at <= :now"
    " ORDER BY due_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
    f" RETURNING {_JOB_COLUMNS}"
)
_FINISH = text(
    "UPDATE fetch_jobs SET status = :status, due_at = COALESCE(:due_at, due_at),"
    " last_error = :error, lead_id = CAST(:lead_id AS uuid), updated_at = :now,"
    " finished_at = CASE WHEN :status = 'pending' THEN NULL ELSE CAST(:now AS timestamptz) END"
    " WHERE job_id = :job_id AND status = 'pending' AND attempts = :attempt RETURNING 1"
)
_LIST = text(
    f"SELECT {_JOB_COLUMNS} FROM fetch_jobs WHERE source = :source"
    " AND (CAST(:status AS text) IS NULL OR status = :status)"
    " ORDER BY created_at DESC, job_id LIMIT :limit"
)
# An operator's "try again" (e.g. after fixing a token): failed jobs become due now, with a new
# give-up window; the attempt count goes on (it fences claims).
_RETRY_FAILED = text(
    "UPDATE fetch_jobs SET status = 'pending', due_at = :now, retry_since = :now,"
    " finished_at = NULL, updated_at = :now"
    " WHERE source = :source AND status = 'failed' RETURNING job_id"
)
_BACKLOG = text(
    "SELECT source, vendor, count(*), count(*) FILTER (WHERE due_at <= :now)"
    " FROM fetch_jobs WHERE status = 'pending' GROUP BY source, vendor"
)
_GET_FORM = text("SELECT definition FROM linkedin_forms WHERE source = :source AND form_id = :id")
_PUT_FORM = text(
    "INSERT INTO linkedin_forms (source, form_id, definition, fetched_at)"
    " VALUES (:source, :id, CAST(:definition AS jsonb), :now)"
    " ON CONFLICT (source, form_id) DO UPDATE SET definition = EXCLUDED.definition,"
    " fetched_at = EXCLUDED.fetched_at"
)


@dataclass(frozen=True)
class Job:
    job_id: str
    source: str
    vendor: str
    record_id: str
    status: str
    attempts: int
    due_at: datetime
    notified_at: datetime | None
    context: dict[str, Any]
    last_error: str | None
    lead_id: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    retry_since: datetime


def _job(row: Any) -> Job:
    return Job(
        job_id=str(row[0]),
        source=row[1],
        vendor=row[2],
        record_id=row[3],
        status=row[4],
        attempts=row[5],
        due_at=row[6],
        notified_at=row[7],
        context=dict(row[8] or {}),
        last_error=row[9],
        lead_id=None if row[10] is None else str(row[10]),
        created_at=row[11],
        updated_at=row[12],
        finished_at=row[13],
        retry_since=row[14],
    )


async def schedule(
    conn: AsyncConnection, source: str, refs: Sequence[FetchRef], now: datetime, *, refetch: bool
) -> tuple[list[Job], set[str]]:
    """A job per record (one row per source and record id); the jobs, and the ids of those
    scheduled now (the others were already known)."""
    fresh: set[str] = set()
    for ref in refs:
        row = (
            await conn.execute(
                _SCHEDULE,
                {
                    "job_id": str(uuid.uuid4()),
                    "source": source,
                    "vendor": ref.vendor,
                    "record_id": ref.record_id,
                    "now": now,
                    "notified_at": ref.notified_at,
                    "context": orjson.dumps(ref.context).decode(),
                    "refetch": refetch,
                },
            )
        ).first()
        if row is not None:
            fresh.add(str(row[0]))
    rows = await conn.execute(_GET, {"source": source, "record_ids": [r.record_id for r in refs]})
    by_record = {job.record_id: job for job in map(_job, rows)}
    return [by_record[r.record_id] for r in refs], fresh


async def claim_due(
    conn: AsyncConnection, now: datetime, lease_end: datetime, limit: int
) -> list[Job]:
    rows = await conn.execute(_CLAIM, {"now": now, "lease_end": lease_end, "limit": limit})
    return [_job(r) for r in rows]


async def finish(
    conn: AsyncConnection,
    job: Job,
    status: str,
    now: datetime,
    *,
    error: str | None = None,
    lead_id: str | None = None,
    due_at: datetime | None = None,
) -> bool:
    """Record the claimed attempt's outcome; False if the claim was lost (another worker's)."""
    params = {
        "job_id": job.job_id,
        "attempt": job.attempts,
        "status": status,
        "error": error,
        "lead_id": lead_id,
        "due_at": due_at,
        "now": now,
    }
    return (await conn.execute(_FINISH, params)).first() is not None


async def list_jobs(
    conn: AsyncConnection, source: str, status: str | None, limit: int
) -> list[Job]:
    rows = await conn.execute(_LIST, {"source": source, "status": status, "limit": limit})
    return [_job(r) for r in rows]


async def retry_failed(conn: AsyncConnection, source: str, now: datetime) -> int:
    """Make the source's failed jobs due again; how many."""
    return len((await conn.execute(_RETRY_FAILED, {"source": source, "now": now})).all())


async def backlog(conn: AsyncConnection, now: datetime) -> dict[tuple[str, str], tuple[int, int]]:
    """Pending jobs by (source, vendor): how many, and how many are due."""
    rows = await conn.execute(_BACKLOG, {"now": now})
    return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}


async def cached_form(conn: AsyncConnection, source: str, form_id: str) -> Any | None:
    return (await conn.execute(_GET_FORM, {"source": source, "id": form_id})).scalar_one_or_none()


async def cache_form(
    conn: AsyncConnection, source: str, form_id: str, definition: Any, now: datetime
) -> None:
    params = {
        "source": source,
        "id": form_id,
        "definition": orjson.dumps(definition).decode(),
        "now": now,
    }
    await conn.execute(_PUT_FORM, params)
