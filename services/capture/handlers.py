"""Capture's use cases: accept a lead, record an activity. Load, decide, save, emit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
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


async def capture_leads(
    uow: UnitOfWork, leads: Sequence[domain.CleanLead], now: datetime
) -> list[CaptureResult]:
    """New people become leads and are announced; a known person (by e-mail, or by phone when
    there is no e-mail) is matched, not doubled — also within the batch and across races."""
    results: list[CaptureResult | None] = [None] * len(leads)
    keys = [store.match_key(lead.email, lead.phone) for lead in leads]
    async with uow:
        existing = await _matches(uow, leads)
        fresh: dict[str, store.NewLead] = {}
        for i, (lead, key) in enumerate(zip(leads, keys, strict=True)):
            if key in existing:
                results[i] = CaptureResult(existing[key], duplicate=True)
            elif key in fresh:  # the same person twice in one batch
                results[i] = CaptureResult(fresh[key].lead_id, duplicate=True)
            else:
                fresh[key] = store.NewLead(
                    str(uuid.uuid4()), lead.email, lead.phone, lead.source, asdict(lead)
                )
                results[i] = CaptureResult(fresh[key].lead_id, duplicate=False)
        inserted = await store.insert_leads(uow.conn, list(fresh.values()), now)
        if len(inserted) < len(fresh):  # concurrent submissions won some: read their ids
            winners = await _matches(uow, leads)
            lost = {k: winners[k] for k, new in fresh.items() if new.lead_id not in inserted}
            results = [
                CaptureResult(lost[k], duplicate=True) if k in lost else r
                for k, r in zip(keys, results, strict=True)
            ]
        for new in fresh.values():
            if new.lead_id in inserted:
                uow.emit(
                    LeadCaptured(
                        lead_id=new.lead_id,
                        captured_at=now,
                        lead=LeadProfile.model_validate(new.profile),
                    )
                )
        await uow.commit()
    return [r for r in results if r is not None]


async def _matches(uow: UnitOfWork, leads: Sequence[domain.CleanLead]) -> dict[str, str]:
    emails = sorted({lead.email for lead in leads if lead.email})
    phones = sorted({lead.phone for lead in leads if not lead.email and lead.phone})
    return await store.find_matches(uow.conn, emails, phones)


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
