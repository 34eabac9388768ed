"""The notifier's tables (deliveries, delivery_attempts) and the queries on them.

The only module here that speaks SQL. Writes are batched: one statement per table for a
whole consumed batch or a whole delivery round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.contracts import LeadErased
from shared.db.columns import column_params

ERASED = LeadErased.TYPE

DeliveryStatus = Literal["pending", "delivered", "failed", "cancelled"]


@dataclass(frozen=True)
class NewDelivery:
    """A delivery planned for one event, one subscription and one recipient ('' for a
    webhook). ``not_before`` holds it back (quiet hours); else it is leased for its first
    attempt at once."""

    delivery_id: str
    subscription: str
    event_id: str
    event_type: str
    lead_id: str
    url: str
    body: bytes
    channel: str = "webhook"
    recipient: str = ""
    not_before: datetime | None = None


@dataclass(frozen=True)
class ClaimedDelivery:
    """A due delivery this worker holds a lease on, for attempt number ``attempts``."""

    delivery_id: str
    subscription: str
    event_id: str
    event_type: str
    lead_id: str
    body: bytes
    attempts: int
    round_start: int
    channel: str = "webhook"

    @property
    def attempt_in_round(self) -> int:
        """The attempt number the retry rules see (counted since the last manual retry)."""
        return self.attempts - self.round_start


@dataclass(frozen=True)
class AttemptRecord:
    """What happened on one attempt."""

    delivery_id: str
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    # Not stored: set when the SSRF guard refused the target address (its kind, e.g.
    # "loopback"), so the attempt never left; ``error`` says why.
    refused: str | None = None
    # Not stored: the channel's own judgement (ok, retry, reject) where its status code
    # alone does not tell (SMTP replies, Slack's {"ok": false} on 200).
    verdict: str | None = None


@dataclass(frozen=True)
class DeliveryUpdate:
    """Where a delivery stands after an attempt; ``retry_in_s`` is set when still pending."""

    delivery_id: str
    attempt: int
    status: DeliveryStatus
    url: str | None  # the subscription's current URL; None keeps the stored one
    status_code: int | None
    error: str | None
    retry_in_s: float | None = None
    delivered_at: datetime | None = None


# New deliveries are leased for their first attempt at once: the consumer hands them to
# the worker in memory (services.notifier.handoff), and the claim query only sees them if
# that attempt never settles.
# One held back to the end of quiet hours waits, unclaimed, until ``not_before``.
_INSERT_DELIVERIES = text(
    "INSERT INTO deliveries (delivery_id, subscription, event_id, event_type, lead_id, url,"
    " body, channel, recipient, attempts, next_attempt_at)"
    " SELECT u.delivery_id, u.subscription, u.event_id, u.event_type, u.lead_id, u.url,"
    " u.body, u.channel, u.recipient, CASE WHEN u.not_before IS NULL THEN 1 ELSE 0 END,"
    " COALESCE(u.not_before, now() + make_interval(secs => :lease_s))"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:subs AS text[]),"
    " CAST(:event_ids AS text[]), CAST(:types AS text[]), CAST(:leads AS text[]),"
    " CAST(:urls AS text[]), CAST(:bodies AS bytea[]), CAST(:channels AS text[]),"
    " CAST(:recipients AS text[]), CAST(:not_before AS timestamptz[]))"
    " AS u(delivery_id, subscription, event_id, event_type, lead_id, url, body, channel,"
    " recipient, not_before)"
    " ON CONFLICT (subscription, event_id, recipient) WHERE resent_from IS NULL DO NOTHING"
    " RETURNING delivery_id"
)
_CLAIM_DUE = text(
    "WITH due AS ("
    "  SELECT delivery_id FROM deliveries"
    "  WHERE status = 'pending' AND next_attempt_at <= now()"
    "  ORDER BY next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
    " UPDATE deliveries AS d SET attempts = d.attempts + 1,"
    "  next_attempt_at = now() + make_interval(secs => :lease_s)"
    " FROM due WHERE d.delivery_id = due.delivery_id"
    " RETURNING d.delivery_id, d.subscription, d.event_id, d.event_type, d.lead_id, d.body,"
    "  d.attempts, d.round_start, d.channel"
)
# A delivery erased while its attempt was in flight (lead.erased) has no row left to record
# the attempt against: that attempt is forgotten with it.
_INSERT_ATTEMPTS = text(
    "INSERT INTO delivery_attempts (delivery_id, attempt, at, status_code, error, duration_ms)"
    " SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS int[]),"
    " CAST(:ats AS timestamptz[]), CAST(:codes AS int[]), CAST(:errors AS text[]),"
    " CAST(:durations AS int[])) AS u(delivery_id)"
    " WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.delivery_id = u.delivery_id)"
    " ON CONFLICT DO NOTHING"
)
# Only the lease holder's outcome counts: the row must still be pending at this attempt.
_APPLY_UPDATES = text(
    "UPDATE deliveries AS d SET status = u.status, url = COALESCE(u.url, d.url),"
    " last_status_code = u.status_code, last_error = u.error, delivered_at = u.delivered_at,"
    " next_attempt_at = CASE WHEN u.status = 'pending'"
    "   THEN now() + make_interval(secs => u.retry_in_s) END"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS int[]), CAST(:statuses AS text[]),"
    " CAST(:urls AS text[]), CAST(:codes AS int[]), CAST(:errors AS text[]),"
    " CAST(:retry_in AS float8[]), CAST(:delivered_at AS timestamptz[]))"
    " AS u(delivery_id, attempt, status, url, status_code, error, retry_in_s, delivered_at)"
    " WHERE d.delivery_id = u.delivery_id AND d.attempts = u.attempt AND d.status = 'pending'"
    " RETURNING d.delivery_id"
)
_COLUMNS = (
    "delivery_id, subscription, event_id, event_type, lead_id, url, status, attempts,"
    " next_attempt_at, last_status_code, last_error, created_at, delivered_at, channel,"
    " recipient, resent_from"
)
# Every filter is optional; a page continues after the (created_at, delivery_id) it was given.
_WHERE = (
    " WHERE (CAST(:lead_id AS text) IS NULL OR lead_id = :lead_id)"
    " AND (CAST(:statuses AS text[]) IS NULL OR status = ANY(CAST(:statuses AS text[])))"
    " AND (CAST(:subscription AS text) IS NULL OR subscription = :subscription)"
    " AND (CAST(:channel AS text) IS NULL OR channel = :channel)"
    " AND (CAST(:recipient AS text) IS NULL OR recipient = :recipient)"
    " AND (CAST(:event_type AS text) IS NULL OR event_type = :event_type)"
    " AND (CAST(:since AS timestamptz) IS NULL OR created_at >= :since)"
    " AND (CAST(:until AS timestamptz) IS NULL OR created_at < :until)"
)
_LIST = text(
    f"SELECT {_COLUMNS} FROM deliveries{_WHERE}"
    " AND (CAST(:after_at AS timestamptz) IS NULL"
    "  OR (created_at, delivery_id) < (:after_at, CAST(:after_id AS uuid)))"
    " ORDER BY created_at DESC, delivery_id DESC LIMIT :limit"
)
_GET = text(f"SELECT {_COLUMNS}, body FROM deliveries WHERE delivery_id = :id")
_ATTEMPTS = text(
    "SELECT attempt, at, status_code, error, duration_ms FROM delivery_attempts"
    " WHERE delivery_id = :id ORDER BY attempt"
)
_RETRY = text(
    "UPDATE deliveries SET status = 'pending', round_start = attempts, next_attempt_at = now(),"
    " delivered_at = NULL WHERE delivery_id = :id AND status = 'failed'"
    " AND subscription NOT IN"
    "  (SELECT subscription FROM subscription_state WHERE disabled_at IS NOT NULL)"
    f" RETURNING {_COLUMNS}"
)
# Bulk replay: failed (and, asked for, cancelled) deliveries matching the filter, oldest
# first, except those of a subscription its receiver disabled (they would be refused again).
_RETRY_MATCHING = text(
    "WITH picked AS ("
    f" SELECT delivery_id FROM deliveries{_WHERE}"
    " AND status IN ('failed', 'cancelled')"
    " AND subscription NOT IN"
    "  (SELECT subscription FROM subscription_state WHERE disabled_at IS NOT NULL)"
    " ORDER BY created_at, delivery_id LIMIT :limit FOR UPDATE SKIP LOCKED)"
    " UPDATE deliveries AS d SET status = 'pending', round_start = d.attempts,"
    " next_attempt_at = now(), delivered_at = NULL"
    " FROM picked WHERE d.delivery_id = picked.delivery_id RETURNING d.delivery_id"
)
# A re-send: a new row (new id, so a new webhook-id) with the original's message, linked to
# it; the original keeps its status, attempts and times.
_RESEND = text(
    "INSERT INTO deliveries (delivery_id, subscription, event_id, event_type, lead_id, url,"
    " body, channel, recipient, attempts, next_attempt_at, resent_from)"
    " SELECT :new_id, subscription, event_id, event_type, lead_id, url, body, channel,"
    " recipient, 0, now(), delivery_id FROM deliveries"
    " WHERE delivery_id = :id AND status = 'delivered' AND subscription NOT IN"
    "  (SELECT subscription FROM subscription_state WHERE disabled_at IS NOT NULL)"
    f" RETURNING {_COLUMNS}"
)
_STATUS = text(
    "SELECT d.status, s.disabled_at IS NOT NULL FROM deliveries d"
    " LEFT JOIN subscription_state s ON s.subscription = d.subscription"
    " WHERE d.delivery_id = :id"
)


async def insert_deliveries(
    conn: AsyncConnection, rows: Sequence[NewDelivery], lease_s: float
) -> list[ClaimedDelivery]:
    """Insert planned deliveries in one statement, leased for their first attempt (unless
    held back by ``not_before``); return those that are new and due now (one already planned
    for the subscription, event and recipient is kept, and not returned)."""
    if not rows:
        return []
    params: dict[str, Any] = column_params(
        rows,
        ids="delivery_id",
        subs="subscription",
        event_ids="event_id",
        types="event_type",
        leads="lead_id",
        urls="url",
        bodies="body",
        channels="channel",
        recipients="recipient",
        not_before="not_before",
    )
    params["lease_s"] = lease_s
    inserted = {str(r[0]) for r in await conn.execute(_INSERT_DELIVERIES, params)}
    return [
        ClaimedDelivery(
            delivery_id=row.delivery_id,
            subscription=row.subscription,
            event_id=row.event_id,
            event_type=row.event_type,
            lead_id=row.lead_id,
            body=row.body,
            attempts=1,
            round_start=0,
            channel=row.channel,
        )
        for row in rows
        if row.delivery_id in inserted and row.not_before is None
    ]


async def claim_due(conn: AsyncConnection, limit: int, lease_s: float) -> list[ClaimedDelivery]:
    """Take up to ``limit`` due deliveries, count their next attempt and lease them."""
    rows = await conn.execute(_CLAIM_DUE, {"limit": limit, "lease_s": lease_s})
    return [
        ClaimedDelivery(
            delivery_id=str(r[0]),
            subscription=r[1],
            event_id=r[2],
            event_type=r[3],
            lead_id=r[4],
            body=bytes(r[5]),
            attempts=r[6],
            round_start=r[7],
            channel=r[8],
        )
        for r in rows
    ]


async def record_outcomes(
    conn: AsyncConnection, attempts: Sequence[AttemptRecord], updates: Sequence[DeliveryUpdate]
) -> set[str]:
    """Store the attempts and apply the updates; return the ids whose update took effect."""
    if attempts:
        await conn.execute(
            _INSERT_ATTEMPTS,
            column_params(
                attempts,
                ids="delivery_id",
                attempts="attempt",
                ats="at",
                codes="status_code",
                errors="error",
                durations="duration_ms",
            ),
        )
    if not updates:
        return set()
    rows = await conn.execute(
        _APPLY_UPDATES,
        column_params(
            updates,
            ids="delivery_id",
            attempts="attempt",
            statuses="status",
            urls="url",
            codes="status_code",
            errors="error",
            retry_in="retry_in_s",
            delivered_at="delivered_at",
        ),
    )
    return {str(r[0]) for r in rows}


def _delivery(row: Any) -> dict[str, Any]:
    return {
        "delivery_id": str(row[0]),
        "subscription": row[1],
        "event_id": row[2],
        "event_type": row[3],
        "lead_id": row[4],
        "url": row[5],
        "status": row[6],
        "attempts": row[7],
        "next_attempt_at": row[8] if row[6] == "pending" else None,
        "last_status_code": row[9],
        "last_error": row[10],
        "created_at": row[11],
        "delivered_at": row[12],
        "channel": row[13],
        "recipient": row[14],
        "resent_from": str(row[15]) if row[15] is not None else None,
    }


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries: every field that is set must match (``None``: any)."""

    lead_id: str | None = None
    statuses: tuple[str, ...] | None = None
    subscription: str | None = None
    channel: str | None = None
    recipient: str | None = None
    event_type: str | None = None
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before

    def params(self) -> dict[str, Any]:
        return {
            "lead_id": self.lead_id,
            "statuses": list(self.statuses) if self.statuses is not None else None,
            "subscription": self.subscription,
            "channel": self.channel,
            "recipient": self.recipient,
            "event_type": self.event_type,
            "since": self.since,
            "until": self.until,
        }


async def list_deliveries(
    conn: AsyncConnection,
    where: DeliveryFilter,
    limit: int,
    after: tuple[datetime, str] | None = None,
) -> list[dict[str, Any]]:
    """Deliveries matching ``where``, newest first, after the (created_at, delivery_id)
    position ``after`` (keyset paging: a page never repeats or skips a row)."""
    params = {
        **where.params(),
        "limit": limit,
        "after_at": after[0] if after else None,
        "after_id": after[1] if after else None,
    }
    rows = await conn.execute(_LIST, params)
    return [_delivery(r) for r in rows]


async def get_delivery(conn: AsyncConnection, delivery_id: str) -> dict[str, Any] | None:
    """One delivery with its body and its attempts, oldest first."""
    row = (await conn.execute(_GET, {"id": delivery_id})).first()
    if row is None:
        return None
    attempts = await conn.execute(_ATTEMPTS, {"id": delivery_id})
    return {
        **_delivery(row),
        "body": bytes(row[16]),
        "attempt_log": [
            {"attempt": a[0], "at": a[1], "status_code": a[2], "error": a[3], "duration_ms": a[4]}
            for a in attempts
        ],
    }


async def retry_failed(conn: AsyncConnection, delivery_id: str) -> dict[str, Any] | None:
    """Make a failed delivery pending and due now; None if it is not failed (or unknown, or
    its subscription is disabled by its receiver)."""
    row = (await conn.execute(_RETRY, {"id": delivery_id})).first()
    return _delivery(row) if row is not None else None


async def delivery_status(conn: AsyncConnection, delivery_id: str) -> tuple[str, bool] | None:
    """The delivery's status and whether its subscription is disabled by its receiver, or
    None if there is no such delivery."""
    row = (await conn.execute(_STATUS, {"id": delivery_id})).first()
    return (str(row[0]), bool(row[1])) if row is not None else None


async def retry_matching(conn: AsyncConnection, where: DeliveryFilter, limit: int) -> list[str]:
    """Make up to ``limit`` failed/cancelled deliveries matching ``where`` pending and due
    now, with a fresh attempt budget; return their ids. A subscription disabled by its
    receiver's 410 is skipped until it is enabled."""
    rows = await conn.execute(_RETRY_MATCHING, {**where.params(), "limit": limit})
    return [str(r[0]) for r in rows]


async def resend(conn: AsyncConnection, delivery_id: str, new_id: str) -> dict[str, Any] | None:
    """A new delivery ``new_id`` of a delivered one's message, due now; None if the original
    is not delivered (or unknown)."""
    row = (await conn.execute(_RESEND, {"id": delivery_id, "new_id": new_id})).first()
    return _delivery(row) if row is not None else None


_ERASE = text(
    "DELETE FROM deliveries WHERE lead_id = ANY(CAST(:ids AS text[])) AND event_type <> :erased"
)


async def erase(conn: AsyncConnection, lead_ids: list[str]) -> None:
    """Forget erased leads: their deliveries (payloads hold personal data) and attempts;
    pending ones are never sent. The erasure notices themselves (lead id and time only) stay,
    to be sent, retried and audited: telling the subscribers is part of the erasure."""
    await conn.execute(_ERASE, {"ids": lead_ids, "erased": ERASED})
    await conn.execute(_ERASE_DIGEST, {"ids": lead_ids})


# --- subscription state: disabled by a receiver's 410 Gone, enabled again by an operator --

_DISABLE = text(
    "INSERT INTO subscription_state (subscription, disabled_at, disabled_reason, disabled_by)"
    " VALUES (:name, :at, :reason, CAST(:by AS uuid))"
    " ON CONFLICT (subscription) DO UPDATE SET disabled_at = EXCLUDED.disabled_at,"
    " disabled_reason = EXCLUDED.disabled_reason, disabled_by = EXCLUDED.disabled_by"
    " WHERE subscription_state.disabled_at IS NULL RETURNING subscription"
)
_CANCEL_PENDING = text(
    "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, last_error = :why"
    " WHERE subscription = :name AND status = 'pending'"
)
_ENABLE = text(
    "UPDATE subscription_state SET disabled_at = NULL, disabled_reason = NULL,"
    " disabled_by = NULL, enabled_at = :at, enabled_by = :by"
    " WHERE subscription = :name AND disabled_at IS NOT NULL RETURNING subscription"
)
_DISABLED = text(
    "SELECT subscription, disabled_at, disabled_reason, CAST(disabled_by AS text)"
    " FROM subscription_state WHERE disabled_at IS NOT NULL"
)


@dataclass(frozen=True)
class Disabled:
    """A subscription its receiver ended (410 Gone): when, why, on which delivery."""

    subscription: str
    at: datetime
    reason: str
    delivery_id: str | None


async def disable_subscription(
    conn: AsyncConnection, name: str, at: datetime, reason: str, delivery_id: str
) -> int | None:
    """Disable ``name`` and cancel its pending deliveries; return how many were cancelled,
    or None if it was disabled already (nothing changes)."""
    params = {"name": name, "at": at, "reason": reason, "by": delivery_id}
    if (await conn.execute(_DISABLE, params)).first() is None:
        return None
    why = f"cancelled: subscription {name!r} was disabled: {reason}"
    cancelled = await conn.execute(_CANCEL_PENDING, {"name": name, "why": why})
    return int(cancelled.rowcount)


async def enable_subscription(conn: AsyncConnection, name: str, at: datetime, by: str) -> bool:
    """Enable a subscription its receiver disabled; False if it was not disabled."""
    params = {"name": name, "at": at, "by": by}
    return (await conn.execute(_ENABLE, params)).first() is not None


async def disabled_subscriptions(conn: AsyncConnection) -> dict[str, Disabled]:
    """The subscriptions disabled by a 410, by name."""
    rows = await conn.execute(_DISABLED)
    return {r[0]: Disabled(r[0], r[1], r[2], r[3]) for r in rows}


# --- digests: lines waiting for their period's end --------------------------------------


@dataclass(frozen=True)
class DigestItem:
    """A digest line as stored: ``person`` is the recipient as JSON (None: a channel post)."""

    subscription: str
    recipient: str
    event_id: str
    period_end: datetime
    lead_id: str
    title: str
    body: str
    link: str | None
    person: str | None
    role: str | None


_INSERT_DIGEST = text(
    "INSERT INTO digest_items (subscription, recipient, event_id, period_end, lead_id, title,"
    " body, link, person, role)"
    " SELECT * FROM unnest(CAST(:subs AS text[]), CAST(:recipients AS text[]),"
    " CAST(:event_ids AS text[]), CAST(:ends AS timestamptz[]), CAST(:leads AS text[]),"
    " CAST(:titles AS text[]), CAST(:bodies AS text[]), CAST(:links AS text[]),"
    " CAST(:people AS jsonb[]), CAST(:roles AS text[]))"
    " ON CONFLICT DO NOTHING"
)
_DUE_DIGEST = text(
    "SELECT subscription, recipient, event_id, period_end, lead_id, title, body, link,"
    " CAST(person AS text), role FROM digest_items WHERE period_end <= :now"
    " ORDER BY period_end, created_at, event_id LIMIT :limit FOR UPDATE SKIP LOCKED"
)
_DELETE_DIGEST = text(
    "DELETE FROM digest_items AS d USING unnest(CAST(:subs AS text[]),"
    " CAST(:event_ids AS text[]), CAST(:recipients AS text[])) AS u(subscription, event_id,"
    " recipient) WHERE d.subscription = u.subscription AND d.event_id = u.event_id"
    " AND d.recipient = u.recipient"
)
_ERASE_DIGEST = text("DELETE FROM digest_items WHERE lead_id = ANY(CAST(:ids AS text[]))")


async def insert_digest_items(conn: AsyncConnection, items: Sequence[DigestItem]) -> None:
    """Keep digest lines until their period ends (one already kept is left as it is)."""
    if not items:
        return
    await conn.execute(
        _INSERT_DIGEST,
        column_params(
            items,
            subs="subscription",
            recipients="recipient",
            event_ids="event_id",
            ends="period_end",
            leads="lead_id",
            titles="title",
            bodies="body",
            links="link",
            people="person",
            roles="role",
        ),
    )


async def take_due_digest(conn: AsyncConnection, now: datetime, limit: int) -> list[DigestItem]:
    """Lock and delete the lines whose period ended by ``now``, in period order; the caller
    turns them into deliveries in the same transaction."""
    rows = [DigestItem(*r) for r in await conn.execute(_DUE_DIGEST, {"now": now, "limit": limit})]
    if rows:
        await conn.execute(
            _DELETE_DIGEST,
            column_params(rows, subs="subscription", event_ids="event_id", recipients="recipient"),
        )
    return rows
