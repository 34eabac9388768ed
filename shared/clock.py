"""The one clock: what time it is now (UTC), and the type of a function that says so.

Domain functions take the time as an argument; the edges (API, handlers, jobs) read it here,
and tests give handlers a fixed :data:`Clock` instead.

A whole deployment can run on a driven clock: with ``LEADFLOW_CLOCK_FILE`` set, every
service's :func:`now` reads the time written in that file (``leadflow clock set|advance``
writes it), so an end-to-end test or a demo moves all services through days of follow-ups,
SLAs and cool-offs in seconds, and their timestamps agree with each other.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

Clock = Callable[[], datetime]

_installed: Clock | None = None


def now() -> datetime:
    """The current time, timezone-aware (UTC): the process's driven clock if one is
    installed (``LEADFLOW_CLOCK_FILE``), else the real one."""
    if _installed is not None:
        return _installed()
    return datetime.now(UTC)


def install(clock: Clock | None) -> Clock | None:
    """Make ``clock`` what :func:`now` reads in this process (``None``: the real clock again);
    returns the one it replaces. Only a service's start (its clock setting) calls this."""
    global _installed
    previous, _installed = _installed, clock
    return previous


class FixedClock:
    """A clock that reads a set time until it is moved: a service given a fixed clock setting
    (e.g. the router's ``LEADFLOW_FIXED_CLOCK``) uses one, so tests and demos drive time
    (``advance``) instead of sleeping through real minutes."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a fixed clock needs a time zone")
        self._at = at.astimezone(UTC)

    def __call__(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        """Move to ``at`` (never back: timers already fired stay fired)."""
        if at.tzinfo is None:
            raise ValueError("a fixed clock needs a time zone")
        self._at = max(self._at, at.astimezone(UTC))

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta``; return the new time."""
        self.set(self._at + delta)
        return self._at


class FileClockError(ValueError):
    """The clock file is missing or does not hold an ISO-8601 time with a zone."""


def read_clock_file(path: Path) -> datetime:
    """The time written in ``path``: one ISO-8601 time with a zone, e.g.
    ``2026-03-02T08:00:00+00:00``."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise FileClockError(f"clock file {path}: {exc.strerror or exc}") from None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise FileClockError(f"clock file {path}: {text[:40]!r} is not an ISO-8601 time") from None
    if at.tzinfo is None:
        raise FileClockError(f"clock file {path}: {text!r} has no time zone (add +00:00)")
    return at.astimezone(UTC)


def write_clock_file(path: Path, at: datetime) -> None:
    """Write ``at`` to ``path`` atomically (a reader never sees half a time)."""
    if at.tzinfo is None:
        raise FileClockError("a driven clock needs a time zone")
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    part.write_text(at.astimezone(UTC).isoformat() + "\n", encoding="utf-8")
    os.replace(part, path)


class FileClock:
    """A clock that reads the time written in a file, so one writer (a test, ``leadflow clock``)
    drives every process of a deployment. The file is read again only when it changes (its
    inode, modification time or size), and the clock never goes back: a time earlier than one
    already read, or a file that cannot be read mid-run, leaves it where it was."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._at = read_clock_file(path)  # a clock that cannot be read stops the start
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self._path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)  # a replaced file is a new inode

    def __call__(self) -> datetime:
        stamp = self._stamp()
        if stamp is not None and stamp != self._seen:
            self._seen = stamp
            try:
                self._at = max(self._at, read_clock_file(self._path))
            except FileClockError:
                pass  # caught mid-write by a non-atomic writer: keep the last good time
        return self._at
