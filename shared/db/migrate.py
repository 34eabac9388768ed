"""Plain-SQL migrations per service schema, applied in order under an advisory lock.

A migration is a ``NNNN_name.sql`` file. The shared inbox/outbox migrations run first in
every schema, then the service's own. Applied versions are recorded in
``schema_migrations``, so running it again is a no-op, and the advisory lock makes it
safe for several replicas to start at once.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.engine import check_schema_name

log = logging.getLogger(__name__)

SHARED_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def migration_files(*dirs: Path) -> list[tuple[str, Path]]:
    """``(version, file)`` in the order to apply: shared first, then each dir sorted by name."""
    out: list[tuple[str, Path]] = []
    for directory in (SHARED_MIGRATIONS, *dirs):
        prefix = "shared" if directory == SHARED_MIGRATIONS else directory.parent.name
        out.extend((f"{prefix}/{f.stem}", f) for f in sorted(directory.glob("*.sql")))
    return out


async def migrate(engine: AsyncEngine, schema: str, migrations_dir: Path) -> list[str]:
    """Apply what is missing; return the versions applied now."""
    check_schema_name(schema)
    applied_now: list[str] = []
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("SELECT pg_advisory_lock(hashtext($1))", f"leadflow-migrate:{schema}")
        try:
            await raw.execute(
                f"CREATE SCHEMA IF NOT EXISTS {schema};"
                f" SET search_path TO {schema};"
                " CREATE TABLE IF NOT EXISTS schema_migrations ("
                "   version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await raw.fetch("SELECT version FROM schema_migrations")}
            for version, path in migration_files(migrations_dir):
                if version in done:
                    continue
                async with raw.transaction():
                    await raw.execute(path.read_text(encoding="utf-8"))
                    await raw.execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)", version
                    )
                applied_now.append(version)
                log.info("migration applied", extra={"schema": schema, "version": version})
        finally:
            await raw.execute(
                "SELECT pg_advisory_unlock(hashtext($1))", f"leadflow-migrate:{schema}"
            )
    return applied_now


async def is_migrated(engine: AsyncEngine, migrations_dir: Path) -> bool:
    """True when every known migration is recorded (readiness check)."""
    wanted = {v for v, _ in migration_files(migrations_dir)}
    async with engine.connect() as conn:
        try:
            rows = await conn.execute(text("SELECT version FROM schema_migrations"))
        except Exception:
            return False
        return wanted <= {r[0] for r in rows}
