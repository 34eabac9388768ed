"""The router's admin API (``/v1/admin``): read the routing config, its versions and audit
log; change reps, a rep's availability, queues and rules; reload the file; roll back.

Writes need ``X-Actor`` (who, for the audit log), may give ``X-Reason`` (why) and
``If-Match: <version>`` (refused with 409 when another change came first), and are
validated exactly like the file (422 naming each problem's key, e.g.
``queues[2].members[0]: unknown rep 'zed'``). Each write that changes something is a new
version with its audit row, in one transaction. With ``LEADFLOW_ADMIN_TOKEN`` set, writes
need ``Authorization: Bearer <token>``; unset, they are accepted only from loopback clients.
``access`` checks who writes, ``schema`` holds the bodies, ``routes`` the endpoints
(``routes.router``).
"""
