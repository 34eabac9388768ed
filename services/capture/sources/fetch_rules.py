"""Rules of the fetch jobs, pure: when to try again, and what a vendor API's answer means.

A notification that only points at a record (a Meta leadgen id, a HubSpot contact id, a LinkedIn
lead form response) becomes a fetch job; the job fetches the record from the vendor's API. These
functions decide, from plain values, whether a failed fetch is worth retrying (the API is down,
overloaded or rate-limiting), is final (the vendor refuses: bad token, missing permission) or
means the record does not exist (Meta's "Test" button, a deleted lead) — and how long to wait.
No I/O, no clock: the job passes ``now`` and the jitter in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

Vendor = Literal["meta", "hubspot", "linkedin"]
JobStatus = Literal["pending", "done", "failed", "not_found"]
Verdict = Literal["retry", "failed", "not_found"]

JOB_STATUSES: tuple[JobStatus, ...] = ("pending", "done", "failed", "not_found")
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
MAX_JITTER = 0.25
# Vendors keep leads for a while (Meta 90 days, LinkedIn 365), but a fetch still failing after
# a week needs a person: the job ends as failed, with the last error, visible in the read API.
GIVE_UP_AFTER = timedelta(days=7)
# While a job is being fetched its due time is pushed this far out: a worker that dies mid-fetch
# leaves the job to be claimed again after it (the fetch itself is bounded by the API timeout).
LEASE = timedelta(minutes=2)

# Meta's webhook dashboard "Test" button sends this leadgen id; the Graph API knows no such lead.
META_TEST_LEADGEN_ID = "444444444444"
# Graph API error codes that say "try later" even under a 4xx: unknown error (1), service (2),
# app / user / page rate limits (4, 17, 32, 613), temporarily unavailable (341).
_META_TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613})
_META_NOT_FOUND_CODE = 100  # "Object with ID ... does not exist" (also: unsupported get request)


@dataclass(frozen=True)
class RetryPolicy:
    """How failed fetches are retried (the service's settings; tests shorten them)."""

    base: timedelta = BACKOFF_BASE
    cap: timedelta = BACKOFF_CAP
    give_up_after: timedelta = GIVE_UP_AFTER


def backoff(attempt: int, jitter: float = 0.0, policy: RetryPolicy = RetryPolicy()) -> timedelta:
    """After failed attempt n wait base * 2**(n-1) (30 s, 1 min, 2 min, ...), capped (one
    hour), times (1 + jitter) so that jobs failing together do not retry together."""
    if attempt < 1:
        raise ValueError(f"attempt must be 1 or more, got {attempt}")
    if not 0 <= jitter <= MAX_JITTER:
        raise ValueError(f"jitter must be between 0 and {MAX_JITTER}, got {jitter}")
    raw: timedelta = policy.base * 2 ** min(attempt - 1, 40)  # 2**40 periods: past any cap
    capped: timedelta = min(raw, policy.cap)
    return capped * (1 + jitter)


def should_give_up(
    retry_since: datetime, now: datetime, policy: RetryPolicy = RetryPolicy()
) -> bool:
    """A job still failing a week after its notification (or after an operator's retry)
    stops retrying (and says so)."""
    return now - retry_since >= policy.give_up_after


@dataclass(frozen=True)
class ApiAnswer:
    """What a vendor API answered, reduced to what the verdict needs. ``status`` None means
    no answer at all (connection refused, timeout, reset)."""

    status: int | None
    error_code: int | None = None  # Meta's ``error.code``
    transient: bool = False  # Meta's ``error.is_transient``


def verdict(vendor: Vendor, answer: ApiAnswer) -> Verdict:
    """Retry when the API did not answer, timed out, is rate-limiting (429) or failing (5xx) —
    or, for Meta, flags the error as transient; ``not_found`` for an unknown record (404, or
    Meta's error code 100 on a 400); any other refusal (401, 403, 400, ...) is final."""
    status = answer.status
    if status is None or status in (408, 425, 429) or status >= 500:
        return "retry"
    if vendor == "meta" and (answer.transient or answer.error_code in _META_TRANSIENT_CODES):
        return "retry"
    if status in (404, 410):
        return "not_found"
    if vendor == "meta" and answer.error_code == _META_NOT_FOUND_CODE:
        return "not_found"
    return "failed"


def meta_error(body: Any) -> tuple[int | None, bool]:
    """``(error.code, error.is_transient)`` of a Graph API error body, if it has them."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, False
    code = error.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    return code, error.get("is_transient") is True


def is_test_record(vendor: Vendor, record_id: str) -> bool:
    """A record id only a vendor's test button sends: answered 2xx, nothing fetched or stored."""
    return vendor == "meta" and record_id == META_TEST_LEADGEN_ID


def linkedin_form_outdated(cached: dict[str, Any], version: int | None) -> bool:
    """A cached LinkedIn form no longer explains a response of another version (an edited
    form gets new question ids): fetch it again. Unknown versions trust the cache."""
    cached_version = cached.get("versionId")
    return version is not None and isinstance(cached_version, int) and cached_version != version


def next_state(
    verdict_: Verdict,
    attempt: int,
    retry_since: datetime,
    now: datetime,
    jitter: float = 0.0,
    policy: RetryPolicy = RetryPolicy(),
) -> tuple[JobStatus, datetime | None]:
    """The job's state after failed attempt n: ``("pending", next due time)`` to retry, or a
    final status (``failed`` also once the policy's ``give_up_after`` has passed)."""
    if verdict_ == "not_found":
        return "not_found", None
    if verdict_ == "failed" or should_give_up(retry_since, now, policy):
        return "failed", None
    return "pending", now + backoff(attempt, jitter, policy)
