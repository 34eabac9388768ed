"""Which database errors are an outage — PostgreSQL down, restarting or refusing
connections — and so worth retrying, rather than a bug or bad data.

SQLAlchemy wraps asyncpg's errors, and not always as ``OperationalError``: a server that is
restarting after a crash answers "the database system is not yet accepting connections"
(SQLSTATE 57P03), which arrives as a plain ``DBAPIError``; a pooled connection whose server
died mid-query raises asyncpg's ``InternalClientError`` ("cannot switch to state ...").
Both were seen when PostgreSQL was SIGKILLed under load (``leadflow chaos``).
"""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# SQLSTATEs of a server that is unreachable, shutting down, starting or out of connections.
OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
OUTAGE_SQLSTATE_CLASSES = ("08",)  # connection exception


def is_outage(exc: BaseException) -> bool:
    """True for errors that mean "the database is not there right now"."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    for cause in _chain(exc):
        if isinstance(cause, asyncpg.InternalClientError | asyncpg.PostgresConnectionError):
            return True
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str) and (
            state in OUTAGE_SQLSTATES or state.startswith(OUTAGE_SQLSTATE_CLASSES)
        ):
            return True
    return False


def _chain(exc: BaseException, limit: int = 6) -> list[BaseException]:
    """The error, what it wraps (``.orig``) and what caused those, a few levels deep."""
    out: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(out) < limit:
        current = todo.pop(0)
        if current is None or current in out:
            continue
        out.append(current)
        todo += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return out
