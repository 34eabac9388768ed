"""When a background consumer applies what is waiting for it: once the stream goes quiet.

A read model (insights) shares the machine, the database and the broker with the services
on the latency path. Applying each batch as it arrives makes it compete with them exactly
while leads are flowing, and on a small machine near its capacity even a few percent of a
core of background work shows as latency on the path (docs/performance.md). So such a
consumer does not fetch while events keep coming: it pauses its partitions, asks the broker
for their ends (one small request every ``probe``), and drains and applies what is waiting:

- once the ends have not moved for ``quiet_s`` (the burst of leads is over),
- or once the oldest waiting event has waited ``max_hold_s`` (figures are never staler
  than that, whatever the load),
- or once ``max_held`` events are waiting (each catch-up stays a bounded amount of work).

A drain begun because the stream went quiet stops at the next batch boundary if events
come again (the next burst is the path's time; the rest keeps its age, so the hold limit
still bounds it); one the hold limit or the cap forced goes on to the ends it noted.

Nothing is held in memory meanwhile, and offsets are committed only for applied events, so
a crash loses nothing: the next consumer starts from the last applied offsets.

The embedded broker (Tansu) answers a partition's end as its last batch's first offset + 1,
not the offset after its last record: what waits is then counted in batches, not events
(still more than 0 whenever anything waits, and moving whenever a batch comes), so there
``max_held`` counts batches. Apache Kafka counts events.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settling:
    quiet_s: float
    max_hold_s: float
    max_held: int

    def __post_init__(self) -> None:
        if self.quiet_s < 0 or self.max_hold_s < 0 or self.max_held < 1:
            raise ValueError(f"invalid settling policy: {self}")

    @property
    def holds(self) -> bool:
        """False when it would apply every batch as it comes (quiet_s or max_hold_s is 0)."""
        return self.quiet_s > 0 and self.max_hold_s > 0

    @property
    def probe_s(self) -> float:
        """How often the partitions' ends are asked for while events wait."""
        return min(0.5, self.quiet_s / 2)


def apply_due(
    policy: Settling | None,
    *,
    now: float,
    waiting: int,
    waiting_since: float,
    last_arrival_at: float,
) -> bool:
    """Whether the waiting events should be applied now (times on one monotonic clock)."""
    if waiting <= 0:
        return False
    if policy is None or not policy.holds:
        return True
    return (
        waiting >= policy.max_held
        or now - last_arrival_at >= policy.quiet_s
        or now - waiting_since >= policy.max_hold_s
    )


def wait_s(policy: Settling, *, now: float, waiting: int, waiting_since: float,
           last_arrival_at: float) -> float:  # fmt: skip
    """How long to wait before asking the broker again: a probe, or less if the waiting
    events fall due sooner."""
    if waiting <= 0 or not policy.holds:
        return policy.probe_s
    due_in = min(last_arrival_at + policy.quiet_s, waiting_since + policy.max_hold_s) - now
    return max(0.0, min(policy.probe_s, due_in))


@dataclass
class Backlog:
    """What a settling consumer knows of the events waiting for it: how many (partition ends
    minus its positions), since when, and when the ends last moved."""

    policy: Settling
    ends: dict[Hashable, int] = field(default_factory=dict)
    waiting: int = 0
    waiting_since: float = 0.0
    last_arrival_at: float = 0.0

    def observe(self, ends: Mapping[Hashable, int], waiting: int, now: float) -> None:
        """The partitions' ends as the broker gave them, and how far behind they are."""
        if waiting <= 0:
            self.waiting = 0
        else:
            if self.waiting <= 0:
                self.waiting_since = self.last_arrival_at = now
            elif dict(ends) != self.ends:
                self.last_arrival_at = now
            self.waiting = waiting
        self.ends = dict(ends)

    def due(self, now: float) -> bool:
        return apply_due(self.policy, now=now, waiting=self.waiting,
                         waiting_since=self.waiting_since,
                         last_arrival_at=self.last_arrival_at)  # fmt: skip

    def wait_s(self, now: float) -> float:
        return wait_s(self.policy, now=now, waiting=self.waiting,
                      waiting_since=self.waiting_since,
                      last_arrival_at=self.last_arrival_at)  # fmt: skip

    def forced(self, now: float) -> bool:
        """Due for the hold or the cap, not for a quiet stream: the drain must finish."""
        return self.waiting >= self.policy.max_held or (
            self.waiting > 0 and now - self.waiting_since >= self.policy.max_hold_s
        )

    def drained(self) -> None:
        """Everything noted has been applied; what arrived meanwhile is waiting anew."""
        self.waiting = 0

    def interrupted(self, now: float) -> None:
        """A drain stopped because events came: the rest keeps its age, the stream is
        not quiet."""
        self.last_arrival_at = now
