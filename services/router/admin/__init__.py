"""The router's admin API (``/v1/admin``): read the routing config, its versions and audit
log; change reps, a rep's availability, queues and rules; reload the file; roll back.

Writes need a credential with scope ``routing:admin`` (reads ``config:read``, the audit log
``audit:read``: the shared gate, docs/security.md); they may give ``X-Actor`` (on whose
behalf, recorded beside the credential), ``X-Reason`` (why) and ``If-Match: <version>``
(refused with 409 when another change came first), and are validated exactly like the file
(422 naming each problem's key, e.g. ``queues[2].members[0]: unknown rep 'zed'``). Each
write that changes something is a new version with its audit row, in one transaction.
``access`` checks who writes, ``schema`` holds the bodies, ``routes`` the endpoints
(``routes.router``).
"""
