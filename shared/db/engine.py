"""Engine construction: one schema per service, chosen by ``search_path``."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.config import ConfigError

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_schema_name(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise ConfigError(f"LEADFLOW_DB_SCHEMA: {schema!r} is not a valid schema name")
    return schema


def make_engine(url: str, schema: str, *, pool_size: int = 10, app_name: str = "") -> AsyncEngine:
    """An asyncpg engine whose every connection sees only ``schema`` (and public)."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it costs a round trip per transaction. A connection that died is
        # invalidated on first use, and callers retry transient errors (see bus.consumer).
        pool_pre_ping=False,
        connect_args={
            "server_settings": {
                "search_path": check_schema_name(schema),
                "application_name": app_name or f"leadflow-{schema}",
            }
        },
    )
