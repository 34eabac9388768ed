"""Values as JSON every reader takes exactly: what PostgreSQL's ``jsonb`` refuses (NUL,
lone surrogates) is repaired and flagged, integers beyond what a double holds are kept as
text. Pure, no I/O; used by cleaning (lead attributes) and by the activity routes."""

from __future__ import annotations

import re
from typing import Any

from services.capture.domain.lead import Flag, Problem

# Integers JavaScript (and any JSON reader that uses doubles) reads exactly: a vendor id
# beyond this is kept as a decimal string, so no reader of the lead rounds it.
SAFE_INTEGER = 2**53
_INT64 = range(-(2**63), 2**63)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    if not text.isascii() and _SURROGATE.search(text):
        return "contains an unpaired UTF-16 surrogate (not valid Unicode)"
    return None


def repair_text(text: str) -> tuple[str, str | None]:
    """Text PostgreSQL can store: NUL characters and unpaired surrogates (refused by text
    and jsonb alike) become U+FFFD; the problem, or None when nothing needed repair."""
    problem = _text_problem(text)
    if problem is None:
        return text, None
    repaired = _SURROGATE.sub("\ufffd", text.replace("\x00", "\ufffd"))
    return repaired, f"{problem}; replaced by U+FFFD"


def storable(value: Any, path: str = "", notes: list[Flag] | None = None) -> Any:
    """``value`` as JSON every reader takes exactly: text repaired (:func:`repair_text`),
    integers beyond 2^53 as decimal strings (no reader rounds them). Each repair is noted
    in ``notes`` with its path."""
    if isinstance(value, str):
        repaired, problem = repair_text(value)
        if problem is not None and notes is not None:
            notes.append(Flag(path, problem, repaired))
        return repaired
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if -SAFE_INTEGER <= value <= SAFE_INTEGER else str(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name, problem = repair_text(str(key))
            if problem is not None and notes is not None:
                notes.append(Flag(f"{path}.{name}", f"key {problem}", name))
            out[name] = storable(item, f"{path}.{name}" if path else name, notes)
        return out
    if isinstance(value, list | tuple):
        return [storable(item, f"{path}[{i}]", notes) for i, item in enumerate(value)]
    return str(value)


def unstorable(value: Any, path: str) -> Problem | None:
    """Where free-form data holds something JSON storage refuses: NUL characters, lone
    surrogates (PostgreSQL text/jsonb reject both), integers beyond 64 bits."""
    if isinstance(value, str):
        problem = _text_problem(value)
        return Problem(path, problem) if problem else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if value in _INT64 else Problem(path, "integer beyond 64 bits")
    if isinstance(value, dict):
        for key, item in value.items():
            if (problem := _text_problem(str(key))) is not None:
                return Problem(f"{path}.{key!r}", f"key {problem}")
            if (found := unstorable(item, f"{path}.{key}")) is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            if (found := unstorable(item, f"{path}[{i}]")) is not None:
                return found
    return None
