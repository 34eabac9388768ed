"""Routing rules, pure: which queue a lead belongs to and which rep takes it.

``model`` holds the frozen values (config and workload), ``availability`` whether a rep can
work now, ``rules`` the rule match, ``strategies`` the per-queue rep choice and ``routing``
the whole decision with nurture and fallback queues. Nothing here does I/O or reads the
clock: callers pass ``now`` (aware, UTC), the reps' loads and the queues' cursors.
"""

from services.router.domain.availability import is_available, local_day_start
from services.router.domain.model import (
    STRATEGIES,
    WEEKDAYS,
    Candidate,
    Choice,
    DateRange,
    Queue,
    Rep,
    RepLoad,
    Routing,
    Rule,
    Strategy,
    WorkingHours,
)
from services.router.domain.routing import (
    Assigned,
    QueueAttempt,
    RoutingDecision,
    ToNurture,
    Waiting,
    apply_assignment,
    is_nurture_bucket,
    route_lead,
)
from services.router.domain.rules import DEFAULT_RULE, lead_facts, match_rule
from services.router.domain.strategies import check_rep, choose_rep, weighted_ring

__all__ = [
    "DEFAULT_RULE",
    "STRATEGIES",
    "WEEKDAYS",
    "Assigned",
    "Candidate",
    "Choice",
    "DateRange",
    "Queue",
    "QueueAttempt",
    "Rep",
    "RepLoad",
    "Routing",
    "RoutingDecision",
    "Rule",
    "Strategy",
    "ToNurture",
    "Waiting",
    "WorkingHours",
    "apply_assignment",
    "check_rep",
    "choose_rep",
    "is_available",
    "is_nurture_bucket",
    "lead_facts",
    "local_day_start",
    "match_rule",
    "route_lead",
    "weighted_ring",
]
