"""SQL of a rebuild's swap: the rebuilt tables' rows replace the live ones in one
transaction. SQL only.

Rows are copied rather than schemas renamed: a running insights process keeps prepared
statements bound to its tables, and would go on writing to renamed ones. TRUNCATE takes
the tables' ACCESS EXCLUSIVE lock, so a live batch commits either before the swap (and is
applied again by the rebuild's catch-up) or after it, onto the rebuilt rows.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db.engine import check_schema_name

READ_MODEL = ("observations", "lead_facts", "rep_teams")


async def replace_with(conn: AsyncConnection, rebuilt: str, consumer: str) -> None:
    """The live schema's read model and inbox become the ``rebuilt`` schema's; erasures
    recorded in either stay recorded."""
    source = check_schema_name(rebuilt)
    await conn.execute(text(f"TRUNCATE {', '.join(READ_MODEL)}"))
    for table in READ_MODEL:
        await conn.execute(text(f"INSERT INTO {table} SELECT * FROM {source}.{table}"))
    await conn.execute(text("DELETE FROM inbox WHERE consumer = :c"), {"c": consumer})
    await conn.execute(
        text(f"INSERT INTO inbox SELECT * FROM {source}.inbox WHERE consumer = :c"),
        {"c": consumer},
    )
    await conn.execute(
        text(f"INSERT INTO erased_leads SELECT * FROM {source}.erased_leads ON CONFLICT DO NOTHING")
    )


async def drop_schema(conn: AsyncConnection, schema: str) -> None:
    await conn.execute(text(f"DROP SCHEMA IF EXISTS {check_schema_name(schema)} CASCADE"))
