"""Double submits and retries get the original answer, not a second effect.

A request is identified by its ``Idempotency-Key`` header when it has one (kept for
:data:`KEY_TTL`; reusing a key for a different body is refused), otherwise by a hash of its
route and canonical body, kept for the double-submit window :data:`DOUBLE_SUBMIT_WINDOW`
(a form posted twice by an impatient click). Only successful answers are stored: a refused
request can be corrected and sent again under the same key.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from shared.http import ApiError

KEY_TTL = timedelta(hours=24)
DOUBLE_SUBMIT_WINDOW = timedelta(minutes=10)
MAX_KEY_LENGTH = 255
HEADER = "Idempotency-Key"
# A key: printable ASCII, no spaces (the documented pattern; the code checks this one)
KEY_PATTERN = rf"^[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}$"
_PRINTABLE = re.compile(KEY_PATTERN)


@dataclass(frozen=True)
class RequestKey:
    key: str
    fingerprint: str
    explicit: bool

    def expires_at(self, now: datetime) -> datetime:
        return now + (KEY_TTL if self.explicit else DOUBLE_SUBMIT_WINDOW)


def fingerprint(route: str, body: Any) -> str:
    try:
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:  # integers beyond 64 bits, lone surrogates: refused later, hashed here
        canonical = json.dumps(body, sort_keys=True, default=str).encode()
    return hashlib.sha256(route.encode() + b"\n" + canonical).hexdigest()


def request_key(route: str, body: Any, header: str | None, owner: str) -> RequestKey:
    """The key a request is remembered under, within its ``owner`` (the credential or the
    source that sent it: one client's key never replays another client's answer); a
    malformed header is a 422 naming it."""
    print_ = fingerprint(route, body)
    if header is None:
        return RequestKey(f"auto:{owner}:{print_}", print_, explicit=False)
    if not header or len(header) > MAX_KEY_LENGTH or not _PRINTABLE.match(header):
        raise ApiError(
            422,
            "invalid_idempotency_key",
            f"{HEADER}: must be 1-{MAX_KEY_LENGTH} printable ASCII characters without spaces",
            [
                {
                    "field": f"header:{HEADER}",
                    "problem": f"must be 1-{MAX_KEY_LENGTH} printable ASCII characters"
                    " without spaces (a UUID is a good choice)",
                }
            ],
        )
    return RequestKey(f"key:{owner}:{header}", print_, explicit=True)


def check_same_request(key: RequestKey, stored_fingerprint: str) -> None:
    """A key names one request: replaying it with another body or route is a client bug.
    409, not the 422 the IETF draft suggests: the request is valid in itself (with a fresh key
    it would be taken); what it conflicts with is the answer stored under its key."""
    if stored_fingerprint != key.fingerprint:
        raise ApiError(
            409,
            "idempotency_key_reused",
            f"{HEADER} was already used for a different request",
            [
                {
                    "field": f"header:{HEADER}",
                    "problem": "already used with a different body or route; use a new key",
                }
            ],
        )
