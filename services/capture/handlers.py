"""Capture's use cases: accept a lead, record an activity. Load, decide, save, emit."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.capture import domain, store
from shared.contracts import ActivityKind, LeadActivityRecorded, LeadCaptured, LeadProfile
from shared.db.uow import UnitOfWork


@dataclass(frozen=True)
class CaptureResult:
    lead_id: str
    duplicate: bool


class UnknownLead(LookupError):
    """No lead has this id."""


async def capture_lead(uow: UnitOfWork, lead: domain.CleanLead, now: datetime) -> CaptureResult:
    """A new person becomes a lead and is announced; a known person is matched, not doubled."""
    profile = asdict(lead)
    async with uow:
        existing = await store.find_match(uow.conn, lead.email, lead.phone)
        if existing is not None:
            return CaptureResult(existing, duplicate=True)
        lead_id = str(uuid.uuid4())
        inserted = await store.insert_lead(
            uow.conn, lead_id, lead.email, lead.phone, lead.source, profile, now
        )
        if not inserted:  # lost a race with a concurrent submission for the same person
            winner = await store.find_match(uow.conn, lead.email, lead.phone)
            assert winner is not None
            return CaptureResult(winner, duplicate=True)
        uow.emit(
            LeadCaptured(lead_id=lead_id, captured_at=now, lead=LeadProfile.model_validate(profile))
        )
        await uow.commit()
    return CaptureResult(lead_id, duplicate=False)


@dataclass(frozen=True)
class ActivityInput:
    kind: ActivityKind
    occurred_at: datetime
    channel: str | None
    rep_id: str | None
    amount: Decimal | None
    reason: str | None
    details: dict[str, Any]


async def record_activity(
    uow: UnitOfWork, lead_id: str, activity: ActivityInput, now: datetime
) -> str:
    """An activity on a known lead is stored and announced to scoring, routing and nurture."""
    activity_id = str(uuid.uuid4())
    async with uow:
        if not await store.lead_exists(uow.conn, lead_id):
            raise UnknownLead(lead_id)
        event = LeadActivityRecorded(
            lead_id=lead_id,
            activity_id=activity_id,
            kind=activity.kind,
            occurred_at=activity.occurred_at,
            recorded_at=now,
            channel=activity.channel,
            rep_id=activity.rep_id,
            amount=activity.amount,
            reason=activity.reason,
            details=activity.details,
        )
        await store.insert_activity(
            uow.conn,
            activity_id,
            lead_id,
            activity.kind.value,
            activity.occurred_at,
            event.model_dump(mode="json"),
            now,
        )
        uow.emit(event)
        await uow.commit()
    return activity_id
