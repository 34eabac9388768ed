"""The routing configuration and rep workload as frozen values the rules work on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Final, Literal
from zoneinfo import ZoneInfo

from services.router.domain.cold import ColdPolicy
from services.router.domain.fairness import FairnessPolicy
from shared.conditions import Condition

if TYPE_CHECKING:  # recycling builds on this module's values
    from services.router.domain.recycling import Recycling

Strategy = Literal["round_robin", "weighted_round_robin", "least_loaded"]
STRATEGIES: tuple[Strategy, ...] = ("round_robin", "weighted_round_robin", "least_loaded")
# What picked a rep: a queue's strategy, or the account's existing owner ahead of it.
OWNER_MATCH: Final = "owner_match"
# ...or a recycle policy that names the rep (routing.recycling: {to: rep, rep: zoe}).
NAMED_REP: Final = "named_rep"
PickedBy = Literal[
    "round_robin", "weighted_round_robin", "least_loaded", "owner_match", "named_rep"
]
# What an account is recognised by: a company e-mail domain, or a normalised company name.
AccountField = Literal["email_domain", "company"]
ACCOUNT_FIELDS: tuple[AccountField, ...] = ("email_domain", "company")
OwnerIs = Literal["assigned", "contacted"]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class WorkingHours:
    """Days (0 = Monday) and a daily window in minutes after local midnight, end exclusive."""

    days: frozenset[int]
    start_minute: int
    end_minute: int

    @property
    def window(self) -> str:
        return f"{clock_text(self.start_minute)}-{clock_text(self.end_minute)}"

    @property
    def days_text(self) -> str:
        """``mon-fri`` for a run of days, ``mon, wed, fri`` otherwise."""
        ordered = sorted(self.days)
        if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
            return f"{WEEKDAYS[ordered[0]]}-{WEEKDAYS[ordered[-1]]}"
        return ", ".join(WEEKDAYS[d] for d in ordered)


@dataclass(frozen=True)
class DateRange:
    """Inclusive range of local dates, e.g. an out-of-office period."""

    start: date
    end: date

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Rep:
    id: str
    name: str
    timezone: ZoneInfo
    email: str | None = None
    working_hours: WorkingHours | None = None
    holidays: frozenset[date] = frozenset()
    out_of_office: tuple[DateRange, ...] = ()
    online: bool = True
    languages: frozenset[str] = frozenset()
    skills: frozenset[str] = frozenset()
    weight: int = 1
    max_open: int | None = None
    max_per_day: int | None = None
    max_per_week: int | None = None
    max_per_month: int | None = None


@dataclass(frozen=True)
class LoadWeights:
    """What an open lead weighs on its rep, by bucket (``routing.load_weights``): a hot lead
    is more work than a cold one. Buckets compare without case; unlisted ones weigh
    ``default``."""

    by_bucket: tuple[tuple[str, int], ...] = ()
    default: int = 1

    def weight_of(self, bucket: str | None) -> int:
        wanted = (bucket or "").strip().casefold()
        for name, weight in self.by_bucket:
            if name.casefold() == wanted:
                return weight
        return self.default


@dataclass(frozen=True)
class Escalation:
    """Where a lead goes once every attempt in its queue missed the SLA: a pool queue (whose
    strategy picks the rep), one named rep, or (``manager``) the rep the owner's team
    manager takes leads as."""

    queue: str | None = None
    rep: str | None = None
    manager: bool = False

    @property
    def target(self) -> str:
        if self.manager:
            return "the owner's manager"
        return f"queue {self.queue}" if self.queue is not None else f"rep {self.rep}"


@dataclass(frozen=True)
class SlaPolicy:
    """A queue's first-contact SLA: how long a rep has to contact a lead (per bucket), when to
    warn, whether the clock only runs in the rep's working hours, how many reps get a try
    before the lead is escalated, and where it is escalated to."""

    first_contact: timedelta
    by_bucket: tuple[tuple[str, timedelta], ...] = ()
    warn_before: timedelta | None = None
    business_hours: bool = False
    max_attempts: int = 3
    then: Escalation | None = None

    def limit_for(self, bucket: str) -> timedelta:
        """The bucket's own time when it has one (buckets compare without case)."""
        wanted = bucket.strip().casefold()
        for name, limit in self.by_bucket:
            if name.casefold() == wanted:
                return limit
        return self.first_contact


@dataclass(frozen=True)
class OwnerMatch:
    """Existing-owner match: a lead whose account (``by``, tried in order) already has an
    owner among the queue's members goes to that owner when they may take it. ``owner_is``
    says who counts as the owner: a rep who got one of the account's leads (``assigned``),
    or only one who has reached one of them (``contacted``)."""

    by: tuple[AccountField, ...]
    owner_is: OwnerIs = "assigned"


@dataclass(frozen=True)
class Queue:
    """``owner_match`` None: the routing-wide default applies; ``OwnerMatch(())``: off."""

    name: str
    department: str
    region: str
    members: tuple[str, ...]
    strategy: Strategy = "round_robin"
    required_skills: frozenset[str] = frozenset()
    match_language: bool = False
    fallback: str | None = None
    sla: SlaPolicy | None = None
    owner_match: OwnerMatch | None = None


@dataclass(frozen=True)
class Manager:
    """Who a team answers to: SLA events name them so the notifier can alert them; with
    ``rep`` (a rep id) they also take leads escalated to the owner's manager."""

    name: str
    email: str
    slack_user_id: str | None = None
    rep: str | None = None


@dataclass(frozen=True)
class Team:
    """Reps who report to one manager (``routing.teams``); a rep is in at most one team."""

    name: str
    manager: Manager
    members: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    name: str
    when: Condition
    queue: str


@dataclass(frozen=True)
class Routing:
    """The whole routing config as domain values; ``reps`` and ``queues`` keep config order."""

    reps: Mapping[str, Rep]
    queues: Mapping[str, Queue]
    rules: tuple[Rule, ...]
    default_queue: str
    nurture_buckets: frozenset[str] = frozenset({"nurture"})
    owner_match: OwnerMatch | None = None
    load_weights: LoadWeights | None = None
    fairness: FairnessPolicy | None = None
    gone_cold: ColdPolicy | None = None
    recycling: Recycling | None = None
    teams: tuple[Team, ...] = ()

    def team_of(self, rep_id: str) -> Team | None:
        """The rep's team (None: in no team, or no teams configured)."""
        return next((t for t in self.teams if rep_id in t.members), None)

    def lead_weight(self, bucket: str | None) -> int:
        """What a lead of ``bucket`` weighs on its rep: 1 unless ``load_weights`` says."""
        return self.load_weights.weight_of(bucket) if self.load_weights is not None else 1

    def owner_match_of(self, queue: Queue) -> OwnerMatch | None:
        """The queue's own setting, else the routing-wide one; None when matching is off."""
        match = queue.owner_match if queue.owner_match is not None else self.owner_match
        return match if match is not None and match.by else None

    @property
    def account_fields(self) -> frozenset[AccountField]:
        """Every account field some queue matches owners on (empty: no lookup needed)."""
        return frozenset(
            f for q in self.queues.values() if (m := self.owner_match_of(q)) for f in m.by
        )


@dataclass(frozen=True)
class RepLoad:
    """How busy a rep is right now, and how big a share they should get.

    ``open_leads`` counts open leads; ``open_weight`` is their weight by bucket (None: no
    ``load_weights``, every lead weighs 1), see :attr:`effort`. ``assigned_today``,
    ``assigned_week`` and ``assigned_month`` count assignments since the rep's local
    midnight, Monday and first of the month (``domain.load.roll_load`` starts them again;
    None: not counted, e.g. a load read from where only the daily count is kept).
    ``multiplier`` is the rep's fairness multiplier in force (``domain.fairness``; 1.0 is
    neutral), read by the share-based strategies; it is not load and is never stored here.
    """

    rep_id: str
    open_leads: int = 0
    assigned_today: int = 0
    open_weight: int | None = None
    assigned_week: int | None = None
    assigned_month: int | None = None
    multiplier: float = 1.0

    @property
    def effort(self) -> int:
        """The weighted open load capacity and least-loaded compare (the count when unweighted)."""
        return self.open_leads if self.open_weight is None else self.open_weight

    def plus_one(self, weight: int = 1) -> RepLoad:
        """A new assignment adds one open lead of ``weight`` and one to each counted period."""
        open_weight = None if self.open_weight is None and weight == 1 else self.effort + weight
        return replace(
            self,
            open_leads=self.open_leads + 1,
            assigned_today=self.assigned_today + 1,
            open_weight=open_weight,
            assigned_week=None if self.assigned_week is None else self.assigned_week + 1,
            assigned_month=None if self.assigned_month is None else self.assigned_month + 1,
        )


@dataclass(frozen=True)
class Candidate:
    """A rep a strategy looked at, and why it could or could not take the lead;
    ``multiplier`` is the fairness multiplier a share-based strategy applied (None: none)."""

    rep_id: str
    eligible: bool
    reason: str
    multiplier: float | None = None


@dataclass(frozen=True)
class Choice:
    """What a strategy decided within one queue; ``next_cursor`` is the queue's new cursor."""

    rep_id: str | None
    next_cursor: int
    strategy: PickedBy
    candidates: tuple[Candidate, ...]
    explanation: str
    # Every member of the queue and whether they could have taken the lead at that moment
    # (with the multiplier their share got), when a share strategy picked a rep: what
    # distribution fairness is measured against (insights). Empty otherwise.
    pool: tuple[Candidate, ...] = ()


def clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
