"""Who owns the accounts of a batch's leads, for the existing-owner match: read inside the
routing lock with the rest of a round's state, one round trip per batch."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.router.domain import AccountKey, AccountOwner


async def load_account_owners(
    conn: AsyncConnection, keys: Iterable[AccountKey]
) -> dict[AccountKey, tuple[AccountOwner, ...]]:
    """Who owns leads of these accounts: per key, each rep with the first time they got
    one of its leads and whether any of theirs was reached. One round trip per batch."""
    wanted = set(keys)
    domains = sorted(v for f, v in wanted if f == "email_domain")
    companies = sorted(v for f, v in wanted if f == "company")
    if not domains and not companies:
        return {}
    rows = await conn.execute(
        text(
            "SELECT 'email_domain', email_domain, rep_id, min(assigned_at),"
            " bool_or(contacted_at IS NOT NULL) FROM leads"
            " WHERE email_domain = ANY(CAST(:domains AS text[])) AND rep_id IS NOT NULL"
            " GROUP BY email_domain, rep_id"
            " UNION ALL"
            " SELECT 'company', company_key, rep_id, min(assigned_at),"
            " bool_or(contacted_at IS NOT NULL) FROM leads"
            " WHERE company_key = ANY(CAST(:companies AS text[])) AND rep_id IS NOT NULL"
            " GROUP BY company_key, rep_id"
        ),
        {"domains": domains, "companies": companies},
    )
    owners: dict[AccountKey, list[AccountOwner]] = {}
    for field, value, rep_id, since, contacted in rows:
        owners.setdefault((field, value), []).append(AccountOwner(rep_id, since, contacted))
    return {k: tuple(sorted(v, key=lambda o: o.since)) for k, v in owners.items()}
