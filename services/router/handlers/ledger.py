"""The fairness ledger within a transaction: read what is in force, note what a rep did, save.

What feeds it (each entry in the transaction of its cause, named by a source id so a
redelivered event adds nothing):

- ``sla_breach``: the router's own breach job (``handlers.sla.fire_due_breaches``), for the
  rep whose attempt missed; source ``sla:<assignment id>``.
- ``fast_first_contact``: the owner's first contact (``handlers.sla.record_contacts``) when
  ``first_contact_kind`` of its response time says so; source the activity id.
- ``won``: a ``won`` activity closing an open lead (``handlers.sla.close_won_lost``), for its
  owner; source the activity id.
- ``gone_cold``: the gone-cold scan (``handlers.recycling.scan_gone_cold``), for the owner,
  once per cold spell; source ``cold:<assignment id>:<quiet since>``.
- ``touch_late``, ``touch_missed``: nurture's ``lead.followup_closed`` with outcome late or
  missed (``handlers.events.note_followup_closed``, rule ``domain.touches.touch_entry``), for
  the rep who owed the touch, at its done time (late) or close (missed); source the event
  id. The handler appends a :class:`RepEvent` to ``RouterBatch.rep_events``, which the batch
  notes here.
- ``override`` / ``override_cleared``: the admin API (``admin.ledger``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from services.router.domain.fairness import (
    EventKind,
    Explanation,
    FairnessPolicy,
    LedgerEntry,
    clear_override,
    explain,
    multiplier_at,
    multipliers,
    record,
    set_override,
)
from services.router.handlers.source import RoutingSource
from services.router.store import leads as lead_store
from services.router.store import ledger as ledger_store
from shared.db import audit
from shared.db.uow import UnitOfWork


@dataclass(frozen=True)
class RepEvent:
    """Something a rep did that the ledger counts, as an event handler reports it."""

    rep_id: str
    kind: EventKind
    at: datetime
    reason: str
    source_id: str
    lead_id: str | None = None


@dataclass
class Ledger:
    """The entries in force when the transaction began (``history``) and those noted since;
    ``policy`` None: fairness is off, nothing is noted and every multiplier is 1.

    An entry's ``multiplier_after`` is where the rep stands once it is recorded (at ``now``,
    or at the entry's time if later), counting everything recorded before: events arrive
    out of time order (partitions, late reports), and the ledger reads in the order things
    were learnt, its last entry giving the standing now."""

    policy: FairnessPolicy | None
    now: datetime | None = None
    history: list[LedgerEntry] = field(default_factory=list)
    new: list[ledger_store.Stored] = field(default_factory=list)
    saved: int = 0

    def note(self, event: RepEvent) -> LedgerEntry | None:
        """The entry the policy gives the event (None: no effect, or already noted)."""
        if self.policy is None or self._seen(event):
            return None
        entry = record(
            self.history, event.rep_id, event.kind, event.at, event.reason, self.policy,
            event.source_id,
        )  # fmt: skip
        if entry is None:
            return None
        own = [e for e in self.history if e.rep_id == event.rep_id]
        when = max(event.at, self.now) if self.now is not None else event.at
        entry = replace(entry, multiplier_after=multiplier_at([*own, entry], when, self.policy))
        self.history.append(entry)
        self.new.append(ledger_store.Stored(entry, event.lead_id))
        return entry

    def multipliers(self, rep_ids: Iterable[str], at: datetime) -> Mapping[str, float]:
        """Each rep's multiplier at ``at`` (1.0 each when fairness is off)."""
        if self.policy is None:
            return dict.fromkeys(rep_ids, 1.0)
        return multipliers(self.history, rep_ids, at, self.policy)

    def multiplier_of(self, rep_id: str, at: datetime) -> float:
        if self.policy is None:
            return 1.0
        return multiplier_at([e for e in self.history if e.rep_id == rep_id], at, self.policy)

    def _seen(self, event: RepEvent) -> bool:
        key = (event.rep_id, event.kind, event.source_id)
        return any((e.rep_id, e.kind, e.source_event_id) == key for e in self.history)


async def open_ledger(
    conn: AsyncConnection, policy: FairnessPolicy | None, now: datetime
) -> Ledger:
    """The entries that can still move a multiplier at ``now``: one statement, none when
    fairness is off."""
    if policy is None:
        return Ledger(None, now)
    return Ledger(policy, now, await ledger_store.in_force(conn, now - policy.window))


async def save_ledger(conn: AsyncConnection, ledger: Ledger) -> None:
    """Append what was noted since the last save."""
    await ledger_store.append(conn, ledger.new[ledger.saved :])
    ledger.saved = len(ledger.new)


class FairnessOff(Exception):
    """The routing config has no ``fairness`` policy: a multiplier would change nothing."""


class UnknownRep(Exception):
    """No such rep in the routing config in force."""


async def explain_rep(
    conn: AsyncConnection, policy: FairnessPolicy, rep_id: str, now: datetime
) -> Explanation:
    """Why the rep's multiplier is what it is at ``now``, from the entries in force."""
    entries = await ledger_store.in_force(conn, now - policy.window, [rep_id])
    return explain(entries, now, policy)


async def override_multiplier(
    uow: UnitOfWork,
    source: RoutingSource,
    rep_id: str,
    value: float | None,
    *,
    reason: str,
    until: datetime | None,
    actor: str,
    now: datetime,
) -> tuple[LedgerEntry, Explanation]:
    """A manager fixes a rep's multiplier (``value``) until ``until`` or clears the override
    (``value`` None): a ledger entry and an audit row, in one transaction, under the routing
    lock (the next batch sees it). Raises ``UnknownRep``, ``FairnessOff`` or
    ``InvalidOverride``."""
    await lead_store.lock_routing(uow.conn)
    routing = (await source.current(uow.conn)).routing
    policy = routing.fairness
    if rep_id not in routing.reps:
        raise UnknownRep(f"no rep {rep_id!r} in the routing config in force")
    if policy is None:
        raise FairnessOff("routing.fairness is not configured: every multiplier is 1")
    history = await ledger_store.in_force(uow.conn, now - policy.window, [rep_id])
    if value is None:
        entry = clear_override(history, rep_id, now, reason, actor, policy)
        action = "rep.multiplier_override_cleared"
    else:
        entry = set_override(history, rep_id, value, now, reason, actor, policy, until)
        action = "rep.multiplier_overridden"
    await ledger_store.append(uow.conn, [ledger_store.Stored(entry)])
    detail = {
        "value": value,
        "until": until.isoformat() if until is not None else None,
        "reason": reason,
        "multiplier_after": entry.multiplier_after,
    }
    await audit.append(uow.conn, actor, action, f"rep:{rep_id}", detail)
    return entry, explain([*history, entry], now, policy)
