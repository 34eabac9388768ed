"""Existing-owner match, pure: a lead of an account someone already works goes to that rep.

An account is recognised by the keys capture publishes with the lead (``LeadProfile.account``,
defined in ``shared.contracts.accounts``): the lead's e-mail domain unless it is a free-mail
domain, or its company name without case, punctuation or legal suffixes. A profile without
them (an event from before they were published, or a simulation's input) gets them computed
by the contract's own definition, so the two never disagree.
The account's owner in a queue is the queue member who got the account's first lead (among
reps who reached one, with ``owner_is: contacted``). The owner is checked like any
candidate (availability, caps, the queue's skills and language); when they cannot take the
lead the queue's strategy decides, and the trace says which happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.router.domain.model import (
    OWNER_MATCH,
    AccountField,
    Candidate,
    Choice,
    OwnerMatch,
    Queue,
    RepLoad,
    Routing,
)
from services.router.domain.strategies import check_rep, incoming_weight
from shared.contracts.accounts import AccountKeys

AccountKey = tuple[AccountField, str]


@dataclass(frozen=True)
class Account:
    """The keys a lead's account is known by (None: the lead lacks that key)."""

    email_domain: str | None = None
    company: str | None = None

    def keys(self, fields: tuple[AccountField, ...]) -> tuple[AccountKey, ...]:
        """The lead's keys for ``fields``, in that order, skipping the ones it lacks."""
        values = {"email_domain": self.email_domain, "company": self.company}
        return tuple((f, v) for f in fields if (v := values[f]) is not None)


@dataclass(frozen=True)
class AccountOwner:
    """A rep who owns one of an account's leads: since when, and whether one was reached."""

    rep_id: str
    since: datetime
    contacted: bool = False


AccountOwners = Mapping[AccountKey, tuple[AccountOwner, ...]]


@dataclass(frozen=True)
class OwnerOffer:
    """What owner matching found before the queue's strategy ran. ``choice`` is the owner
    taking the lead (``taken``), being skipped, or nobody to ask (no candidates)."""

    account: str | None
    choice: Choice
    step: str

    @property
    def taken(self) -> bool:
        return self.choice.rep_id is not None


def account_of(profile: Mapping[str, Any]) -> Account:
    """The keys capture published with the lead; computed the same way when absent."""
    published = profile.get("account")
    keys = (
        AccountKeys.model_validate(published)
        if isinstance(published, Mapping)
        else AccountKeys.of(profile.get("email"), profile.get("company"))
    )
    return Account(keys.email_domain, keys.company_key)


def find_owner(
    keys: tuple[AccountKey, ...], owners: AccountOwners, queue: Queue, match: OwnerMatch
) -> tuple[AccountKey, str] | None:
    """The first key (in ``by`` order) with an owner among the queue's members; that owner is
    the member who got the account's first lead (who reached one, for ``contacted``)."""
    for key in keys:
        eligible = [
            o
            for o in owners.get(key, ())
            if o.rep_id in queue.members and (match.owner_is == "assigned" or o.contacted)
        ]
        if eligible:
            first = min(eligible, key=lambda o: (o.since, queue.members.index(o.rep_id)))
            return key, first.rep_id
    return None


def offer_to_owner(
    queue: Queue,
    routing: Routing,
    facts: Mapping[str, Any],
    owners: AccountOwners,
    loads: Mapping[str, RepLoad],
    cursors: Mapping[str, int],
    now: datetime,
    exclude: frozenset[str] = frozenset(),
) -> OwnerOffer | None:
    """Ask the account's owner first when the queue matches owners (None: it does not).
    Taking the lead leaves the queue's rotation where it was."""
    match = routing.owner_match_of(queue)
    if match is None:
        return None
    cursor = cursors.get(queue.name, 0)
    keys = account_of(facts).keys(match.by)
    if not keys:
        fields = " or ".join(_FIELD_TEXT[f] for f in match.by)
        step = f"owner match: the lead has no {fields}"
        return OwnerOffer(None, Choice(None, cursor, OWNER_MATCH, (), step), step)
    found = find_owner(keys, owners, queue, match)
    if found is None:
        accounts = " or ".join(v for _, v in keys)
        step = f"owner match: account {accounts} has no owner in {queue.name}"
        return OwnerOffer(None, Choice(None, cursor, OWNER_MATCH, (), step), step)
    (_, account), rep_id = found
    rep = routing.reps[rep_id]
    load = loads.get(rep_id) or RepLoad(rep_id)
    ok, why = check_rep(rep, queue, load, now, facts, exclude, incoming_weight(routing, facts))
    if ok:
        step = f"existing owner {rep_id} of account {account}: assigned"
        candidate = Candidate(rep_id, True, f"existing owner of account {account} ({why})")
        return OwnerOffer(account, Choice(rep_id, cursor, OWNER_MATCH, (candidate,), step), step)
    step = f"existing owner {rep_id} of account {account} skipped: {why}"
    candidate = Candidate(rep_id, False, f"existing owner of account {account}: {why}")
    return OwnerOffer(account, Choice(None, cursor, OWNER_MATCH, (candidate,), step), step)


def note_owner(
    owners: AccountOwners, account: Account, rep_id: str, at: datetime
) -> dict[AccountKey, tuple[AccountOwner, ...]]:
    """After an assignment the rep owns one of the account's leads too (later leads of the
    same batch see it); a rep already listed keeps their earlier date."""
    updated = dict(owners)
    for key in account.keys(("email_domain", "company")):
        current = updated.get(key, ())
        if all(o.rep_id != rep_id for o in current):
            updated[key] = (*current, AccountOwner(rep_id, at))
    return updated


_FIELD_TEXT: dict[AccountField, str] = {
    "email_domain": "company e-mail domain",
    "company": "company name",
}
