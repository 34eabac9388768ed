"""Stored answers are forgotten once their window has passed, and only then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.capture.store import answers as answer_store
from shared.db.engine import make_engine
from shared.db.migrate import migrate

pytestmark = [pytest.mark.postgres]

MIGRATIONS = Path(answer_store.__file__).resolve().parents[1] / "migrations"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


async def test_answers_past_their_window_are_purged_and_live_ones_kept(database_url: str) -> None:
    engine = make_engine(database_url.replace("postgresql://", "postgresql+asyncpg://"), "capture")
    try:
        await migrate(engine, "capture", MIGRATIONS)
        answer = answer_store.StoredAnswer("fp", 202, {"lead_id": "x", "status": "accepted"})
        async with engine.begin() as conn:
            stored = await answer_store.remember_answers(
                conn,
                {
                    "old": (answer, NOW - timedelta(minutes=1)),
                    "live": (answer, NOW + timedelta(hours=1)),
                },
                NOW - timedelta(days=1),
            )
            assert stored == {"old", "live"}
        async with engine.begin() as conn:
            assert await answer_store.purge_answers(conn, NOW) == 1
            assert set(await answer_store.get_answers(conn, ["old", "live"], NOW)) == {"live"}
            assert await answer_store.purge_answers(conn, NOW) == 0
    finally:
        await engine.dispose()
