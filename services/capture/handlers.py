"""Capture's effects: capture leads, record activities, erase a person. Load, decide with
the domain, save, emit — in the unit of work the use case opened (:mod:`.intake`,
:mod:`.activities`, :mod:`.answers`), which commits it with what else belongs to the same
transaction (the stored answer, a finished fetch job). Nothing here knows about HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.capture.domain.identity import (
    MatchRule,
    account_keys,
    identity_of,
    keys_of,
    match_key,
    resolve_batch,
    rule_candidates,
    rule_matches,
)
from services.capture.domain.lead import CleanLead
from services.capture.domain.merge import merge_profile
from services.capture.store import erasure as erasure_store
from services.capture.store import leads as lead_store
from shared.contracts import (
    ActivityKind,
    FieldChange,
    LeadActivityRecorded,
    LeadCaptured,
    LeadErased,
    LeadProfile,
    LeadUpdated,
)
from shared.contracts.envelope import Event
from shared.db import audit
from shared.db.uow import UnitOfWork
from shared.observability import metrics


@dataclass(frozen=True)
class CaptureResult:
    lead_id: str
    duplicate: bool
    matched_by: str | None = None  # email or phone, for a duplicate
    changed: tuple[str, ...] = ()  # fields the merge changed, for a duplicate


class UnknownLead(LookupError):
    """No lead has this id."""


async def capture_leads(
    uow: UnitOfWork,
    leads: Sequence[CleanLead],
    now: datetime,
    rules: tuple[MatchRule, ...] = (),
) -> list[CaptureResult]:
    """New people become leads and are announced; a known person (by e-mail, by phone when
    there is no e-mail, then by the configured match rules) is merged into their lead, not
    doubled — also within the batch and across races — and the merge is recorded and
    announced when it changed something.

    Runs in the caller's open unit of work (:mod:`services.capture.intake`), which commits it
    with whatever else belongs to the same transaction (the stored answer, a fetch job)."""
    keys = [match_key(lead.email, lead.phone) for lead in leads]
    via: dict[int, str] = {}  # submissions matched by a configured rule: the rule's name
    existing = await _matches(uow, leads)
    if rules:
        await _match_by_rules(uow, leads, keys, existing, via, rules)
    batch = resolve_batch(leads, keys, existing, rules, via)
    keys, via = batch.keys, batch.via
    fresh = {
        key: lead_store.NewLead(
            str(uuid.uuid4()), p.first.email, p.phone, p.first.source, p.profile
        )
        for key, p in batch.new_people.items()
    }
    inserted = await lead_store.insert_leads(uow.conn, list(fresh.values()), now)
    if len(inserted) < len(fresh):  # concurrent submissions won some: merge into theirs
        existing.update(await _matches(uow, leads))
    new_ids = {key: new.lead_id for key, new in fresh.items() if new.lead_id in inserted}
    await lead_store.insert_match_keys(
        uow.conn,
        [(k, new.lead_id) for new in fresh.values() if new.lead_id in inserted
         for k in keys_of(rules, new.profile)],
    )  # fmt: skip
    merging = [(i, lead, keys[i]) for i, lead in enumerate(leads) if keys[i] not in new_ids]
    merged = await _merge(uow, merging, existing, now, via, rules)
    for new in fresh.values():
        if new.lead_id in inserted:
            uow.emit(
                LeadCaptured(
                    lead_id=new.lead_id,
                    captured_at=now,
                    lead=_published(new.profile),
                )
            )
    return _results(keys, new_ids, merged, via)


def count_flags(leads: Sequence[CleanLead]) -> None:
    """Every value kept raw and flagged, by lead field (attributes paths as ``attributes``)."""
    for lead in leads:
        for flag in lead.data_quality:
            field = flag.field.split(".", 1)[0].split("[", 1)[0]
            metrics.flagged_values.labels(field).inc()


async def _match_by_rules(
    uow: UnitOfWork,
    leads: Sequence[CleanLead],
    keys: list[str],
    existing: dict[str, str],
    via: dict[int, str],
    rules: tuple[MatchRule, ...],
) -> None:
    """Match submissions unknown by e-mail/phone with the configured rules, in rule order.

    The rule keys are locked for the transaction first, so two concurrent submissions that
    match each other by a rule cannot both create a lead."""
    candidates = rule_candidates(leads, keys, existing, rules)
    if not candidates:
        return
    wanted = sorted({k for ks in candidates.values() for k in ks})
    await lead_store.lock_match_keys(uow.conn, wanted)
    found = await lead_store.find_rule_matches(uow.conn, wanted)
    for i, match in rule_matches(candidates, found).items():
        keys[i] = f"lead:{match.lead_id}"
        existing[keys[i]] = match.lead_id
        via[i] = match.rule


def _results(
    keys: list[str],
    new_ids: dict[str, str],
    merged: dict[int, CaptureResult],
    via: dict[int, str],
) -> list[CaptureResult]:
    seen_new: set[str] = set()
    results: list[CaptureResult] = []
    for i, key in enumerate(keys):
        if i in merged:
            results.append(merged[i])
        elif new_ids[key] in seen_new:  # a later copy within the batch
            matched_by = via.get(i) or identity_of(key)
            results.append(CaptureResult(new_ids[key], duplicate=True, matched_by=matched_by))
        else:
            seen_new.add(new_ids[key])
            results.append(CaptureResult(new_ids[key], duplicate=False))
    return results


async def _merge(
    uow: UnitOfWork,
    submissions: list[tuple[int, CleanLead, str]],
    existing: dict[str, str],
    now: datetime,
    via: dict[int, str],
    rules: tuple[MatchRule, ...],
) -> dict[int, CaptureResult]:
    """Merge submissions for known leads into them, in order; record and announce changes."""
    if not submissions:
        return {}
    profiles = await lead_store.lock_profiles(
        uow.conn, sorted({existing[k] for _, _, k in submissions})
    )
    changed: dict[str, dict[str, Any]] = {}
    records: list[lead_store.MergeRecord] = []
    results: dict[int, CaptureResult] = {}
    for i, lead, key in submissions:
        lead_id, matched_by = existing[key], via.get(i) or identity_of(key)
        profile, changes = merge_profile(profiles[lead_id], lead, keep_phone=matched_by == "phone")
        results[i] = CaptureResult(
            lead_id, True, matched_by, tuple(dict.fromkeys(c.field for c in changes))
        )
        if not changes:
            continue
        profiles[lead_id] = changed[lead_id] = profile
        record = lead_store.MergeRecord(
            merge_id=str(uuid.uuid4()),
            lead_id=lead_id,
            matched_by=matched_by,
            source=lead.source,
            changes=[{"field": c.field, "old": c.old, "new": c.new} for c in changes],
            merged_at=now,
        )
        records.append(record)
        uow.emit(
            LeadUpdated(
                lead_id=lead_id,
                merge_id=record.merge_id,
                updated_at=now,
                matched_by=matched_by,
                submitted_source=lead.source,
                changes=[FieldChange.model_validate(c) for c in record.changes],
                lead=_published(profile),
            )
        )
    await lead_store.update_profiles(uow.conn, changed, now)
    await lead_store.insert_merges(uow.conn, records)
    await lead_store.insert_match_keys(
        uow.conn, [(k, lid) for lid, p in changed.items() for k in keys_of(rules, p)]
    )
    return results


async def _matches(uow: UnitOfWork, leads: Sequence[CleanLead]) -> dict[str, str]:
    emails = sorted({lead.email for lead in leads if lead.email})
    phones = sorted({lead.phone for lead in leads if not lead.email and lead.phone})
    return await lead_store.find_matches(uow.conn, emails, phones)


@dataclass(frozen=True)
class ActivityInput:
    kind: ActivityKind
    occurred_at: datetime
    channel: str | None
    rep_id: str | None
    amount: Decimal | None
    reason: str | None
    details: dict[str, Any]


async def record_activities(
    uow: UnitOfWork,
    activities: Sequence[tuple[str, ActivityInput]],
    now: datetime,
) -> list[str | None]:
    """Store and announce activities of known leads, in the caller's open unit of work; the
    id of each, or None where the lead is unknown (or erased) — those are not recorded."""
    known = await lead_store.existing_leads(uow.conn, sorted({lead for lead, _ in activities}))
    ids: list[str | None] = []
    rows: list[lead_store.ActivityRow] = []
    for lead_id, activity in activities:
        if lead_id not in known:
            ids.append(None)
            continue
        event = LeadActivityRecorded(
            lead_id=lead_id,
            activity_id=str(uuid.uuid4()),
            kind=activity.kind,
            occurred_at=activity.occurred_at,
            recorded_at=now,
            channel=activity.channel,
            rep_id=activity.rep_id,
            amount=activity.amount,
            reason=activity.reason,
            details=activity.details,
        )
        ids.append(event.activity_id)
        rows.append(
            lead_store.ActivityRow(
                event.activity_id,
                lead_id,
                activity.kind.value,
                activity.occurred_at,
                event.model_dump(mode="json"),
            )
        )
        uow.emit(event)
    await lead_store.insert_activities(uow.conn, rows, now)
    return ids


async def erase_lead(
    uow: UnitOfWork, lead_id: str, reason: str | None, now: datetime, actor: str
) -> bool:
    """Forget the person: delete the lead, its activities, merge trace and the stored
    answers naming it, and tell every service to do the same; the audit trail keeps who
    asked (the id only). True if erased now, False if it was erased before."""
    async with uow:
        if await erasure_store.erase_lead(uow.conn, lead_id, reason, now):
            await audit.append(uow.conn, actor, "lead.erased", lead_id, {"reason": reason})
            uow.emit(LeadErased(lead_id=lead_id, erased_at=now, reason=reason))
            await uow.commit()
            return True
        if await erasure_store.erased_at(uow.conn, lead_id) is not None:
            return False
    raise UnknownLead(lead_id)


def _published(profile: Mapping[str, Any]) -> LeadProfile:
    """The profile as events carry it: the stored one plus its account keys."""
    return LeadProfile.model_validate({**profile, "account": account_keys(profile)})


# What capture reacts to on the bus: nothing. It is where leads enter; its use cases are the
# HTTP commands above (capture_leads through intake.capture, record_activities, erase_lead).
# The table stands here so a reader finds that answer where every other service keeps it.
HANDLERS: dict[type[Event], Callable[..., None]] = {}
