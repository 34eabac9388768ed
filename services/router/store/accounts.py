"""Who owns the accounts of a batch's leads, for the existing-owner match: read inside the
routing lock with the rest of a round's state, one round trip per batch."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.router.domain.owners import AccountKey, AccountOwner


def _owners_of(field: str, column: str, param: str) -> str:
    """Per wanted value of ``column``: its distinct reps by a loose index scan (one probe per
    rep, not a read of every lead), then each rep's first assignment and whether one of
    their leads was reached, one index probe each (see migration 0005)."""
    return (
        f"SELECT '{field}', r.v, r.rep_id,"
        f" (SELECT min(assigned_at) FROM leads WHERE {column} = r.v AND rep_id = r.rep_id),"
        # a LIMIT 1 probe, not EXISTS: PostgreSQL turns EXISTS into one hashed scan of the
        # whole table
        f" COALESCE((SELECT true FROM leads WHERE {column} = r.v AND rep_id = r.rep_id"
        f" AND contacted_at IS NOT NULL LIMIT 1), false)"
        f" FROM {param}_reps AS r WHERE r.rep_id IS NOT NULL"
    )


def _reps_of(column: str, param: str) -> str:
    first = f"(SELECT min(rep_id) FROM leads WHERE {column} = v.v AND rep_id IS NOT NULL)"
    after = f"(SELECT min(rep_id) FROM leads WHERE {column} = r.v AND rep_id > r.rep_id)"
    return (
        f"{param}_reps(v, rep_id) AS ("
        f" SELECT v.v, {first} FROM unnest(CAST(:{param} AS text[])) AS v(v)"
        f" UNION ALL SELECT r.v, {after} FROM {param}_reps AS r WHERE r.rep_id IS NOT NULL)"
    )


_OWNERS = text(
    f"WITH RECURSIVE {_reps_of('email_domain', 'domains')}, {_reps_of('company_key', 'companies')}"
    f" {_owners_of('email_domain', 'email_domain', 'domains')}"
    f" UNION ALL {_owners_of('company', 'company_key', 'companies')}"
)


async def load_account_owners(
    conn: AsyncConnection, keys: Iterable[AccountKey]
) -> dict[AccountKey, tuple[AccountOwner, ...]]:
    """Who owns leads of these accounts: per key, each rep with the first time they got
    one of its leads and whether any of theirs was reached. One round trip per batch."""
    wanted = {(f, v) for f, v in keys if _storable(v)}
    domains = sorted(v for f, v in wanted if f == "email_domain")
    companies = sorted(v for f, v in wanted if f == "company")
    if not domains and not companies:
        return {}
    rows = await conn.execute(_OWNERS, {"domains": domains, "companies": companies})
    owners: dict[AccountKey, list[AccountOwner]] = {}
    for field, value, rep_id, since, contacted in rows:
        owners.setdefault((field, value), []).append(AccountOwner(rep_id, since, contacted))
    return {k: tuple(sorted(v, key=lambda o: o.since)) for k, v in owners.items()}


def _storable(text: str) -> bool:
    """Whether PostgreSQL text could hold it: a key with a NUL or a lone surrogate (a lead
    only a simulation sends) names no stored account, and asking would be a 500."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
