"""E-mail addresses and phone numbers masked out of every log line (the GDPR's data
minimisation: logs are copied, shipped and kept far longer than the leads they mention).

:func:`redact` replaces anything shaped like an e-mail address with ``<email>`` and anything
shaped like a phone number with ``<phone>``; :class:`RedactingFilter` applies it to a log
record's message, string ``extra=`` fields and exception text, and drops query strings from
access-log lines (``?api_key=`` and vendor parameters). Only the shape is looked at, so an
invalid address (``jane@@example``) or a malformed number is masked too.

What counts as a phone: 7 to 15 digits that start with ``+`` or ``(``, or are grouped by
spaces, dashes, dots, slashes or brackets (``020 7946 0958``, ``555-123-4567``), or are one
run starting with ``0`` (``07700900123``). Kept as they are: UUIDs, ISO dates and
timestamps, IPv4 addresses, hex digests, decimals (``1234.567``) and digit runs not
starting with ``0`` (counts, offsets, epoch times, ports).

Cost, measured on the shared 2-core test machine: a line with no ``@`` and no run of 7+
digit-or-separator characters costs ~1 µs (two C-level searches); one with a UUID ~15 µs,
one with an address, a number and a timestamp ~26 µs, next to ~19 µs for formatting and
writing the JSON line itself.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_EMAIL = re.compile(r"[^\s@\"'<>()\[\]{},;:/\\]*@[^\s@\"'<>()\[\]{},;:/\\]*")
# Shapes that hold digits but are never personal data, kept while phones are looked for.
_KEEP = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # UUID
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])"  # IPv4
    r"|(?<![\w-])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}(?![\w-])"  # hex digests, ids
)
_PHONE = re.compile(r"(?<![\w.+/-])\+?\(?\d[\d().\-/ ]{5,24}\d\)?(?!\w|[-.]\d)")
_PHONE_ISH = re.compile(r"\d[\d().\-/ ]{5,}\d")  # what any phone match contains
_PLACEHOLDER = 0xE000  # Unicode private use: neither a digit nor a word character
_PLACEHOLDERS = 4096
_HELD = re.compile("[\ue000-\uefff]")

EMAIL = "<email>"
PHONE = "<phone>"


def redact(text: str) -> str:
    """``text`` with e-mail addresses and phone numbers masked (see the module doc)."""
    if "@" in text:
        text = _EMAIL.sub(_email, text)
    if not _PHONE_ISH.search(text):
        return text
    if _HELD.search(text):  # a line with private-use characters: no placeholders
        return _PHONE.sub(_phone, text)
    kept: list[str] = []

    def hold(match: re.Match[str]) -> str:
        if len(kept) == _PLACEHOLDERS:
            return match.group(0)
        kept.append(match.group(0))
        return chr(_PLACEHOLDER + len(kept) - 1)

    masked = _PHONE.sub(_phone, _KEEP.sub(hold, text))
    if not kept:
        return masked
    return _HELD.sub(lambda m: kept[ord(m.group(0)) - _PLACEHOLDER], masked)


def _email(match: re.Match[str]) -> str:
    return EMAIL if len(match.group(0)) > 1 else match.group(0)


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    tail = ""
    if found.endswith(")") and found.count(")") > found.count("("):
        found, tail = found[:-1], ")"  # the bracket around the number, not in it
    digits = sum(ch.isdigit() for ch in found)
    if not 7 <= digits <= 15:
        return match.group(0)
    separators = [ch for ch in found if not ch.isdigit()]
    if found[0] in "+(" or (separators and separators != ["."]):
        return PHONE + tail
    if not separators and found[0] == "0":
        return PHONE + tail
    return match.group(0)  # a count, an offset, an epoch time, a decimal number


_STD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Masks personal data in every record a handler emits; install it on the handler, so
    records that propagate from any logger (uvicorn's, libraries') pass through it too."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            record.args = _without_query(record.args)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: logging reports it later
            return True
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        for key, value in list(record.__dict__.items()):
            if key not in _STD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


def _without_query(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """uvicorn's access line is (client, method, path with query, http version, status):
    the query may hold an API key (``?api_key=``) or a vendor's form fields."""
    if len(args) != 5 or not isinstance(args[2], str):
        return args
    return (*args[:2], args[2].partition("?")[0], *args[3:])
