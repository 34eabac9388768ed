"""The router's tables; the only place with SQL.

``leads`` holds one row per decided lead, rep loads and queue cursors; ``sla`` the
first-contact clocks and their durable timers; ``stats`` the per-rep counters; ``accounts``
who owns which account's leads; ``config`` the routing config's versions and audit log.
"""
